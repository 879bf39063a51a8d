// Package payrefusal is what wechat_pay_api and wechat_pay_notify share
// about refusing: the JSON body WeChat Pay's error shape has, the order in
// which a signature refusal is told apart, and logging each reason at WARN
// once and at DEBUG after. The codes and the messages are each handler's.
// It has no Caddy dependency.
package payrefusal

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/logonce"
	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

// verifyErrors are sign's signature refusals, in the order they are tried
// (the first that matches names the reason). A handler numbers its causes
// for them in this order, followed by one for any other error: see
// VerifyReason.
var verifyErrors = [...]error{
	sign.ErrMissingHeader,
	sign.ErrSignatureType,
	sign.ErrBadHeader,
	sign.ErrBadTimestamp,
	sign.ErrStaleTimestamp,
	sign.ErrSignTest,
	sign.ErrSignatureEncoding,
	sign.ErrUnknownSerial,
	sign.ErrBadSignature,
}

// VerifyOther is what VerifyReason returns for an error that is none of
// sign's signature refusals.
const VerifyOther = len(verifyErrors)

// VerifyReason numbers a signature refusal from 0 to VerifyOther: the
// offset of its cause from the handler's first signature cause.
func VerifyReason(err error) int {
	for i, e := range verifyErrors {
		if errors.Is(err, e) {
			return i
		}
	}
	return VerifyOther
}

// Log writes msg at WARN the first time cause c happens and at DEBUG
// after: a misbehaving client or backend costs one warning per cause.
func Log(once *logonce.Set, logger *zap.Logger, c uint8, msg string, fields ...zap.Field) {
	if once.First(c) {
		logger.Warn(msg, fields...)
		return
	}
	logger.Debug(msg, fields...)
}

// WriteJSON writes WeChat Pay's error shape, {"code","message"}, not to be
// cached or sniffed.
func WriteJSON(w http.ResponseWriter, status int, code, message string) {
	body, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, message})
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
