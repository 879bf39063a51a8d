package jssdk

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-wechat/jssdk/caddymodule/inject"
)

// validHandler is a configuration Validate accepts; cases change one thing.
func validHandler() Handler {
	return Handler{AppID: "wx1234567890abcdef", AppSecret: "{env.WECHAT_APP_SECRET}"}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(h *Handler)
		want   []string // substrings of the error besides "wechat_jssdk"; nil: no error
	}{
		{name: "valid", modify: func(*Handler) {}},
		{name: "valid with every option", modify: func(h *Handler) {
			h.APIBase = "http://127.0.0.1:8080/"
			h.TokenSource = "classic"
			h.JSAPIList = []string{"chooseImage", "updateAppMessageShareData"}
			h.OpenTagList = []string{"wx-open-launch-weapp", "wx_open_x"}
			h.SDKURL = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js?v=2"
			h.Inject = "body"
			h.PublicOrigin = "https://shop.example.com:8443/"
			h.OnError = "fail"
			h.Timeout = caddy.Duration(time.Second)
		}},
		{name: "sdk_url path", modify: func(h *Handler) { h.SDKURL = "/js/jweixin.js" }},
		{name: "sdk_url off", modify: func(h *Handler) { h.SDKURL = "off" }},
		{name: "test-account app_id", modify: func(h *Handler) { h.AppID = "wxTestAccount01" }},

		{name: "missing app_id", modify: func(h *Handler) { h.AppID = "" }, want: []string{"app_id", "required"}},
		{name: "app_id without wx", modify: func(h *Handler) { h.AppID = "ab1234567890abcdef" }, want: []string{"app_id", `"ab1234567890abcdef"`}},
		{name: "app_id only wx", modify: func(h *Handler) { h.AppID = "wx" }, want: []string{"app_id"}},
		{name: "app_id with a dash", modify: func(h *Handler) { h.AppID = "wx-1234" }, want: []string{"app_id"}},
		{name: "app_id with a space", modify: func(h *Handler) { h.AppID = "wx12 34" }, want: []string{"app_id"}},
		{name: "app_id non-ASCII", modify: func(h *Handler) { h.AppID = "wx中文" }, want: []string{"app_id"}},
		{name: "app_id too long", modify: func(h *Handler) { h.AppID = "wx" + strings.Repeat("a", 63) }, want: []string{"app_id"}},
		{name: "app_id placeholder", modify: func(h *Handler) { h.AppID = "{env.APP_ID}" }, want: []string{"app_id"}},
		{name: "missing app_secret", modify: func(h *Handler) { h.AppSecret = "" }, want: []string{"app_secret", "required"}},

		{name: "api_base scheme", modify: func(h *Handler) { h.APIBase = "ftp://api.weixin.qq.com" }, want: []string{"api_base", "scheme"}},
		{name: "api_base no host", modify: func(h *Handler) { h.APIBase = "https://" }, want: []string{"api_base", "host"}},
		{name: "api_base relative", modify: func(h *Handler) { h.APIBase = "/cgi-bin" }, want: []string{"api_base"}},
		{name: "api_base path", modify: func(h *Handler) { h.APIBase = "https://api.weixin.qq.com/cgi-bin" }, want: []string{"api_base", "path"}},
		{name: "api_base query", modify: func(h *Handler) { h.APIBase = "https://api.weixin.qq.com?x=1" }, want: []string{"api_base", "query"}},
		{name: "api_base fragment", modify: func(h *Handler) { h.APIBase = "https://api.weixin.qq.com#x" }, want: []string{"api_base", "fragment"}},
		{name: "api_base user info", modify: func(h *Handler) { h.APIBase = "https://u@api.weixin.qq.com" }, want: []string{"api_base", "user info"}},
		{name: "api_base not a URL", modify: func(h *Handler) { h.APIBase = "http://[::1" }, want: []string{"api_base", "not a URL"}},

		{name: "token_source", modify: func(h *Handler) { h.TokenSource = "Stable" }, want: []string{"token_source", `"Stable"`}},

		{name: "sdk_url scheme", modify: func(h *Handler) { h.SDKURL = "javascript:alert(1)" }, want: []string{"sdk_url"}},
		{name: "sdk_url relative without slash", modify: func(h *Handler) { h.SDKURL = "js/jweixin.js" }, want: []string{"sdk_url"}},
		{name: "sdk_url fragment", modify: func(h *Handler) { h.SDKURL = "https://cdn.example.com/x.js#f" }, want: []string{"sdk_url"}},
		{name: "sdk_url OFF is not off", modify: func(h *Handler) { h.SDKURL = "OFF" }, want: []string{"sdk_url"}},

		{name: "inject", modify: func(h *Handler) { h.Inject = "footer" }, want: []string{"inject", `"footer"`}},
		{name: "on_error", modify: func(h *Handler) { h.OnError = "ignore" }, want: []string{"on_error", `"ignore"`}},

		{name: "public_origin with a path", modify: func(h *Handler) { h.PublicOrigin = "https://shop.example.com/app" }, want: []string{"public_origin", "path"}},
		{name: "public_origin without scheme", modify: func(h *Handler) { h.PublicOrigin = "shop.example.com" }, want: []string{"public_origin"}},
		{name: "public_origin query", modify: func(h *Handler) { h.PublicOrigin = "https://shop.example.com?a" }, want: []string{"public_origin"}},

		{name: "config_endpoint", modify: func(h *Handler) { h.ConfigEndpoint = "/.well-known/wechat-jssdk/config" }},
		{name: "config_endpoint relative", modify: func(h *Handler) { h.ConfigEndpoint = "wx/config" }, want: []string{"config_endpoint", `"wx/config"`}},
		{name: "config_endpoint URL", modify: func(h *Handler) { h.ConfigEndpoint = "https://example.com/c" }, want: []string{"config_endpoint"}},
		{name: "config_endpoint query", modify: func(h *Handler) { h.ConfigEndpoint = "/c?x=1" }, want: []string{"config_endpoint"}},
		{name: "config_endpoint wildcard", modify: func(h *Handler) { h.ConfigEndpoint = "/c/*" }, want: []string{"config_endpoint"}},
		{name: "config_endpoint placeholder", modify: func(h *Handler) { h.ConfigEndpoint = "/{path}" }, want: []string{"config_endpoint"}},
		{name: "config_endpoint escape", modify: func(h *Handler) { h.ConfigEndpoint = "/a%20b" }, want: []string{"config_endpoint"}},
		{name: "config_endpoint markup", modify: func(h *Handler) { h.ConfigEndpoint = "/</script>" }, want: []string{"config_endpoint"}},
		{name: "config_endpoint quote", modify: func(h *Handler) { h.ConfigEndpoint = `/a"b` }, want: []string{"config_endpoint"}},
		{name: "config_endpoint non-ASCII", modify: func(h *Handler) { h.ConfigEndpoint = "/配置" }, want: []string{"config_endpoint"}},

		{name: "negative timeout", modify: func(h *Handler) { h.Timeout = caddy.Duration(-time.Second) }, want: []string{"timeout", "negative"}},

		{name: "bad js_api_list name", modify: func(h *Handler) { h.JSAPIList = []string{"chooseImage", "bad name"} },
			want: []string{"js_api_list", `"bad name"`}},
		{name: "empty js_api_list name", modify: func(h *Handler) { h.JSAPIList = []string{""} },
			want: []string{"js_api_list", `""`}},
		{name: "js_api_list name with markup", modify: func(h *Handler) { h.JSAPIList = []string{"</script>"} },
			want: []string{"js_api_list"}},
		{name: "bad open_tag_list name", modify: func(h *Handler) { h.OpenTagList = []string{"wx-open-launch-weapp", "wx.open"} },
			want: []string{"open_tag_list", `"wx.open"`}},
		{name: "long open_tag_list name", modify: func(h *Handler) { h.OpenTagList = []string{strings.Repeat("x", 65)} },
			want: []string{"open_tag_list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := validHandler()
			tt.modify(&h)
			h.applyDefaults()
			before := h
			err := h.Validate()
			if !reflect.DeepEqual(h, before) {
				t.Errorf("Validate changed the handler:\n%+v\n%+v", before, h)
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, s := range append([]string{"wechat_jssdk: "}, tt.want...) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestProvisionNormalizesPublicOrigin(t *testing.T) {
	h := validHandler()
	h.PublicOrigin = "HTTPS://Shop.Example.COM:443/"
	h.applyDefaults()
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := h.preparePages(); err != nil {
		t.Fatal(err)
	}
	if h.pages.origin != "https://shop.example.com" {
		t.Errorf("origin = %q", h.pages.origin)
	}
}

func TestApplyDefaults(t *testing.T) {
	var h Handler
	h.applyDefaults()
	want := Handler{
		APIBase: h.APIBase, TokenSource: "stable", JSAPIList: DefaultJSAPIList, SDKURL: DefaultSDKURL,
		Inject: "head", OnError: "pass", Timeout: caddy.Duration(DefaultTimeout),
	}
	if h.APIBase == "" || !strings.HasPrefix(h.APIBase, "https://") {
		t.Errorf("APIBase = %q, want the https WeChat API", h.APIBase)
	}
	if err := h.preparePages(); err != nil {
		t.Fatal(err)
	}
	if h.pages.mode != inject.Head || h.pages.failClosed {
		t.Errorf("mode = %v, failClosed = %v", h.pages.mode, h.pages.failClosed)
	}
	h.pages = pageSigner{}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got  %+v\nwant %+v", h, want)
	}

	set := Handler{Inject: "body", OnError: "fail", JSAPIList: []string{}, Timeout: caddy.Duration(time.Second)}
	set.applyDefaults()
	if err := set.preparePages(); err != nil {
		t.Fatal(err)
	}
	if set.pages.mode != inject.Body || !set.pages.failClosed || set.JSAPIList == nil || len(set.JSAPIList) != 0 ||
		set.Timeout != caddy.Duration(time.Second) {
		t.Errorf("explicit values not kept: %+v", set)
	}
}

// An explicitly empty js_api_list (a page that only uses open tags) must
// survive the trip through JSON that every Caddyfile config takes; encoding
// it with omitempty would turn it back into "use the defaults".
func TestEmptyJSAPIListSurvivesJSON(t *testing.T) {
	in := validHandler()
	in.JSAPIList = []string{}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Handler
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	out.applyDefaults()
	if len(out.JSAPIList) != 0 {
		t.Errorf("JSON %s: js_api_list came back as %q", b, out.JSAPIList)
	}
	// and an unset list still gets the defaults, without noise in the JSON
	b, err = json.Marshal(validHandler())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "js_api_list") {
		t.Errorf("unset js_api_list is in the JSON: %s", b)
	}
}

func TestValidateNeverRepeatsUserInfo(t *testing.T) {
	for _, opt := range []string{"api_base", "sdk_url", "public_origin"} {
		h := &Handler{AppID: "wx0123456789abcdef", AppSecret: "s"}
		raw := "https://user:hunter2pass@example.com/"
		switch opt {
		case "api_base":
			h.APIBase = raw
		case "sdk_url":
			h.SDKURL = raw + "x.js"
		case "public_origin":
			h.PublicOrigin = raw
		}
		h.applyDefaults()
		err := h.Validate()
		if err == nil || !strings.Contains(err.Error(), opt) || strings.Contains(err.Error(), "hunter2pass") {
			t.Errorf("%s: error %v", opt, err)
		}
	}
}

func TestValidateRefusesSchemeRelativeSDKURL(t *testing.T) {
	h := &Handler{AppID: "wx0123456789abcdef", AppSecret: "s", SDKURL: "//cdn.example.com/jweixin.js"}
	h.applyDefaults()
	if err := h.Validate(); err == nil || !strings.Contains(err.Error(), "sdk_url") {
		t.Errorf("scheme-relative sdk_url: %v", err)
	}
	h.SDKURL = "/js/jweixin.js"
	if err := h.Validate(); err != nil {
		t.Errorf("a path on this site: %v", err)
	}
}
