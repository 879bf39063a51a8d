package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

func TestCaddyModule(t *testing.T) {
	info := Handler{}.CaddyModule()
	if info.ID != "http.handlers.wechat_sandbox" {
		t.Errorf("ID = %q", info.ID)
	}
	if _, ok := info.New().(*Handler); !ok {
		t.Errorf("New() returned %T, want *Handler", info.New())
	}
}

func TestJSONConfig(t *testing.T) {
	b, err := json.Marshal(Handler{})
	if err != nil || string(b) != "{}" {
		t.Fatalf("zero Handler = %s, %v; want {}", b, err)
	}
	h := Handler{AppID: "wx1", AppSecret: "s", TokenTTL: caddy.Duration(time.Hour), Latency: caddy.Duration(time.Second)}
	b, _ = json.Marshal(h)
	want := `{"app_id":"wx1","app_secret":"s","token_ttl":3600000000000,"latency":1000000000}`
	if string(b) != want {
		t.Fatalf("JSON = %s, want %s", b, want)
	}
}

// TestProvisionResolvesSecret checks {env.*} and {file.*} placeholders
// and the default ttl.
func TestProvisionResolvesSecret(t *testing.T) {
	t.Setenv("SANDBOX_TEST_SECRET", "from-env")
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, config, secret string }{
		{"literal", "plain", "plain"},
		{"env", "{env.SANDBOX_TEST_SECRET}", "from-env"},
		{"file", "{file." + file + "}", "from-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{AppID: "wx-" + t.Name(), AppSecret: tc.config}
			provision(t, h)
			if time.Duration(h.TokenTTL) != 2*time.Hour {
				t.Errorf("default token_ttl = %v", time.Duration(h.TokenTTL))
			}
			rec := serve(t, h, http.MethodGet, tokenURL("client_credential", h.AppID, tc.secret), "")
			if r := decode[tokenReply](t, rec); r.AccessToken == "" {
				t.Fatalf("resolved secret refused: %s", rec.Body.String())
			}
			if tc.config != tc.secret {
				rec := serve(t, h, http.MethodGet, tokenURL("client_credential", h.AppID, tc.config), "")
				if e := decode[wechatError](t, rec); e.ErrCode != codeInvalidSecret {
					t.Fatalf("unresolved placeholder accepted as secret: %s", rec.Body.String())
				}
			}
		})
	}
}

func TestProvisionEmptySecret(t *testing.T) {
	h := &Handler{AppID: "wx-" + t.Name(), AppSecret: "{env.SANDBOX_TEST_UNSET_VARIABLE}"}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	err := h.Provision(ctx)
	if err == nil || !strings.HasPrefix(err.Error(), "wechat_sandbox: app_secret: ") {
		t.Fatalf("Provision error = %v, want an app_secret error", err)
	}
	if err := h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, ok := pool.References(h.AppID); ok {
		t.Fatal("a failed Provision left a pool entry")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		h    Handler
		want string // "" means valid
	}{
		{"ok", Handler{AppID: "wx1", AppSecret: "s"}, ""},
		{"ok with options", Handler{AppID: "wx1", AppSecret: "s", TokenTTL: caddy.Duration(time.Second), Latency: 1}, ""},
		{"no app_id", Handler{AppSecret: "s"}, "wechat_sandbox: app_id is required"},
		{"no app_secret", Handler{AppID: "wx1"}, "wechat_sandbox: app_secret is required"},
		{"ttl below 1s", Handler{AppID: "wx1", AppSecret: "s", TokenTTL: caddy.Duration(time.Second - 1)}, "wechat_sandbox: token_ttl must be at least 1s, got 999.999999ms"},
		{"negative ttl", Handler{AppID: "wx1", AppSecret: "s", TokenTTL: -1}, "wechat_sandbox: token_ttl must be at least 1s, got -1ns"},
		{"negative latency", Handler{AppID: "wx1", AppSecret: "s", Latency: -1}, "wechat_sandbox: latency must not be negative, got -1ns"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.h.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || err.Error() != tc.want) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestReloadKeepsState provisions a second handler for the same app ID,
// then cleans up the first, as a config reload does: tokens, tickets and
// counters carry over. Once the last user is cleaned up, the state goes.
func TestReloadKeepsState(t *testing.T) {
	clk := newFakeClock()
	appID := "wx-" + t.Name()
	oldH := &Handler{AppID: appID, AppSecret: testSecret, now: clk.now}
	provision(t, oldH)
	token := classicToken(t, oldH).AccessToken
	ticket := getTicket(t, oldH, token).Ticket

	newH := &Handler{AppID: appID, AppSecret: testSecret, TokenTTL: caddy.Duration(time.Hour), now: clk.now}
	provision(t, newH)
	if err := oldH.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if err := oldH.Cleanup(); err != nil { // a second Cleanup must not release newH's reference
		t.Fatal(err)
	}
	if refs, ok := pool.References(appID); !ok || refs != 1 {
		t.Fatalf("pool references = %d, %v; want 1", refs, ok)
	}

	if got := getTicket(t, newH, token); got.ErrCode != 0 || got.Ticket != ticket {
		t.Fatalf("after reload: errcode %d, same ticket %v", got.ErrCode, got.Ticket == ticket)
	}
	if got := statsOf(t, newH); got["token"] != 1 || got["getticket"] != 2 {
		t.Fatalf("stats after reload: %v", got)
	}

	if err := newH.Cleanup(); err != nil {
		t.Fatal(err)
	}
	fresh := &Handler{AppID: appID, AppSecret: testSecret, now: clk.now}
	provision(t, fresh)
	if got := tokenCode(t, fresh, token); got != codeInvalidCredential {
		t.Fatalf("after the last user left, old token: errcode %d, want %d", got, codeInvalidCredential)
	}
}

func TestAppsAreSeparate(t *testing.T) {
	a := &Handler{AppID: "wx-" + t.Name() + "-a", AppSecret: testSecret}
	b := &Handler{AppID: "wx-" + t.Name() + "-b", AppSecret: testSecret}
	provision(t, a)
	provision(t, b)
	if got := tokenCode(t, b, classicToken(t, a).AccessToken); got != codeInvalidCredential {
		t.Fatalf("app b accepted app a's token: errcode %d", got)
	}
}

// TestLatencyHonoursCancellation checks that a configured latency delays
// the answer and that a client that has given up ends the wait: without
// the latency the handler would answer, and without honouring the
// cancellation it would wait an hour.
func TestLatencyHonoursCancellation(t *testing.T) {
	h, _ := newTestHandler(t)
	h.Latency = caddy.Duration(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodGet, tokenURL("client_credential", h.AppID, testSecret), nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	done := make(chan error, 1)
	go func() { done <- h.ServeHTTP(rec, req, nil) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the wait ignored the cancelled request")
	}
	if rec.Body.Len() != 0 {
		t.Fatalf("answered a cancelled request: %q", rec.Body.String())
	}
	if got := h.state.snapshot().Token; got != 1 {
		t.Fatalf("token calls = %d, want the cancelled call counted", got)
	}
}

func TestSleepCtx(t *testing.T) {
	if err := sleepCtx(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("uncancelled wait: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepCtx(ctx, 0); err != nil {
		t.Fatalf("no latency must not fail: %v", err)
	}
	if err := sleepCtx(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("cancelled wait: %v, want context.Canceled", err)
	}
}

// TestConcurrentUse lets -race see every endpoint used at once.
func TestConcurrentUse(t *testing.T) {
	h, _ := newTestHandler(t)
	token := stableToken(t, h, false).AccessToken
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, tokenURL("client_credential", h.AppID, testSecret), nil), nil)
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, pathStableToken, strings.NewReader(stableBody(t, "client_credential", h.AppID, testSecret, i%2 == 0))), nil)
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, pathTicket+"?type=jsapi&access_token="+token, nil), nil)
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, pathVerify+"?url=x&appId="+h.AppID, nil), nil)
				fault := httptest.NewRequest(http.MethodPost, pathFault, strings.NewReader(`{"endpoint":"*","errcode":-1}`))
				fault.Header.Set("Content-Type", "application/json")
				h.ServeHTTP(httptest.NewRecorder(), fault, nil)
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, pathStats, nil), nil)
			}
		})
	}
	wg.Wait()
	want := stats{Token: 160, StableToken: 161, GetTicket: 160, Verify: 160}
	if got := h.state.snapshot(); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}
