package oauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/identity"
)

// matchPath is the "match" field of a handler for wechat_oauth <paths…>.
func matchPath(paths ...string) func(*Handler) {
	return func(h *Handler) {
		raw, _ := json.Marshal(paths)
		h.MatcherSetsRaw = caddyhttp.RawMatcherSets{caddy.ModuleMap{"path": raw}}
	}
}

// forged is what an attacker sends to be taken for a victim.
var forged = map[string]string{
	"X-WeChat-OpenID":  "victim",
	"x_wechat_openid":  "victim",
	"X.WeChat.OpenID":  "victim",
	"X-WECHAT-UNIONID": "victim",
}

// identityOf returns the identity headers among h, every spelling.
func identityOf(h http.Header) http.Header {
	names := identity.NewNames(DefaultHeader, DefaultUnionIDHeader)
	out := http.Header{}
	for k, v := range h {
		if names.Covers(k) {
			out[k] = v
		}
	}
	return out
}

func TestMatchField(t *testing.T) {
	f := newFixture(t, matchPath("/shop/*"))
	// the callback is outside the matcher and answered all the same
	session, cb := f.signIn(t, "/shop/cart", "code-base", false)
	if session == nil {
		t.Fatalf("no session from the callback outside the matcher: %d %s", cb.Code, cb.Body)
	}
	for _, tt := range []struct {
		name    string
		req     request
		want    string // the openid upstream gets; "302" for a sign-in
		comment string
	}{
		{"matched, session", request{target: "/shop/cart", ua: wechatUA, cookies: []*http.Cookie{session}}, testOpenID, ""},
		{"matched, WeChat without session", request{target: "/shop/cart", ua: wechatUA}, "302", ""},
		{"matched in another case", request{target: "/SHOP/cart", ua: wechatUA}, "302", "Caddy's path matcher ignores case"},
		{"matched through ..", request{target: "/api/../shop/cart", ua: wechatUA}, "302", ""},
		{"matched, other browser", request{target: "/shop/cart", ua: plainUA}, "", ""},
		{"unmatched, WeChat without session", request{target: "/api/orders", ua: wechatUA}, "", "passes, no sign-in"},
		{"unmatched, session", request{target: "/api/orders", ua: wechatUA, cookies: []*http.Cookie{session}}, "", "identity only where the matcher says"},
		{"unmatched through ..", request{target: "/shop/../api/orders", ua: wechatUA}, "", "the path matcher cleans the path"},
		{"unmatched through %2e%2e", request{target: "/shop/%2e%2e/api/orders", ua: wechatUA}, "", ""},
		{"unmatched, other browser", request{target: "/api/orders", ua: plainUA}, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.header = forged
			rec, next := f.do(t, tt.req)
			if tt.want == "302" {
				if rec.Code != http.StatusFound || next.called {
					t.Fatalf("%d, next called %v: want a sign-in", rec.Code, next.called)
				}
				return
			}
			if !next.called {
				t.Fatalf("%d: not passed on", rec.Code)
			}
			got := identityOf(next.header)
			want := http.Header{}
			if tt.want != "" {
				want["X-Wechat-Openid"] = []string{tt.want}
			}
			if len(got) != len(want) || got.Get("X-WeChat-OpenID") != tt.want {
				t.Errorf("upstream got identity %v, want %v", got, want)
			}
		})
	}
}

func TestMatchFieldBadMatcher(t *testing.T) {
	h := &Handler{AppID: testAppID, AppSecret: "s", storage: newMemStorage(),
		MatcherSetsRaw: caddyhttp.RawMatcherSets{caddy.ModuleMap{"no_such_matcher": json.RawMessage(`{}`)}}}
	if err := provision(t, h); err == nil || !strings.Contains(err.Error(), "wechat_oauth: match:") {
		t.Errorf("Provision = %v, want an error naming wechat_oauth's match", err)
	}
}

// chain runs r through hs, in order, and records what the last next saw.
func chain(t *testing.T, r *http.Request, hs ...*Handler) (*httptest.ResponseRecorder, *seen) {
	t.Helper()
	s := &seen{}
	var next caddyhttp.Handler = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		s.called, s.header = true, r.Header.Clone()
		return nil
	})
	for i := len(hs) - 1; i >= 0; i-- {
		h, after := hs[i], next
		next = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return h.ServeHTTP(w, r, after) })
	}
	rec := httptest.NewRecorder()
	if err := next.ServeHTTP(rec, r); err != nil {
		t.Fatal(err)
	}
	return rec, s
}

func TestTwoDirectivesKeepEachOthersIdentity(t *testing.T) {
	// wechat_oauth /shop/* {…} and wechat_oauth /member/* { header X-Member-OpenID … }
	// in one site: both see every request and strip the default names, and
	// the second must not strip what the first set
	shop := newFixture(t, matchPath("/shop/*"))
	member := newFixture(t, func(h *Handler) {
		matchPath("/member/*")(h)
		h.Header, h.UnionIDHeader = "X-Member-OpenID", "X-Member-UnionID"
		h.storage = shop.storage // the same app, the same cookie key
	})
	session, _ := shop.signIn(t, "/shop/cart", "code-union", false)
	for _, tt := range []struct {
		target string
		want   http.Header
	}{
		{"/shop/cart", http.Header{"X-Wechat-Openid": {testOpenID}, "X-Wechat-Unionid": {testUnion}}},
		{"/member/home", http.Header{"X-Member-Openid": {testOpenID}, "X-Member-Unionid": {testUnion}}},
		{"/api/orders", http.Header{}},
	} {
		for _, order := range [][]*Handler{{shop.h, member.h}, {member.h, shop.h}} {
			r := httptest.NewRequest(http.MethodGet, "http://shop.example"+tt.target, nil)
			r.Header.Set("User-Agent", wechatUA)
			for k, v := range forged {
				r.Header[k] = []string{v}
			}
			r.Header["X-Member-OpenID"] = []string{"victim"}
			r.AddCookie(session)
			ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer())
			ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{})
			ctx = context.WithValue(ctx, caddyhttp.OriginalRequestCtxKey, *r)
			_, next := chain(t, r.WithContext(ctx), order...)
			got := http.Header{}
			all := identity.NewNames(DefaultHeader, DefaultUnionIDHeader, "X-Member-OpenID", "X-Member-UnionID")
			for k, v := range next.header {
				if all.Covers(k) {
					got[k] = v
				}
			}
			if !next.called || len(got) != len(tt.want) {
				t.Errorf("%s, %s first: upstream got %v, want %v", tt.target, order[0].Header, got, tt.want)
				continue
			}
			for k, v := range tt.want {
				if strings.Join(got[k], ",") != strings.Join(v, ",") {
					t.Errorf("%s, %s first: upstream got %v, want %v", tt.target, order[0].Header, got, tt.want)
				}
			}
		}
	}
}
