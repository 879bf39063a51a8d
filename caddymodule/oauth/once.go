package oauth

import "go.uber.org/zap"

// cause is a reason a sign-in failed that is not the user's doing.
type cause uint8

const (
	causeConfig cause = iota
	causeUpstream
	causeStorage
	causeStorageAfter
	causeWeComConfig
	numCauses
)

// causeMessages are the log messages, one per cause. The error logged with
// them is the wechat package's, which never carries secret or code.
var causeMessages = [numCauses]string{
	causeConfig:       "WeChat refused the app's credentials for the OAuth code exchange: check app_id, app_secret and the API IP whitelist",
	causeUpstream:     "the OAuth code exchange with WeChat failed; the user got a 502",
	causeStorage:      "the used OAuth states could not be checked or marked in Caddy's storage; sign-ins are refused (503) until they can: check the storage",
	causeStorageAfter: "a sign-in went through, but recording it in Caddy's storage failed: a repeat of its callback (WeChat's double redirect) on another instance may be refused",
	causeWeComConfig:  "WeCom refused the app's credentials for the sign-in (gettoken or getuserinfo): check corp_id, agent_id, corp_secret, the app's API permissions and its trusted IPs (企业可信IP)",
}

// problem logs c at warning level the first time (error for a
// configuration problem, or a storage that stops every sign-in), and at
// debug level after that.
func (h *Handler) problem(c cause, fields ...zap.Field) {
	switch {
	case !h.once.First(uint8(c)):
		h.logger.Debug(causeMessages[c], fields...)
	case c == causeConfig, c == causeWeComConfig, c == causeStorage:
		h.logger.Error(causeMessages[c], fields...)
	default:
		h.logger.Warn(causeMessages[c], fields...)
	}
}
