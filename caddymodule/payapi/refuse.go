package payapi

import (
	"net/http"
	"strconv"

	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/payrefusal"
	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

// cause is a reason a request or an answer was refused; each is logged at
// WARN the first time and at DEBUG after that.
type cause uint8

const (
	causePath cause = iota
	causeTooLarge
	causeReadBody
	causeUnsignable
	causeSignFailed
	causeAnswerTooLarge
	causeMissingHeader
	causeSignatureType
	causeBadHeader
	causeBadTimestamp
	causeStaleTimestamp
	causeSignTest
	causeSignatureEncoding
	causeUnknownSerial
	causeBadSignature
	causeVerifyOther
	numCauses
)

// verifyCause names a signature refusal: the causes from
// causeMissingHeader to causeVerifyOther are in payrefusal's order.
func verifyCause(err error) cause {
	return causeMissingHeader + cause(payrefusal.VerifyReason(err))
}

// The signature causes must line up with payrefusal's reasons: this does
// not compile when their number differs.
var _ [payrefusal.VerifyOther]struct{} = [causeVerifyOther - causeMissingHeader]struct{}{}

// CodeSignVerifyFailed is the code of the 502 that replaces an answer
// whose signature does not verify.
const CodeSignVerifyFailed = "SIGN_VERIFY_FAILED"

// The codes of the handler's own refusals of a request, which never
// reaches WeChat Pay.
const (
	CodeInvalidRequest  = "INVALID_REQUEST"
	CodeBodyTooLarge    = "REQUEST_BODY_TOO_LARGE"
	CodeSignatureFailed = "SIGN_FAILED"
)

// refuse answers a request the handler does not pass on.
func (h *Handler) refuse(w http.ResponseWriter, status int, c cause, message string) {
	code := CodeInvalidRequest
	switch status {
	case http.StatusRequestEntityTooLarge:
		code = CodeBodyTooLarge
	case http.StatusInternalServerError:
		code = CodeSignatureFailed
	}
	h.log(c, "a request to WeChat Pay was refused: "+message, zap.Int("status", status))
	payrefusal.WriteJSON(w, status, code, message)
}

// badAnswer replaces an answer that cannot be verified with a 502: no byte
// of it, and none of its headers but Request-ID (WeChat Pay's id of the
// call, for its support), reaches the backend.
func (h *Handler) badAnswer(w http.ResponseWriter, aw *answerWriter, c cause, message string, err error) {
	fields := []zap.Field{
		zap.Int("upstream_status", aw.status),
		zap.String("wechatpay_serial", aw.hdr.Get(sign.HeaderSerial)),
		zap.String("request_id", aw.hdr.Get("Request-Id")),
	}
	if err != nil {
		// sign's errors are fixed phrases: no key, signature or header value
		fields = append(fields, zap.Error(err))
		message += ": " + err.Error()
	}
	message += " (WeChat Pay answered HTTP " + strconv.Itoa(aw.status) + ")"
	h.log(c, "a WeChat Pay answer was refused: it is not proven to come from WeChat Pay", fields...)
	if id := aw.hdr.Get("Request-Id"); id != "" && len(id) <= 128 {
		w.Header().Set("Request-Id", id)
	}
	payrefusal.WriteJSON(w, http.StatusBadGateway, CodeSignVerifyFailed, message)
}

// log writes msg at WARN the first time c happens and at DEBUG after.
func (h *Handler) log(c cause, msg string, fields ...zap.Field) {
	payrefusal.Log(h.once, h.logger, uint8(c), msg, fields...)
}
