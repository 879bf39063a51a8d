package jssdk

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/filestorage"
	"github.com/caddyserver/certmagic"
)

func TestUnmarshalSharingOptions(t *testing.T) {
	tests := []struct {
		name, body string
		check      func(t *testing.T, h *Handler)
	}{
		{"token service with a header", "token_source url https://tokens.internal/wx?app=1\ntoken_header X-Api-Key {env.TOKEN_KEY}",
			func(t *testing.T, h *Handler) {
				if h.TokenSource != "url" || h.TokenURL != "https://tokens.internal/wx?app=1" ||
					h.TokenHeader == nil || *h.TokenHeader != (TokenHeader{Name: "X-Api-Key", Value: "{env.TOKEN_KEY}"}) {
					t.Errorf("got %q %q %+v", h.TokenSource, h.TokenURL, h.TokenHeader)
				}
			}},
		{"stable stays one value", "token_source stable", func(t *testing.T, h *Handler) {
			if h.TokenSource != "stable" || h.TokenURL != "" {
				t.Errorf("got %q %q", h.TokenSource, h.TokenURL)
			}
		}},
		{"storage module", "storage file_system /var/lib/wechat", func(t *testing.T, h *Handler) {
			if got := string(h.StorageRaw); got != `{"module":"file_system","root":"/var/lib/wechat"}` {
				t.Errorf("StorageRaw = %s", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			input := "wechat_jssdk {\n app_id " + testAppID + "\n app_secret {env.S}\n " + tt.body + "\n}"
			if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
				t.Fatal(err)
			}
			tt.check(t, &h)
		})
	}
}

func TestUnmarshalSharingErrors(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"url without endpoint", "token_source url", []string{"token_source", "endpoint"}},
		{"three values", "token_source url a b", []string{"token_source", "one value", "got 3"}},
		{"bad endpoint", "token_source url ftp://tokens.internal/?key=key-value-55", []string{"token_source", "http(s) URL"}},
		{"endpoint with user info", "token_source url https://u:pw-in-url-77@tokens.internal/", []string{"token_source", "without user info"}},
		{"header without value", "token_source url https://t.internal/\ntoken_header X-Api-Key", []string{"token_header", "name and a value"}},
		{"header with extra value", "token_source url https://t.internal/\ntoken_header X-Api-Key key-value-55 more", []string{"token_header", "got 3"}},
		{"bad header name", "token_source url https://t.internal/\ntoken_header X:Key key-value-55", []string{"token_header", `"X:Key"`}},
		{"header without url", "token_header X-Api-Key key-value-55", []string{"token_header", "only used with token_source url"}},
		{"storage without module", "storage", []string{"storage", "module name"}},
		{"unknown storage", "storage nosuchstore", []string{"storage", "caddy.storage.nosuchstore"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			input := "wechat_jssdk {\n app_id " + testAppID + "\n app_secret {env.S}\n " + tt.body + "\n}"
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range append([]string{"wechat_jssdk"}, tt.want...) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			for _, secret := range []string{"key-value-55", "pw-in-url-77"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q quotes a secret", err)
				}
			}
		})
	}
}

// TestTokenServiceNeedsNoSecret: with a token service, app_secret is
// optional; without one it is still required.
func TestTokenServiceNeedsNoSecret(t *testing.T) {
	h := Handler{AppID: testAppID, TokenSource: "url", TokenURL: "https://tokens.internal/wx"}
	h.applyDefaults()
	if err := h.Validate(); err != nil {
		t.Errorf("url without app_secret: %v", err)
	}
	for _, h := range []Handler{
		{AppID: testAppID, TokenSource: "stable"},
		{AppID: testAppID, TokenSource: "url"},
		{AppID: testAppID, AppSecret: "s", TokenURL: "https://tokens.internal/wx"},
	} {
		h.applyDefaults()
		if err := h.Validate(); err == nil {
			t.Errorf("%+v: no error", h)
		}
	}
}

// TestSharedPrefix: instances share a namespace exactly when they hold the
// same credential, and the namespace does not spell the secret.
func TestSharedPrefix(t *testing.T) {
	base := storeParams{appID: testAppID, secret: "secret-0123456789", apiBase: "https://api.weixin.qq.com"}
	p := sharedPrefix(base)
	if !strings.HasPrefix(p, "wechat_jssdk/"+testAppID+"/") || len(p) != len("wechat_jssdk/"+testAppID+"/")+12 ||
		strings.Contains(p, base.secret) {
		t.Errorf("sharedPrefix = %q", p)
	}
	same := base
	same.classic, same.timeout = true, 42 // how, not what
	if sharedPrefix(same) != p {
		t.Error("the token endpoint or timeout changed the namespace")
	}
	for name, change := range map[string]func(*storeParams){
		"secret":   func(p *storeParams) { p.secret = "other" },
		"api base": func(p *storeParams) { p.apiBase = "http://127.0.0.1:9081" },
		"service":  func(p *storeParams) { p.serviceURL = "https://tokens.internal/" },
		"app":      func(p *storeParams) { p.appID = "wxother" },
	} {
		q := base
		change(&q)
		if sharedPrefix(q) == p {
			t.Errorf("another %s shares the namespace", name)
		}
	}
}

// TestSharedStorageFollowsConfigs: the newest attached storage serves, a
// detached one stops serving, and a lock is released where it was taken.
func TestSharedStorageFollowsConfigs(t *testing.T) {
	ctx := context.Background()
	oldDir, newDir := t.TempDir(), t.TempDir()
	oldSt, newSt := &certmagic.FileStorage{Path: oldDir}, &certmagic.FileStorage{Path: newDir}
	s := newSharedStorage()
	if _, err := s.Load(ctx, "k"); !errors.Is(err, errNoStorage) {
		t.Fatalf("no storage attached: %v", err)
	}
	detachOld := s.attach(oldSt)
	detachNew := s.attach(newSt)
	if err := s.Store(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(newDir, "k")); err != nil {
		t.Errorf("the newest storage did not get the write: %v", err)
	}
	if err := s.Lock(ctx, "refresh"); err != nil {
		t.Fatal(err)
	}
	detachNew() // the reload failed, or the old config is going
	detachNew()
	if _, err := s.Load(ctx, "k"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after detaching the newest, Load = %v, want the older storage's miss", err)
	}
	if err := s.Unlock(ctx, "refresh"); err != nil {
		t.Errorf("Unlock on the storage that took the lock: %v", err)
	}
	if err := s.Unlock(ctx, "refresh"); err == nil {
		t.Error("a second Unlock succeeded")
	}
	if got := s.kind(); got != "*certmagic.FileStorage" {
		t.Errorf("kind = %q", got)
	}
	detachOld()
	if got := s.kind(); got != "" {
		t.Errorf("kind with nothing attached = %q", got)
	}
}

// TestDirectiveStorageRestart: with the directive's own storage, a store
// created after the previous one was destroyed (a restart) reads the L2 and
// calls nobody.
func TestDirectiveStorageRestart(t *testing.T) {
	const appID = "wxrestart000000001"
	t.Setenv("JSSDK_TEST_APP_SECRET", "restart-secret")
	api := &fakeWeChat{appID: appID, secret: "restart-secret"}
	srv := httptest.NewServer(api)
	defer srv.Close()
	dir := t.TempDir()
	raw, _ := json.Marshal(map[string]string{"module": "file_system", "root": dir})
	config := func() *Handler {
		return &Handler{AppID: appID, AppSecret: "{env.JSSDK_TEST_APP_SECRET}", APIBase: srv.URL, StorageRaw: raw}
	}

	first := config()
	provision(t, first)
	checkInjected(t, servePage(t, first).body.String(), testPage, "http://example.com/pay/?id=1", "</head>")
	if err := first.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, ok := stores.References(first.poolKey); ok {
		t.Fatal("the store outlived its only user")
	}

	restarted := config()
	provision(t, restarted)
	defer restarted.Cleanup()
	if restarted.pages.store == first.pages.store {
		t.Fatal("not a new store")
	}
	checkInjected(t, servePage(t, restarted).body.String(), testPage, "http://example.com/pay/?id=1", "</head>")
	if n, m := api.tokenCalls.Load(), api.ticketCalls.Load(); n != 1 || m != 1 {
		t.Errorf("%d token and %d ticket calls across a restart, want 1 and 1", n, m)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "wechat_jssdk", appID, "*", "*"))
	if len(files) != 2 {
		t.Errorf("L2 files %v, want the token and the ticket", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), "restart-secret") {
			t.Errorf("%s holds the secret", f)
		}
	}
}
