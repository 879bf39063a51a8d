package oauth

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/origin"
	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// exchangeTimeout bounds the code exchange; the user is waiting on a blank
// page meanwhile.
const exchangeTimeout = 10 * time.Second

// Callback answers. Each is short and says what the user can do; none
// repeats anything of the request.
const (
	msgMethod   = "This address only takes the browser back from WeChat sign-in.\n"
	msgState    = "WeChat sign-in expired or was started in another browser. Go back and reload the page.\n"
	msgDeclined = "WeChat sign-in was declined.\n"
	msgCode     = "WeChat sign-in failed: the sign-in code was invalid or already used. Go back and reload the page.\n"
	msgUpstream = "WeChat sign-in is unavailable right now. Try again in a moment.\n"
)

// serveCallback is where WeChat sends the browser back with code and
// state. It answers every request itself, refusals included, and never
// returns an error to Caddy, whose error log would print the URI and the
// code in it; for the same reason the request is left out of the access
// log.
func (h *Handler) serveCallback(w http.ResponseWriter, r *http.Request, https bool) {
	caddyhttp.SetVar(r.Context(), caddyhttp.LogSkipVar, true)
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet {
		// HEAD too: only a browser's GET completes a sign-in
		hdr.Set("Allow", "GET")
		h.refuse(w, http.StatusMethodNotAllowed, msgMethod, "callback: not a GET")
		return
	}
	q := origin.OriginalQuery(r)
	p, ok := h.matchPending(r, https, q.Get("state"))
	if ok {
		// Whatever happens next, this attempt is over.
		_, stateCookie := h.cookieNames(https)
		http.SetCookie(w, h.cookie(stateCookie, "", -1, https))
	}
	now := h.now()
	switch {
	case !ok:
		h.refuse(w, http.StatusBadRequest, msgState, "callback: state missing, or not this browser's")
		return
	case !now.Before(p.Expires):
		h.refuse(w, http.StatusBadRequest, msgState, "callback: state expired")
		return
	case !h.replay.consume(p.ID, p.Expires, now):
		h.refuse(w, http.StatusBadRequest, msgState, "callback: state already used")
		return
	}
	code := q.Get("code")
	if code == "" {
		// what WeChat sends when the user refuses snsapi_userinfo consent
		h.refuse(w, http.StatusForbidden, msgDeclined, "callback: no code (the user declined)")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), exchangeTimeout)
	user, err := h.client.OAuthToken(ctx, h.AppID, h.secret, code)
	cancel()
	if err != nil {
		h.exchangeFailed(w, err)
		return
	}
	s, ttl := session{OpenID: user.OpenID, UnionID: user.UnionID}, time.Duration(h.MaxAge)
	if user.Snapshot {
		s, ttl = session{}, snapshotTTL
	}
	s.Expires = now.Add(ttl).Truncate(time.Second)
	http.SetCookie(w, h.sessionCookie(s, ttl, https))
	hdr.Set("Location", p.Return)
	w.WriteHeader(http.StatusFound)
	h.logger.Debug("signed in through WeChat",
		zap.String("scope", user.Scope),
		zap.Bool("unionid", user.UnionID != ""),
		zap.Bool("snapshot_user", user.Snapshot))
}

// exchangeFailed answers a failed code exchange: the user's problem (a
// code refused) is a 400 and a debug line; the app's or WeChat's is a 502
// and a warning, once per kind, then debug lines.
func (h *Handler) exchangeFailed(w http.ResponseWriter, err error) {
	if wechat.IsCodeRejected(err) {
		h.refuse(w, http.StatusBadRequest, msgCode, "callback: WeChat refused the code", zap.Error(err))
		return
	}
	c := causeUpstream
	switch wechat.Classify(err) {
	case wechat.ClassConfig, wechat.ClassIPWhitelist:
		c = causeConfig
	}
	if errors.Is(err, context.Canceled) {
		c = causeGone
	}
	h.problem(c, zap.Error(err), zap.String("class", wechat.Classify(err).String()))
	writeText(w, http.StatusBadGateway, msgUpstream)
}

// refuse answers a callback the handler will not complete.
func (h *Handler) refuse(w http.ResponseWriter, status int, msg, why string, fields ...zap.Field) {
	h.logger.Debug(why, fields...)
	writeText(w, status, msg)
}

// writeText writes a short plain-text answer.
func writeText(w http.ResponseWriter, status int, msg string) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}
