package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

const testSecret = "0123456789abcdef0123456789abcdef"

// ridRE is the request-ID suffix WeChat appends to every errmsg.
var ridRE = regexp.MustCompile(` rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$`)

// credentialRE is the alphabet of issued tokens and tickets.
var credentialRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// fakeClock is the injected clock: tests move time instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1700000000, 0)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newTestHandler provisions and validates a sandbox for an app ID unique to
// the test, so that tests never share pool entries.
func newTestHandler(t *testing.T) (*Handler, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	h := &Handler{AppID: "wx-" + t.Name(), AppSecret: testSecret, now: clk.now}
	provision(t, h)
	return h, clk
}

// provision provisions and validates h, and cleans it up when the test
// ends (Cleanup is idempotent, so tests may also call it themselves).
func provision(t *testing.T, h *Handler) {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if h.logger == nil {
		h.logger = zap.NewNop() // not Caddy's default logger: every Provision warns
	}
	if err := h.Provision(ctx); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Cleanup(); err != nil {
			t.Errorf("Cleanup: %v", err)
		}
	})
	if err := h.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

// serve sends one request through h and returns the recorded answer.
func serve(t *testing.T, h *Handler, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	if err := h.ServeHTTP(rec, req, nil); err != nil {
		t.Fatalf("ServeHTTP(%s %s): %v", method, target, err)
	}
	return rec
}

// serveCT is serve with a Content-Type ("" for none).
func serveCT(t *testing.T, h *Handler, method, target, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	if err := h.ServeHTTP(rec, req, nil); err != nil {
		t.Fatalf("ServeHTTP(%s %s): %v", method, target, err)
	}
	return rec
}

// control sends a control call as its callers must: POST, a JSON body,
// Content-Type application/json.
func control(t *testing.T, h *Handler, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	return serveCT(t, h, http.MethodPost, target, "application/json", body)
}

// decode decodes a JSON answer into T, failing the test on other content.
func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want JSON; body %q", ct, rec.Body.String())
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decoding %q: %v", rec.Body.String(), err)
	}
	return v
}

// tokenURL is the classic token request with the given credentials.
func tokenURL(grantType, appID, secret string) string {
	return pathToken + "?" + url.Values{
		"grant_type": {grantType}, "appid": {appID}, "secret": {secret},
	}.Encode()
}

// stableBody is a stable_token request body.
func stableBody(t *testing.T, grantType, appID, secret string, force bool) string {
	t.Helper()
	b, err := json.Marshal(stableTokenRequest{GrantType: grantType, AppID: appID, Secret: secret, ForceRefresh: force})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// classicToken fetches a new classic token from h.
func classicToken(t *testing.T, h *Handler) tokenReply {
	t.Helper()
	rec := serve(t, h, http.MethodGet, tokenURL("client_credential", h.AppID, testSecret), "")
	r := decode[tokenReply](t, rec)
	if rec.Code != http.StatusOK || r.AccessToken == "" {
		t.Fatalf("token: %d %s", rec.Code, rec.Body.String())
	}
	return r
}

// stableToken fetches the stable token from h.
func stableToken(t *testing.T, h *Handler, force bool) tokenReply {
	t.Helper()
	rec := serve(t, h, http.MethodPost, pathStableToken, stableBody(t, "client_credential", h.AppID, testSecret, force))
	r := decode[tokenReply](t, rec)
	if rec.Code != http.StatusOK || r.AccessToken == "" {
		t.Fatalf("stable_token: %d %s", rec.Code, rec.Body.String())
	}
	return r
}

// getTicket asks h for a jsapi ticket with token and returns the answer,
// which may be an error.
func getTicket(t *testing.T, h *Handler, token string) ticketReply {
	t.Helper()
	rec := serve(t, h, http.MethodGet, pathTicket+"?"+url.Values{"access_token": {token}, "type": {"jsapi"}}.Encode(), "")
	if rec.Code != http.StatusOK {
		t.Fatalf("getticket: status %d", rec.Code)
	}
	return decode[ticketReply](t, rec)
}

// tokenCode is the errcode getticket answers for token: 0 when the
// sandbox considers it valid.
func tokenCode(t *testing.T, h *Handler, token string) int {
	t.Helper()
	return getTicket(t, h, token).ErrCode
}
