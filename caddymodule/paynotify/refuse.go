package paynotify

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/sign"
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

// verifyCauses maps sign's signature refusals to causes.
var verifyCauses = []struct {
	err error
	c   cause
}{
	{sign.ErrMissingHeader, causeMissingHeader},
	{sign.ErrSignatureType, causeSignatureType},
	{sign.ErrBadHeader, causeBadHeader},
	{sign.ErrBadTimestamp, causeBadTimestamp},
	{sign.ErrStaleTimestamp, causeStaleTimestamp},
	{sign.ErrSignTest, causeSignTest},
	{sign.ErrSignatureEncoding, causeSignatureEncoding},
	{sign.ErrUnknownSerial, causeUnknownSerial},
	{sign.ErrBadSignature, causeBadSignature},
}

func verifyCause(err error) cause {
	for _, vc := range verifyCauses {
		if errors.Is(err, vc.err) {
			return vc.c
		}
	}
	return causeVerifyOther
}

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
	writeFail(w, status, message)
}

// log writes msg at WARN the first time c happens and at DEBUG after.
func (h *Handler) log(c cause, msg string, fields ...zap.Field) {
	if h.once.First(uint8(c)) {
		h.logger.Warn(msg, fields...)
		return
	}
	h.logger.Debug(msg, fields...)
}

// writeFail writes {"code":"FAIL","message":…}.
func writeFail(w http.ResponseWriter, status int, message string) {
	body, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{CodeFail, message})
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
