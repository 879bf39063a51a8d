package jssdk

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	// Every case has the two required options; body holds the rest.
	const required = "\tapp_id wx1234567890abcdef\n\tapp_secret {env.WECHAT_APP_SECRET}\n"
	tests := []struct {
		name string
		body string
		want Handler // AppID and AppSecret are filled in
	}{
		{name: "minimal"},
		{
			name: "every option",
			body: `
				app_secret    {file./run/secrets/wechat}
				api_base      http://127.0.0.1:9000
				token_source  classic
				js_api_list   chooseImage scanQRCode chooseWXPay
				open_tag_list wx-open-launch-weapp wx-open-subscribe
				debug
				sdk_url       /static/jweixin-1.6.0.js
				inject        body
				public_origin https://shop.example.com
				on_error      fail
				timeout       2500ms
				config_endpoint /.well-known/wechat-jssdk/config`,
			want: Handler{
				AppSecret:      "{file./run/secrets/wechat}",
				APIBase:        "http://127.0.0.1:9000",
				TokenSource:    "classic",
				JSAPIList:      []string{"chooseImage", "scanQRCode", "chooseWXPay"},
				OpenTagList:    []string{"wx-open-launch-weapp", "wx-open-subscribe"},
				Debug:          true,
				SDKURL:         "/static/jweixin-1.6.0.js",
				Inject:         "body",
				PublicOrigin:   "https://shop.example.com",
				OnError:        "fail",
				Timeout:        caddy.Duration(2500 * time.Millisecond),
				ConfigEndpoint: "/.well-known/wechat-jssdk/config",
			},
		},
		{
			name: "empty lists are explicit and kept",
			body: "js_api_list\nopen_tag_list",
			want: Handler{JSAPIList: []string{}, OpenTagList: []string{}},
		},
		{
			name: "sdk_url off, day-long timeout",
			body: "sdk_url off\ntimeout 1d",
			want: Handler{SDKURL: "off", Timeout: caddy.Duration(24 * time.Hour)},
		},
		{
			name: "a later value replaces an earlier one",
			body: "inject body\ninject head\njs_api_list a b\njs_api_list c",
			want: Handler{Inject: "head", JSAPIList: []string{"c"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Handler
			input := "wechat_jssdk {\n" + required + tt.body + "\n}"
			if err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
				t.Fatalf("UnmarshalCaddyfile: %v", err)
			}
			want := tt.want
			want.AppID = testAppID
			if want.AppSecret == "" {
				want.AppSecret = "{env.WECHAT_APP_SECRET}"
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string // substrings of the error, besides "wechat_jssdk"
	}{
		{"argument on the directive line", "wechat_jssdk wx1234 {\n}", []string{"takes no arguments besides a matcher"}},
		{"misplaced secret is not echoed", "wechat_jssdk {\n app_id app_secret S3CRET\n}", []string{"app_id:", "one value"}},
		{"unknown option", "wechat_jssdk {\n app_key x\n}", []string{"unknown option", `"app_key"`}},
		{"debug with a value", "wechat_jssdk {\n debug true\n}", []string{"debug", "no argument"}},
		{"bad duration", "wechat_jssdk {\n timeout soon\n}", []string{"timeout", "invalid duration", `"soon"`}},
		{"zero duration", "wechat_jssdk {\n timeout 0s\n}", []string{"timeout", "positive"}},
		{"negative duration", "wechat_jssdk {\n timeout -1s\n}", []string{"timeout", "positive"}},
		{"missing timeout", "wechat_jssdk {\n timeout\n}", []string{"timeout", "missing value"}},
		{"extra timeout", "wechat_jssdk {\n timeout 1s 2s\n}", []string{"timeout", "one value"}},
		{"error carries the line", "wechat_jssdk {\n app_id wx1\n\n bogus\n}", []string{"bogus", ":4"}},
	}
	for _, opt := range []string{"app_id", "app_secret", "api_base", "token_source", "sdk_url", "inject", "public_origin", "on_error", "config_endpoint"} {
		tests = append(tests,
			struct {
				name  string
				input string
				want  []string
			}{opt + " missing value", "wechat_jssdk {\n " + opt + "\n}", []string{opt + ":", "missing value"}},
			struct {
				name  string
				input string
				want  []string
			}{opt + " extra value", "wechat_jssdk {\n " + opt + " a b\n}", []string{opt + ":", "one value"}},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range append([]string{"wechat_jssdk"}, tt.want...) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "S3CRET") {
				t.Errorf("error %q repeats a misplaced value", err)
			}
		})
	}
}
