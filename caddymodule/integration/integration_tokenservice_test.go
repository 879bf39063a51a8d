package integration_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// tokenService is a central token service for the tests: it holds the
// app's token, which it gets from the sandbox's stable_token, and hands it
// to whoever presents its key. bogusFirst makes its first answer a token
// the sandbox never issued (as a service would after WeChat rotated it);
// errcode makes it answer WeChat's error JSON instead.
type tokenService struct {
	key        string
	bogusFirst atomic.Bool
	errcode    atomic.Int32
	calls      atomic.Int32
	badKey     atomic.Int32
}

func (s *tokenService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("X-Token-Key") != s.key {
		s.badKey.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if code := s.errcode.Load(); code != 0 {
		_ = json.NewEncoder(w).Encode(map[string]any{"errcode": code, "errmsg": "token service says no"})
		return
	}
	if s.bogusFirst.CompareAndSwap(true, false) {
		// the shape of a sandbox token, never issued: getticket says 40001
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": strings.Repeat("B", 136), "expires_in": 7200})
		return
	}
	body := `{"grant_type":"client_credential","appid":"` + testAppID + `","secret":"` + testSecret + `"}`
	resp, err := http.Post(sandURL+"/cgi-bin/stable_token", "application/json", strings.NewReader(body))
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	_, _ = io.Copy(w, resp.Body)
}

// TestTokenSourceURL: with token_source url the module takes its token
// from the service (never from WeChat's token endpoints), with the
// configured header; a 40001 on the ticket call makes it read the service
// once more; an error from the service leaves the page unmodified and is
// logged. The header's value is never in the logs or the admin API.
func TestTokenSourceURL(t *testing.T) {
	const key = "token-service-key-8f7e6d"
	t.Setenv("JSSDK_TOKEN_KEY", key)
	svc := &tokenService{key: key}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	// Each case asks for its own path: another endpoint, another store.
	site := func(path string) string {
		return `
http://` + siteAddr + ` {
	wechat_jssdk {
		app_id       ` + testAppID + `
		api_base     ` + sandURL + `
		token_source url ` + srv.URL + path + `
		token_header X-Token-Key {env.JSSDK_TOKEN_KEY}
		timeout      2s
	}
	root * ` + siteRoot + `
	file_server
}
`
	}
	global := globalOptions("log {\n\t\toutput file " + logFile + "\n\t\tlevel DEBUG\n\t}")

	tests := []struct {
		name       string
		path       string
		setup      func()
		injected   bool
		wantSvc    int32 // calls to the token service
		wantTicket int   // getticket calls at the sandbox
	}{
		{"token", "/ok", func() {}, true, 1, 1},
		{"40001 reads the service once more", "/stale", func() { svc.bogusFirst.Store(true) }, true, 2, 2},
		{"service error", "/error", func() { svc.errcode.Store(40013) }, false, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			startCaddy(t, global+sandboxSite+site(tt.path))
			tt.setup()
			defer svc.errcode.Store(0)
			svc.calls.Store(0)
			before := sandboxStats(t)
			resp, body := get(t, http.MethodGet, siteURL+"/pay/order.html")
			after := sandboxStats(t)
			if resp.StatusCode != http.StatusOK || strings.Contains(body, "wechat-jssdk-config") != tt.injected {
				t.Fatalf("status %d, injected %v, want %v", resp.StatusCode, !tt.injected, tt.injected)
			}
			if tt.injected {
				if ok, msg := verify(t, injectedConfig(t, body), siteURL+"/pay/order.html"); !ok {
					t.Errorf("the sandbox rejects the signature: %s", msg)
				}
			}
			if n := svc.calls.Load(); n != tt.wantSvc {
				t.Errorf("%d token service calls, want %d", n, tt.wantSvc)
			}
			// The only token calls the sandbox sees are the service's own.
			wantStable := 0
			if tt.injected {
				wantStable = 1
			}
			wantCalls(t, before, after, map[string]int{"stable_token": wantStable, "token": 0, "getticket": tt.wantTicket})
		})
	}
	if n := svc.badKey.Load(); n != 0 {
		t.Errorf("%d calls without the configured header", n)
	}

	_, admin := get(t, http.MethodGet, adminURL+"/wechat_jssdk/")
	if !strings.Contains(admin, `"source":"url"`) || !strings.Contains(admin, `"token_service":"`+srv.URL+`/error"`) ||
		!strings.Contains(admin, "40013") {
		t.Errorf("admin listing %s: want the url source, its endpoint and the service's error", admin)
	}
	_, config := get(t, http.MethodGet, adminURL+"/config/")
	logs, err := os.ReadFile(logFile)
	if err != nil || !strings.Contains(string(logs), "40013") {
		t.Errorf("the service's error was not logged (%v)", err)
	}
	for name, hay := range map[string]string{"logs": string(logs), "admin listing": admin, "admin /config/": config} {
		if strings.Contains(hay, key) {
			t.Errorf("%s contain the token service's key", name)
		}
	}
}
