package oauth

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  Handler
	}{
		{"minimal", `wechat_oauth {
			app_id wx0123456789abcdef
			app_secret {env.WECHAT_APP_SECRET}
		}`, Handler{AppID: testAppID, AppSecret: "{env.WECHAT_APP_SECRET}"}},
		{"every option", `wechat_oauth {
			app_id         wx0123456789abcdef
			app_secret     {file./run/secrets/wechat}
			scope          snsapi_userinfo
			api_base       http://127.0.0.1:9081
			authorize_url  http://127.0.0.1:9081/connect/oauth2/authorize
			callback_path  /auth/wechat/callback
			header         X-User-OpenID X-User-UnionID
			cookie_name    shop_session
			max_age        12h
			outside_wechat deny
		}`, Handler{AppID: testAppID, AppSecret: "{file./run/secrets/wechat}", Scope: ScopeUserInfo,
			APIBase: "http://127.0.0.1:9081", AuthorizeURL: "http://127.0.0.1:9081/connect/oauth2/authorize",
			CallbackPath: "/auth/wechat/callback", Header: "X-User-OpenID", UnionIDHeader: "X-User-UnionID",
			CookieName: "shop_session", MaxAge: caddy.Duration(12 * time.Hour), OutsideWeChat: OutsideDeny}},
		{"header alone, days", `wechat_oauth {
			app_id wx0123456789abcdef
			app_secret s
			header X-OpenID
			max_age 30d
		}`, Handler{AppID: testAppID, AppSecret: "s", Header: "X-OpenID", MaxAge: caddy.Duration(30 * 24 * time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input)); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h, tt.want) {
				t.Errorf("got  %+v\nwant %+v", h, tt.want)
			}
		})
	}
}

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	const secret = "literal-secret-canary"
	block := func(lines ...string) string {
		return "wechat_oauth {\n" + strings.Join(lines, "\n") + "\n}"
	}
	base := []string{"app_id wx0123456789abcdef", "app_secret " + secret}
	tests := []struct {
		name, input, want string
	}{
		{"argument", "wechat_oauth " + secret + " {\n}", "takes no arguments besides a matcher"},
		{"unknown option", block(append(base, "scopes snsapi_base")...), `unknown option "scopes"`},
		{"missing value", block(append(base, "scope")...), "scope: missing value"},
		{"two values", block(append(base, "scope snsapi_base snsapi_userinfo")...), "scope: takes exactly one value"},
		{"secret twice", block("app_id wx0123456789abcdef", "app_secret "+secret, "app_secret "+secret+"2"), "app_secret: given more than once"},
		{"secret two values", block("app_id wx0123456789abcdef", "app_secret "+secret+" "+secret), "app_secret: takes exactly one value"},
		{"three headers", block(append(base, "header A B C")...), "header: takes the openid header"},
		{"no app_id", block("app_secret " + secret), "app_id is required"},
		{"bad app_id", block("app_id 0123", "app_secret "+secret), "is not a WeChat AppID"},
		{"no secret", block("app_id wx0123456789abcdef"), "app_secret is required"},
		{"scope", block(append(base, "scope snsapi_login")...), `scope: "snsapi_login" is not snsapi_base or snsapi_userinfo`},
		{"api_base relative", block(append(base, "api_base /wechat")...), "api_base: \"/wechat\" is not an http:// or https:// URL"},
		{"api_base query", block(append(base, "api_base https://api.example/?a=1")...), "api_base: \"https://api.example/?a=1\" must have no query or fragment"},
		{"authorize_url fragment", block(append(base, "authorize_url https://open.example/authorize#wechat_redirect")...), "authorize_url: \"https://open.example/authorize#wechat_redirect\" must have no query or fragment"},
		{"authorize_url no host", block(append(base, "authorize_url https:///authorize")...), "has no host"},
		{"callback relative", block(append(base, "callback_path callback")...), "callback_path: \"callback\" is not a path"},
		{"callback query", block(append(base, "callback_path /cb?x=1")...), "callback_path"},
		{"callback protocol-relative", block(append(base, "callback_path //cb")...), "callback_path"},
		{"header", block(append(base, "header X(OpenID)")...), `header: "X(OpenID)" is not a header name`},
		{"same headers", block(append(base, "header X-A x_a")...), "the openid and unionid headers are both"},
		{"cookie name", block(append(base, "cookie_name a=b")...), `cookie_name: "a=b" is not a cookie name`},
		{"max_age bad", block(append(base, "max_age forever")...), `max_age: "forever" is not a duration`},
		{"max_age zero", block(append(base, "max_age 0s")...), "max_age"},
		{"max_age too long", block(append(base, "max_age 401d")...), "max_age: 9624h0m0s is not from 1s to 400d"},
		{"outside_wechat", block(append(base, "outside_wechat redirect")...), `outside_wechat: "redirect" is not pass or deny`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "wechat_oauth") {
				t.Errorf("error %q does not name the directive", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	// what the JSON config can say that the Caddyfile adapter would refuse;
	// Validate sees it as Caddy hands it over: provisioned, so defaulted
	for name, tc := range map[string]struct {
		h   Handler
		opt string // the option the error names
	}{
		"max_age negative":  {Handler{AppID: testAppID, AppSecret: "s", MaxAge: -1}, "max_age"},
		"max_age under 1s":  {Handler{AppID: testAppID, AppSecret: "s", MaxAge: caddy.Duration(time.Millisecond)}, "max_age"},
		"unionid header":    {Handler{AppID: testAppID, AppSecret: "s", UnionIDHeader: "x y"}, "unionid_header"},
		"unionid = default": {Handler{AppID: testAppID, AppSecret: "s", UnionIDHeader: "X-WeChat-OpenID"}, "header"},
		"long cookie name":  {Handler{AppID: testAppID, AppSecret: "s", CookieName: strings.Repeat("c", maxCookieName+1)}, "cookie_name"},
		"api_base userinfo": {Handler{AppID: testAppID, AppSecret: "s", APIBase: "https://u:p@api.example"}, "api_base"},
	} {
		tc.h.applyDefaults()
		before := tc.h
		if err := tc.h.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		} else if !strings.Contains(err.Error(), "wechat_oauth: "+tc.opt+":") {
			t.Errorf("%s: error %q does not name %s", name, err, tc.opt)
		}
		if !reflect.DeepEqual(tc.h, before) {
			t.Errorf("%s: Validate changed the handler", name)
		}
	}
	// the defaults themselves pass, and Validate only reads
	ok := Handler{AppID: testAppID, AppSecret: "s"}
	ok.applyDefaults()
	before := ok
	if err := ok.Validate(); err != nil || !reflect.DeepEqual(ok, before) {
		t.Errorf("the defaults: Validate = %v, handler %+v", err, ok)
	}
}

func TestProvisionSecret(t *testing.T) {
	t.Setenv("JSSDK_OAUTH_SECRET", " from-env\n")
	for _, tt := range []struct {
		secret, want, wantErr string
	}{
		{"{env.JSSDK_OAUTH_SECRET}", "from-env", ""},
		{"{env.JSSDK_OAUTH_UNSET}", "", "app_secret"},
		{"{file./nonexistent/secret}", "", "app_secret"},
	} {
		h := &Handler{AppID: testAppID, AppSecret: tt.secret, storage: newMemStorage()}
		err := provision(t, h)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err %v", tt.secret, err)
			}
			continue
		}
		if err != nil || h.secret != tt.want {
			t.Errorf("%s: secret %q err %v", tt.secret, h.secret, err)
		}
	}
}

func TestProvisionDefaults(t *testing.T) {
	h := &Handler{AppID: testAppID, AppSecret: "s", storage: newMemStorage()}
	if err := provision(t, h); err != nil {
		t.Fatal(err)
	}
	if h.Scope != ScopeBase || h.APIBase != "https://api.weixin.qq.com" || h.AuthorizeURL != DefaultAuthorizeURL ||
		h.CallbackPath != DefaultCallbackPath || h.Header != DefaultHeader || h.UnionIDHeader != DefaultUnionIDHeader ||
		time.Duration(h.MaxAge) != 7*24*time.Hour || h.OutsideWeChat != OutsidePass || h.CookieName != "" {
		t.Errorf("defaults %+v", h)
	}
}
