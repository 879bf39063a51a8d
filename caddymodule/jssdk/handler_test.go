package jssdk

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// fakeWeChat answers stable_token and getticket like WeChat, for one app.
type fakeWeChat struct {
	appID, secret string
	tokenCalls    atomic.Int32
	ticketCalls   atomic.Int32
}

func (f *fakeWeChat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case wechat.PathStableToken:
		f.tokenCalls.Add(1)
		var req struct {
			GrantType string `json:"grant_type"`
			AppID     string `json:"appid"`
			Secret    string `json:"secret"`
		}
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&req) != nil || req.GrantType != "client_credential" {
			_, _ = io.WriteString(w, `{"errcode":40002,"errmsg":"invalid grant_type"}`)
			return
		}
		if req.AppID != f.appID || req.Secret != f.secret {
			_, _ = io.WriteString(w, `{"errcode":40125,"errmsg":"invalid appsecret"}`)
			return
		}
		_, _ = io.WriteString(w, `{"access_token":"TOKEN-`+f.appID+`","expires_in":7200}`)
	case wechat.PathTicket:
		f.ticketCalls.Add(1)
		if r.URL.Query().Get("access_token") != "TOKEN-"+f.appID || r.URL.Query().Get("type") != "jsapi" {
			_, _ = io.WriteString(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
			return
		}
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok","ticket":"`+testTicket+`","expires_in":7200}`)
	default:
		http.NotFound(w, r)
	}
}

func provision(t *testing.T, h *Handler) {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		t.Fatalf("Provision: %v", err)
	}
}

func servePage(t *testing.T, h *Handler) *recorder {
	t.Helper()
	rec := newRecorder()
	err := h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/pay/?id=1", nil), nextHTML)
	if err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return rec
}

var nextHTML = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/html")
	_, err := io.WriteString(w, testPage)
	return err
})

// Provision against a fake WeChat API: the secret comes from the
// environment, the page gets a block signed with the ticket, and handlers of
// the same app share one store across a reload.
func TestProvisionSharesStore(t *testing.T) {
	const appID = "wxprovision0000001"
	t.Setenv("JSSDK_TEST_APP_SECRET", "the-real-secret")
	api := &fakeWeChat{appID: appID, secret: "the-real-secret"}
	srv := httptest.NewServer(api)
	defer srv.Close()
	config := func() *Handler {
		return &Handler{AppID: appID, AppSecret: "{env.JSSDK_TEST_APP_SECRET}", APIBase: srv.URL}
	}

	old := config()
	provision(t, old)
	checkInjected(t, servePage(t, old).body.String(), testPage, "http://example.com/pay/?id=1", "</head>")

	// A reload provisions the new config before cleaning up the old one.
	reloaded := config()
	provision(t, reloaded)
	if reloaded.pages.store != old.pages.store {
		t.Error("a reload with the same app got a new store")
	}
	if err := old.Cleanup(); err != nil {
		t.Fatal(err)
	}
	checkInjected(t, servePage(t, reloaded).body.String(), testPage, "http://example.com/pay/?id=1", "</head>")
	if n, m := api.tokenCalls.Load(), api.ticketCalls.Load(); n != 1 || m != 1 {
		t.Errorf("%d token and %d ticket calls across a reload, want 1 and 1", n, m)
	}

	// Another secret is another store.
	t.Setenv("JSSDK_TEST_APP_SECRET", "rotated-secret")
	rotated := config()
	provision(t, rotated)
	if rotated.pages.store == reloaded.pages.store {
		t.Error("a changed secret reused the store")
	}
	if strings.Contains(rotated.poolKey, "rotated-secret") || strings.Contains(reloaded.poolKey, "the-real-secret") {
		t.Error("the pool key carries the secret")
	}
	for _, h := range []*Handler{reloaded, rotated} {
		if err := h.Cleanup(); err != nil {
			t.Fatal(err)
		}
		if err := h.Cleanup(); err != nil {
			t.Fatalf("second Cleanup: %v", err)
		}
	}
	if _, loaded := stores.References(reloaded.poolKey); loaded {
		t.Error("the store outlived its last user")
	}
}

func TestProvisionErrors(t *testing.T) {
	tests := []struct {
		name string
		h    Handler
		want string
	}{
		{"invalid config", Handler{AppID: "nope", AppSecret: "x"}, "wechat_jssdk: app_id"},
		{"secret resolves to nothing", Handler{AppID: testAppID, AppSecret: "{env.JSSDK_TEST_UNSET_4242}"}, "wechat_jssdk: app_secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			err := tt.h.Provision(ctx)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Provision = %v, want an error containing %q", err, tt.want)
			}
			if tt.h.poolKey != "" {
				t.Error("a failed Provision holds a store")
			}
		})
	}
}
