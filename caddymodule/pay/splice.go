package pay

import (
	"strconv"

	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

// signedMember scans body and, when it is a signable order response, appends the
// signed member to dst and says where it goes: the response is then
// body[:at] + member + body[at:]. Otherwise it returns ok false and the
// body is to be passed through as it is.
func (h *Handler) signedMember(dst, body []byte) (member []byte, at int, ok bool) {
	s := scan(body, h.PrepayField, h.OutputField)
	switch s.verdict {
	case signable:
	case noField, notObject, empty:
		return dst, 0, false // ordinary JSON that is not an order
	case malformed:
		h.passedThrough(causeMalformed, zap.String("error", s.err.Error()))
		return dst, 0, false
	case outputExists:
		h.passedThrough(causeOutputExists)
		return dst, 0, false
	case duplicateKey:
		h.passedThrough(causeDuplicateKey, zap.String("prepay_field", h.PrepayField))
		return dst, 0, false
	case notString:
		h.passedThrough(causeNotString, zap.String("prepay_field", h.PrepayField))
		return dst, 0, false
	default: // badPrepayID
		h.passedThrough(causeBadPrepayID, zap.String("prepay_field", h.PrepayField))
		return dst, 0, false
	}
	var tsBuf [20]byte
	timeStamp := string(strconv.AppendInt(tsBuf[:0], h.now().Unix(), 10))
	nonce := sign.Nonce()
	paySign, err := h.signer(h.AppID, timeStamp, nonce, s.pkg)
	if err != nil {
		h.passedThrough(causeSignFailed, zap.Error(err))
		return dst, 0, false
	}
	h.logger.Debug("added signed pay parameters",
		zap.String("output_field", h.OutputField), zap.String("sign_type", h.SignType))
	return h.tmpl.appendTo(dst, timeStamp, nonce, s.pkg, paySign), s.insertAt, true
}
