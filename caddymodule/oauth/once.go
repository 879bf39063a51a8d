package oauth

import (
	"sync/atomic"

	"go.uber.org/zap"
)

// cause is a reason a sign-in failed that is not the user's doing.
type cause uint8

const (
	causeConfig cause = iota
	causeUpstream
	causeGone
	numCauses
)

// causeMessages are the log messages, one per cause. The error logged with
// them is the wechat package's, which never carries secret or code.
var causeMessages = [numCauses]string{
	causeConfig:   "WeChat refused the app's credentials for the OAuth code exchange: check app_id, app_secret and the API IP whitelist",
	causeUpstream: "the OAuth code exchange with WeChat failed; the user got a 502",
	causeGone:     "the browser left during the OAuth code exchange",
}

// onceLog remembers which causes were logged, so that a broken setup costs
// one warning per cause, not one per sign-in.
type onceLog struct{ seen atomic.Uint32 }

// first reports whether c is seen for the first time.
func (o *onceLog) first(c cause) bool {
	bit := uint32(1) << c
	return o.seen.Or(bit)&bit == 0
}

// problem logs c at warning level the first time (error for a
// configuration problem), and at debug level after that.
func (h *Handler) problem(c cause, fields ...zap.Field) {
	switch {
	case c == causeGone:
		h.logger.Debug(causeMessages[c], fields...)
	case !h.once.first(c):
		h.logger.Debug(causeMessages[c], fields...)
	case c == causeConfig:
		h.logger.Error(causeMessages[c], fields...)
	default:
		h.logger.Warn(causeMessages[c], fields...)
	}
}
