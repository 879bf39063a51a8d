package jssdk

import (
	"net"
	"net/http"

	"go.uber.org/zap"
)

// cause is a reason a page or the config endpoint was not signed that the
// operator should hear about once, not once per request.
type cause uint8

const (
	causePageHostPort cause = iota
	causeEndpointHostPort
	numCauses
)

// causeMessages are the log messages, one per cause.
var causeMessages = [numCauses]string{
	causePageHostPort: "a page was requested with a Host whose port is not the one the request arrived on; " +
		"served without wx.config. Behind a port mapping (Docker -p 8080:80, NAT) or a proxy, set public_origin " +
		"or list the proxy in trusted_proxies",
	causeEndpointHostPort: "the config endpoint was asked with a Host whose port is not the one the request arrived on; " +
		"answered 403. Behind a port mapping (Docker -p 8080:80, NAT) or a proxy, set public_origin " +
		"or list the proxy in trusted_proxies",
}

// problem logs c at warning level the first time, at debug level after
// that. The Host is the client's and is logged as a field (escaped by the
// encoder); the listener's address is what it was compared with.
func (p *pageSigner) problem(c cause, r *http.Request) {
	fields := []zap.Field{zap.String("host", r.Host)}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		fields = append(fields, zap.String("listener", a.String()))
	}
	if p.once.First(uint8(c)) {
		p.logger.Warn(causeMessages[c], fields...)
		return
	}
	p.logger.Debug(causeMessages[c], fields...)
}
