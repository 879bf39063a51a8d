package paynotify

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/payrefusal"
)

// cause is a reason a notification was refused or not accepted; each is
// logged at WARN the first time and at DEBUG after that.
type cause uint8

const (
	causeMethod cause = iota
	causeTooLarge
	causeReadBody
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
	causeMalformed
	causeDecrypt
	causeResource
	causeNotJSON
	causeReplay
	causeStorage
	causeBackend
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

// CodeFail is the code of every refusal: the shape WeChat Pay asks a
// merchant to answer a notification it does not accept with.
const CodeFail = "FAIL"

// refuse answers WeChat Pay (or whoever sent it) without calling the
// backend, and logs the reason: a fixed phrase, sign's error (fixed
// phrases too) and public values, never a key, a body or a signature.
func (h *Handler) refuse(w http.ResponseWriter, status int, c cause, message string, err error, fields ...zap.Field) {
	fields = append(fields, zap.Int("status", status))
	if err != nil {
		fields = append(fields, zap.Error(err))
	}
	h.log(c, "a WeChat Pay notification was refused: "+message, fields...)
	payrefusal.WriteJSON(w, status, CodeFail, message)
}

// log writes msg at WARN the first time c happens and at DEBUG after.
func (h *Handler) log(c cause, msg string, fields ...zap.Field) {
	payrefusal.Log(h.once, h.logger, uint8(c), msg, fields...)
}
