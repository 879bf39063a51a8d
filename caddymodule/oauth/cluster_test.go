package oauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// peer is another instance of the cluster f is in: its own handler and
// process-wide state, f's storage, f's WeChat (so f.wechat counts the
// exchanges of both) and f's clock.
func (f *fixture) peer(t *testing.T) *fixture {
	t.Helper()
	p := newFixture(t, func(h *Handler) { h.storage = f.storage; h.APIBase = f.h.APIBase })
	p.h.now = f.clock
	p.wechat = f.wechat
	return p
}

// attempt is a sign-in started: the state WeChat carries and the
// browser's state cookie.
type attempt struct {
	state  string
	cookie *http.Cookie
}

// start sends a WeChat browser to target on f (https) and returns the
// sign-in it starts.
func (f *fixture) start(t *testing.T, target string) attempt {
	t.Helper()
	rec, _ := f.do(t, request{target: target, ua: wechatUA, https: true})
	c := cookie(rec, "__Host-wechat_oauth_state")
	if rec.Code != http.StatusFound || c == nil {
		t.Fatalf("GET %s: %d, want a redirect to WeChat with a state cookie", target, rec.Code)
	}
	return attempt{state: stateParam(t, rec.Header().Get("Location")), cookie: c}
}

// callback sends the browser back to f with code, the attempt's state and,
// when withCookie, its state cookie.
func (f *fixture) callback(t *testing.T, a attempt, code string, withCookie bool) *httptest.ResponseRecorder {
	t.Helper()
	return f.callbackCtx(t, nil, a, code, withCookie)
}

func (f *fixture) callbackCtx(t *testing.T, ctx context.Context, a attempt, code string, withCookie bool) *httptest.ResponseRecorder {
	t.Helper()
	req := request{target: DefaultCallbackPath + "?code=" + code + "&state=" + a.state, ua: wechatUA, https: true, ctx: ctx}
	if withCookie {
		req.cookies = []*http.Cookie{a.cookie}
	}
	rec, next := f.do(t, req)
	if next.called {
		t.Fatal("the callback went on to the next handler")
	}
	return rec
}

// openIDWith returns the openid the next handler of f sees with session.
func (f *fixture) openIDWith(t *testing.T, session *http.Cookie) string {
	t.Helper()
	_, next := f.do(t, request{target: "/", ua: wechatUA, https: true, cookies: []*http.Cookie{session}})
	if !next.called {
		return ""
	}
	return next.header.Get("X-WeChat-OpenID")
}

// A state used on one instance is refused on another that shares the
// storage, whatever code comes with it: a fresh one from the authorize
// page, or the first one again after the repeat window.
func TestStateOnceAcrossInstances(t *testing.T) {
	tests := []struct {
		name  string
		code  string // the replay's
		after time.Duration
	}{
		{"a fresh code", "code-union", 0},
		{"a fresh code, minutes later", "code-union", 4 * time.Minute},
		{"the same code after the repeat window", "code-base", 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newFixture(t, nil)
			b := a.peer(t)
			at := a.start(t, "/p")
			if rec := a.callback(t, at, "code-base", true); rec.Code != http.StatusFound {
				t.Fatalf("first callback: %d %q", rec.Code, rec.Body.String())
			}
			a.advance(tt.after)
			rec := b.callback(t, at, tt.code, true)
			if rec.Code != http.StatusBadRequest || rec.Body.String() != msgState || cookie(rec, "__Host-wechat_oauth") != nil {
				t.Errorf("replay on the other instance: %d %q", rec.Code, rec.Body.String())
			}
			if n := a.wechat.calls(); n != 1 {
				t.Errorf("%d code exchanges, want 1", n)
			}
			// and on the first instance, as before
			if rec := a.callback(t, at, tt.code, true); rec.Code != http.StatusBadRequest || rec.Body.String() != msgState {
				t.Errorf("replay on the same instance: %d %q", rec.Code, rec.Body.String())
			}
		})
	}
}

// A repeat of a callback (the same state cookie, state and code: WeChat's
// double redirect) within 30 s gets the first one's answer, on either
// instance, with one code exchange in all; anything else is refused.
func TestRepeatedCallback(t *testing.T) {
	tests := []struct {
		name       string
		code       string        // the first callback's
		on         string        // where the repeat lands: "same" or "peer"
		after      time.Duration // between the two
		repeatCode string        // "" for the same code
		noCookie   bool          // the repeat comes without the state cookie
		status     int           // the repeat's; 302: the first's answer
		body       string
	}{
		{name: "same instance", code: "code-union", on: "same", status: http.StatusFound},
		{name: "other instance", code: "code-union", on: "peer", status: http.StatusFound},
		{name: "same instance, 29 s later", code: "code-union", on: "same", after: 29 * time.Second, status: http.StatusFound},
		{name: "other instance, 29 s later", code: "code-union", on: "peer", after: 29 * time.Second, status: http.StatusFound},
		{name: "same instance, 30 s later", code: "code-union", on: "same", after: 30 * time.Second, status: http.StatusBadRequest, body: msgState},
		{name: "other instance, 30 s later", code: "code-union", on: "peer", after: 30 * time.Second, status: http.StatusBadRequest, body: msgState},
		{name: "another code, same instance", code: "code-union", on: "same", repeatCode: "code-base", status: http.StatusBadRequest, body: msgState},
		{name: "another code, other instance", code: "code-union", on: "peer", repeatCode: "code-base", status: http.StatusBadRequest, body: msgState},
		{name: "no state cookie, same instance", code: "code-union", on: "same", noCookie: true, status: http.StatusBadRequest, body: msgState},
		{name: "no state cookie, other instance", code: "code-union", on: "peer", noCookie: true, status: http.StatusBadRequest, body: msgState},
		{name: "a refused code, same instance", code: "code-used", on: "same", status: http.StatusBadRequest, body: msgCode},
		{name: "a refused code, other instance", code: "code-used", on: "peer", status: http.StatusBadRequest, body: msgCode},
		{name: "consent declined, other instance", code: "", on: "peer", status: http.StatusForbidden, body: msgDeclined},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newFixture(t, nil)
			second := a
			if tt.on == "peer" {
				second = a.peer(t)
			}
			at := a.start(t, "/pay/order.html?item=42")
			first := a.callback(t, at, tt.code, true)
			a.advance(tt.after)
			code := tt.code
			if tt.repeatCode != "" {
				code = tt.repeatCode
			}
			repeat := second.callback(t, at, code, !tt.noCookie)
			if repeat.Code != tt.status {
				t.Fatalf("repeat: %d %q, want %d", repeat.Code, repeat.Body.String(), tt.status)
			}
			wantCalls := 1
			if tt.code == "" {
				wantCalls = 0
			}
			if n := a.wechat.calls(); n != wantCalls {
				t.Errorf("%d code exchanges, want %d", n, wantCalls)
			}
			if tt.status != http.StatusFound {
				if repeat.Body.String() != tt.body || cookie(repeat, "__Host-wechat_oauth") != nil {
					t.Errorf("repeat: %q with session %v, want %q and none", repeat.Body.String(), cookie(repeat, "__Host-wechat_oauth") != nil, tt.body)
				}
				return
			}
			if first.Code != http.StatusFound {
				t.Fatalf("first: %d", first.Code)
			}
			if got, want := repeat.Header().Get("Location"), first.Header().Get("Location"); got != want || got != "/pay/order.html?item=42" {
				t.Errorf("repeat to %q, first to %q", got, want)
			}
			s1, s2 := cookie(first, "__Host-wechat_oauth"), cookie(repeat, "__Host-wechat_oauth")
			if s2 == nil || s2.Value != s1.Value || !s2.HttpOnly || !s2.Secure || s2.SameSite != http.SameSiteLaxMode || s2.Path != "/" {
				t.Fatalf("repeat's session cookie %+v, first's %+v", s2, s1)
			}
			if want := s1.MaxAge - int(tt.after/time.Second); s2.MaxAge != want {
				t.Errorf("repeat's Max-Age %d, want %d", s2.MaxAge, want)
			}
			if c := cookie(repeat, "__Host-wechat_oauth_state"); c == nil || c.MaxAge >= 0 {
				t.Errorf("the repeat leaves the state cookie: %+v", c)
			}
			for _, in := range []*fixture{a, second} {
				if got := in.openIDWith(t, s2); got != testOpenID {
					t.Errorf("with the repeat's session: openid %q", got)
				}
			}
		})
	}
}

// In a double redirect the browser drops the first request for the
// second, which may land while the first one's code exchange is under
// way: it waits for that exchange, which the browser's leaving does not
// cancel, and gets its answer, on either instance.
func TestRepeatWhileFirstInFlight(t *testing.T) {
	for _, on := range []string{"same", "peer"} {
		t.Run(on, func(t *testing.T) {
			a := newFixture(t, nil)
			second := a
			if on == "peer" {
				second = a.peer(t)
			}
			release := a.wechat.holdCode("code-union")
			t.Cleanup(release)
			at := a.start(t, "/back")

			ctx, leave := context.WithCancel(context.Background())
			defer leave()
			var wg sync.WaitGroup
			var first *httptest.ResponseRecorder
			wg.Go(func() { first = a.callbackCtx(t, ctx, at, "code-union", true) })
			deadline := time.Now().Add(10 * time.Second)
			for a.wechat.calls() == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the first callback never asked WeChat")
				}
				time.Sleep(5 * time.Millisecond)
			}
			leave() // the browser drops the first request

			var repeat *httptest.ResponseRecorder
			wg.Go(func() { repeat = second.callback(t, at, "code-union", true) })
			time.Sleep(50 * time.Millisecond) // the repeat is waiting
			release()
			wg.Wait()
			if repeat.Code != http.StatusFound || repeat.Header().Get("Location") != "/back" {
				t.Fatalf("repeat: %d %q %q (first: %d)", repeat.Code, repeat.Header().Get("Location"), repeat.Body.String(), first.Code)
			}
			s := cookie(repeat, "__Host-wechat_oauth")
			if s == nil || second.openIDWith(t, s) != testOpenID {
				t.Errorf("the repeat's session does not sign in: %+v", s)
			}
			if n := a.wechat.calls(); n != 1 {
				t.Errorf("%d code exchanges, want 1", n)
			}
		})
	}
}

// Two instances taking the callback of one state at the same moment, each
// with its own code (a replay racing the real callback): one signs in, the
// other is refused, with one exchange. Repeated to give the race a chance,
// on an in-memory storage whose lock does not poll.
func TestStateRaceAcrossInstances(t *testing.T) {
	a := newFixture(t, func(h *Handler) { h.storage = newMemStorage() })
	b := a.peer(t)
	for i := range 20 {
		at := a.start(t, "/r")
		var wg sync.WaitGroup
		var ra, rb *httptest.ResponseRecorder
		wg.Go(func() { ra = a.callback(t, at, "code-base", true) })
		wg.Go(func() { rb = b.callback(t, at, "code-union", true) })
		wg.Wait()
		ok := 0
		for _, r := range []*httptest.ResponseRecorder{ra, rb} {
			switch {
			case r.Code == http.StatusFound:
				ok++
			case r.Code != http.StatusBadRequest || !strings.Contains(r.Body.String(), "expired or was started in another browser"):
				t.Errorf("round %d: %d %q", i, r.Code, r.Body.String())
			}
		}
		if ok != 1 || a.wechat.calls() != i+1 {
			t.Fatalf("round %d: %d sign-ins, %d exchanges in all; want 1 and %d", i, ok, a.wechat.calls(), i+1)
		}
	}
}
