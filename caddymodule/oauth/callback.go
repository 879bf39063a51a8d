package oauth

import (
	"context"
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
	msgStorage  = "WeChat sign-in is unavailable right now. Go back and try again in a moment.\n"
)

// serveCallback is where WeChat sends the browser back with code and
// state. It answers every request itself, refusals included, and never
// returns an error to Caddy, whose error log would print the URI and the
// code in it; for the same reason the request is left out of the access
// log.
//
// A state is used once in the whole cluster: this instance's replayCache
// refuses the states used here without a storage round trip; the others
// are claimed in storage (usedStates) before the code is exchanged. A
// repeat of a callback (the same state cookie, state and code within
// repeatWindow: WeChat's double redirect) gets the first one's answer,
// waiting for it if need be, on whichever instance it lands.
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
	}
	code := q.Get("code")
	digest := digestCode(code)
	fl, first := h.replay.consume(p.ID, p.Expires, digest, now)
	if !first {
		if fl == nil {
			h.refuse(w, http.StatusBadRequest, msgState, "callback: state already used")
			return
		}
		a, ok := fl.wait(r.Context(), repeatWait)
		if !ok {
			h.refuse(w, http.StatusBadRequest, msgState, "callback: a repeated callback: the first one's answer did not come")
			return
		}
		h.logger.Debug("callback: a repeated callback (WeChat's double redirect) got the first one's answer", zap.Int("status", a.Status))
		h.writeAnswer(w, a, https)
		return
	}
	// Whatever happens, the repeats waiting on this flight get an answer.
	defer fl.resolve(answer{Status: http.StatusBadRequest, Body: msgState})
	a := h.complete(r, p, code, digest, now)
	fl.resolve(a)
	h.writeAnswer(w, a, https)
}

// complete claims the state in storage and exchanges the code, or, when
// another instance has claimed the state, waits for its answer if this is
// a repeat of its callback, refuses otherwise. It does so in a context
// that the browser's leaving does not cancel: in a double redirect the
// browser drops the first request for the second, which needs the first
// one's answer.
func (h *Handler) complete(r *http.Request, p pending, code string, digest codeDigest, now time.Time) answer {
	ctx := context.WithoutCancel(r.Context())
	claimed, rec, err := h.used.claim(ctx, p.ID, p.Expires, digest, now)
	switch {
	case err != nil && !claimed:
		// Fail closed: without the mark, the state could be used again on
		// another instance.
		h.problem(causeStorage, zap.Error(err))
		return answer{Status: http.StatusServiceUnavailable, Body: msgStorage}
	case err != nil:
		h.problem(causeStorageAfter, zap.Error(err))
	case !claimed && !rec.repeatOf(digest, now):
		h.logger.Debug("callback: state already used (its record is in storage)")
		return answer{Status: http.StatusBadRequest, Body: msgState}
	case !claimed:
		a, err := h.used.await(r.Context(), p.ID, p.Expires, time.UnixMilli(rec.At).Add(repeatWait).Sub(now))
		if err != nil {
			h.logger.Debug("callback: a repeated callback: the first one's answer did not come", zap.Error(err))
			return answer{Status: http.StatusBadRequest, Body: msgState}
		}
		h.logger.Debug("callback: a repeated callback (WeChat's double redirect) got the first one's answer from storage", zap.Int("status", a.Status))
		return a
	}
	a := h.exchange(ctx, p, code, now)
	if err := h.used.finish(ctx, p.ID, p.Expires, rec, a); err != nil {
		h.problem(causeStorageAfter, zap.Error(err))
	}
	return a
}

// exchange turns code into a session: the answer of a callback that
// claimed its state.
func (h *Handler) exchange(ctx context.Context, p pending, code string, now time.Time) answer {
	if code == "" {
		// what WeChat sends when the user refuses snsapi_userinfo consent
		h.logger.Debug("callback: no code (the user declined)")
		return answer{Status: http.StatusForbidden, Body: msgDeclined}
	}
	if h.weCom() {
		return h.exchangeWeCom(ctx, p, code, now)
	}
	ctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	user, err := h.client.OAuthToken(ctx, h.AppID, h.secret, code)
	cancel()
	if err != nil {
		return h.exchangeFailed(err)
	}
	s, ttl := session{OpenID: user.OpenID, UnionID: user.UnionID}, time.Duration(h.MaxAge)
	if user.Snapshot {
		s, ttl = session{}, snapshotTTL
	}
	s.Expires = now.Add(ttl).Truncate(time.Second)
	h.logger.Debug("signed in through WeChat",
		zap.String("scope", user.Scope),
		zap.Bool("unionid", user.UnionID != ""),
		zap.Bool("snapshot_user", user.Snapshot))
	return answer{
		Status:   http.StatusFound,
		Session:  h.sealer.seal(purposeSession, encodeSession(s)),
		Expires:  s.Expires.Unix(),
		Location: p.Return,
	}
}

// writeAnswer writes a callback's answer: a refusal, or the session
// cookie and the redirect to the return target. The cookie's Max-Age is
// what is left of the session, in whole seconds rounded up: max_age for
// the first answer, less for a repeat.
func (h *Handler) writeAnswer(w http.ResponseWriter, a answer, https bool) {
	if a.Status != http.StatusFound {
		writeText(w, a.Status, a.Body)
		return
	}
	left := time.Unix(a.Expires, 0).Sub(h.now())
	maxAge := (left + time.Second - 1).Truncate(time.Second)
	if maxAge < time.Second {
		maxAge = time.Second
	}
	name, _ := h.cookieNames(https)
	http.SetCookie(w, h.cookie(name, a.Session, maxAge, https))
	w.Header().Set("Location", a.Location)
	w.WriteHeader(http.StatusFound)
}

// exchangeFailed is the answer to a failed code exchange: the user's
// problem (a code refused: 40029, 40163, 41008, WeCom's too) is a 400 and
// a debug line; the app's or WeChat's (WeCom's access token included) is a
// 502 and a warning, once per kind, then debug lines.
func (h *Handler) exchangeFailed(err error) answer {
	if wechat.IsCodeRejected(err) {
		h.logger.Debug("callback: WeChat refused the code", zap.Error(err))
		return answer{Status: http.StatusBadRequest, Body: msgCode}
	}
	c := causeUpstream
	switch wechat.Classify(err) {
	case wechat.ClassConfig, wechat.ClassIPWhitelist:
		c = causeConfig
		if h.weCom() {
			c = causeWeComConfig
		}
	}
	h.problem(c, zap.Error(err), zap.String("class", wechat.Classify(err).String()))
	return answer{Status: http.StatusBadGateway, Body: msgUpstream}
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
