package config

import (
	"net"
	"net/url"
	"strings"

	"go.uber.org/zap"
)

// WarnPlainHTTP logs, when rawURL (directive's option) is plain http, that
// what travels to it — the app secret, access tokens, a token service's
// key — goes unencrypted. Handlers call it once per Provision, after
// Validate, for every URL they send a secret or receive a token through
// (wechat_jssdk's api_base and token_url, wechat_oauth's api_base).
//
// The URL is logged as scheme://host[:port] only: a path or a query could
// carry anything, and user info (which CheckHTTPURL refuses anyway) a
// password.
//
// A loopback host (localhost, 127.0.0.0/8, ::1) is logged at INFO, not
// WARN: there the bytes never leave the machine, which is how the demo
// reaches wechat_sandbox and how a local TLS-terminating sidecar would be
// used. Anything else plain http is a WARN. An empty, unparsable or https
// URL logs nothing (Validate reports the unparsable ones).
func WarnPlainHTTP(logger *zap.Logger, directive, option, rawURL string) {
	if logger == nil || rawURL == "" {
		return
	}
	u, err := url.Parse(rawURL)
	if err != nil || !strings.EqualFold(u.Scheme, "http") || u.Host == "" {
		return
	}
	fields := []zap.Field{
		zap.String("directive", directive),
		zap.String("option", option),
		zap.String("url", "http://"+u.Host), // Host never holds the user info
	}
	if isLoopback(u.Hostname()) {
		logger.Info(option+" is plain http on a loopback address: fine on this machine (the demo's sandbox), but anything beyond it must be https", fields...)
		return
	}
	logger.Warn(option+" is plain http: the app secret and the tokens exchanged with it travel unencrypted and can be read or changed on the way; use https", fields...)
}

// isLoopback reports whether host (without a port) names this machine:
// localhost or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
