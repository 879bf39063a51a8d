package oauth

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

const (
	testAppID  = "wx0123456789abcdef"
	testSecret = "oauth-unit-secret-canary-5d1c"
	testOpenID = "oLVPpjqs9BhvzwPj5A-vTYAX3GLc"
	testUnion  = "o6_bmasdasdsad6_2sgVt7hMZOPfL"
	wechatUA   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
	plainUA    = "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36"
)

// testNow is the handlers' clock.
var testNow = time.Unix(1700000000, 0)

// fakeWeChat answers the code exchange: a code in replies gets that JSON,
// any other code 40029. It records the codes it was asked about. A code
// with a channel in hold is answered once the channel is closed.
type fakeWeChat struct {
	mu      sync.Mutex
	replies map[string]string
	hold    map[string]chan struct{}
	asked   []string
}

func (f *fakeWeChat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path != "/sns/oauth2/access_token" || r.URL.Query().Get("secret") != testSecret {
		_, _ = w.Write([]byte(`{"errcode":40125,"errmsg":"invalid appsecret"}`))
		return
	}
	code := r.URL.Query().Get("code")
	f.mu.Lock()
	f.asked = append(f.asked, code)
	body, ok := f.replies[code]
	hold := f.hold[code]
	f.mu.Unlock()
	if hold != nil {
		<-hold
	}
	if !ok {
		body = `{"errcode":40029,"errmsg":"invalid code"}`
	}
	_, _ = w.Write([]byte(body))
}

func (f *fakeWeChat) reply(code, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies[code] = body
}

// holdCode makes the answers for code wait until the returned function is
// called.
func (f *fakeWeChat) holdCode(code string) (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hold == nil {
		f.hold = map[string]chan struct{}{}
	}
	c := make(chan struct{})
	f.hold[code] = c
	var once sync.Once
	return func() { once.Do(func() { close(c) }) }
}

func (f *fakeWeChat) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.asked)
}

// fixture is a provisioned handler, the fake WeChat behind it, its logs
// and its storage.
type fixture struct {
	h       *Handler
	wechat  *fakeWeChat
	logs    *observer.ObservedLogs
	storage certmagic.Storage
	now     time.Time
	mu      sync.Mutex
}

// newFixture provisions a handler (changed by mutate) against a fake
// WeChat and a fresh file storage, with a clock the test moves.
func newFixture(t *testing.T, mutate func(*Handler)) *fixture {
	t.Helper()
	fw := &fakeWeChat{replies: map[string]string{
		"code-base":  `{"access_token":"USER-TOKEN-CANARY","expires_in":7200,"refresh_token":"REFRESH-CANARY","openid":"` + testOpenID + `","scope":"snsapi_base"}`,
		"code-union": `{"access_token":"USER-TOKEN-CANARY","expires_in":7200,"openid":"` + testOpenID + `","scope":"snsapi_base","unionid":"` + testUnion + `"}`,
		"code-snap":  `{"access_token":"USER-TOKEN-CANARY","expires_in":7200,"openid":"oSnapshotVirtual","scope":"snsapi_base","is_snapshotuser":1}`,
		"code-used":  `{"errcode":40163,"errmsg":"code been used"}`,
		"code-busy":  `{"errcode":-1,"errmsg":"system error"}`,
	}}
	srv := httptest.NewServer(fw)
	t.Cleanup(srv.Close)
	f := &fixture{wechat: fw, storage: &certmagic.FileStorage{Path: t.TempDir()}, now: testNow}
	h := &Handler{AppID: testAppID, AppSecret: testSecret, APIBase: srv.URL, storage: f.storage, replay: newReplayCache(maxConsumed)}
	if mutate != nil {
		mutate(h)
	}
	f.storage = h.storage
	h.now = f.clock
	core, logs := observer.New(zapcore.DebugLevel)
	h.logger = zap.New(core)
	if err := provision(t, h); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	t.Cleanup(h.used.pruning.Wait) // before the storage's directory goes
	t.Cleanup(func() { _ = h.Cleanup() })
	f.h, f.logs = h, logs
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// provision provisions h, quietly unless the test gave it a logger.
func provision(t *testing.T, h *Handler) error {
	t.Helper()
	if h.logger == nil {
		h.logger = zap.NewNop()
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	return h.Provision(ctx)
}

// seen is what the next handler saw of a request.
type seen struct {
	called bool
	header http.Header
}

// request describes one request to send through the handler.
type request struct {
	method  string
	target  string
	ua      string
	https   bool
	header  map[string]string
	cookies []*http.Cookie
	// orig, when set, is the request-target as it arrived, before a
	// rewrite made it target.
	orig string
	// ctx, when set, is the request's context (the browser leaving
	// cancels it).
	ctx context.Context
}

// do sends req through f.h with a next handler that records what it saw
// and answers 200 "upstream".
func (f *fixture) do(t *testing.T, req request) (*httptest.ResponseRecorder, *seen) {
	t.Helper()
	method := req.method
	if method == "" {
		method = http.MethodGet
	}
	host := "shop.example"
	r := httptest.NewRequest(method, "http://"+host+req.target, nil)
	if req.https {
		r.TLS = &tls.ConnectionState{}
	}
	if req.ua != "" {
		r.Header.Set("User-Agent", req.ua)
	}
	for k, v := range req.header {
		r.Header[k] = []string{v} // as sent: not canonicalized
	}
	for _, c := range req.cookies {
		r.AddCookie(c)
	}
	orig := r
	if req.orig != "" {
		orig = httptest.NewRequest(method, "http://"+host+req.orig, nil)
	}
	repl := caddy.NewReplacer()
	ctx := r.Context()
	if req.ctx != nil {
		ctx = req.ctx
	}
	ctx = context.WithValue(ctx, caddy.ReplacerCtxKey, repl)
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{})
	ctx = context.WithValue(ctx, caddyhttp.OriginalRequestCtxKey, *orig)
	r = r.WithContext(ctx)
	s := &seen{}
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		s.called, s.header = true, r.Header.Clone()
		_, err := w.Write([]byte("upstream"))
		return err
	})
	rec := httptest.NewRecorder()
	if err := f.h.ServeHTTP(rec, r, next); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return rec, s
}

// cookie returns the Set-Cookie of rec named name, or nil.
func cookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signIn runs the redirect and the callback with code, over https or not,
// and returns the session cookie and the callback's answer.
func (f *fixture) signIn(t *testing.T, target, code string, https bool) (*http.Cookie, *httptest.ResponseRecorder) {
	t.Helper()
	rec, _ := f.do(t, request{target: target, ua: wechatUA, https: https})
	if rec.Code != http.StatusFound {
		t.Fatalf("GET %s: %d, want a redirect to WeChat", target, rec.Code)
	}
	sessionName, stateName := f.h.cookieNames(https)
	stateCookie := cookie(rec, stateName)
	if stateCookie == nil {
		t.Fatal("no state cookie")
	}
	state := stateParam(t, rec.Header().Get("Location"))
	cb, _ := f.do(t, request{target: f.h.CallbackPath + "?code=" + code + "&state=" + state, ua: wechatUA, https: https,
		cookies: []*http.Cookie{stateCookie}})
	return cookie(cb, sessionName), cb
}

// stateParam returns the state of an authorize URL.
func stateParam(t *testing.T, location string) string {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("state")
}

// allLogs is every logged message and field, for looking for secrets.
func allLogs(logs *observer.ObservedLogs) string {
	var b strings.Builder
	for _, e := range logs.All() {
		b.WriteString(e.Message)
		for k, v := range e.ContextMap() {
			b.WriteString(" " + k + "=")
			b.WriteString(strings.TrimSpace(strings.ReplaceAll(fmt.Sprint(v), "\n", " ")))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// httpResponse is what the handler answered.
type httpResponse = httptest.ResponseRecorder

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// contextWithVars is r's context as Caddy prepares it, with vars.
func contextWithVars(r *http.Request, vars map[string]any) context.Context {
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer())
	return context.WithValue(ctx, caddyhttp.VarsCtxKey, vars)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
