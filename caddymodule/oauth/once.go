package oauth

import "go.uber.org/zap"

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

// problem logs c at warning level the first time (error for a
// configuration problem), and at debug level after that.
func (h *Handler) problem(c cause, fields ...zap.Field) {
	switch {
	case c == causeGone:
		h.logger.Debug(causeMessages[c], fields...)
	case !h.once.First(uint8(c)):
		h.logger.Debug(causeMessages[c], fields...)
	case c == causeConfig:
		h.logger.Error(causeMessages[c], fields...)
	default:
		h.logger.Warn(causeMessages[c], fields...)
	}
}
