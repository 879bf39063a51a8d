package integration_test

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// FuzzCaddyfileDirectives feeds arbitrary option blocks to each directive's
// Caddyfile unmarshaler through the real adapter. Whatever the input: no
// panic, and a refused block is refused with an error that names where it
// is, never with the value given to a secret option.
func FuzzCaddyfileDirectives(f *testing.F) {
	directives := []string{"wechat_jssdk", "wechat_pay", "wechat_oauth", "wechat_sandbox"}
	seeds := []string{
		"app_id wx0123456789abcdef\napp_secret SECRETVALUE",
		"app_id wx0123456789abcdef\napp_secret SECRETVALUE\njs_api_list\nopen_tag_list a b\ndebug\ninject body",
		"app_id wx0123456789abcdef\napi_key SECRETVALUE\nsign_type HMAC-SHA256\nmax_body 512KiB",
		"app_id wx1\napp_secret SECRETVALUE\ntimeout -1s\nconfig_endpoint /x?y",
		"app_id wx1 SECRETVALUE\n}\n{",
		"scope snsapi_userinfo\nmax_age 7d\noutside_wechat deny\napp_secret SECRETVALUE",
		"token_source url https://t.example/x\ntoken_header Authorization SECRETVALUE",
		"storage file_system /tmp/x\napp_secret \"SECRET VALUE\"",
	}
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	f.Fuzz(func(t *testing.T, which uint8, block string) {
		dir := directives[int(which)%len(directives)]
		cfg := "{\n\tadmin off\n}\nhttp://localhost:9099 {\n\t" + dir + " {\n" + block + "\n\t}\n\trespond ok\n}\n"
		_, _, err := adapter.Adapt([]byte(cfg), nil)
		if err == nil {
			return
		}
		msg := err.Error()
		if strings.Contains(msg, "SECRETVALUE") && strings.Contains(block, "app_secret SECRETVALUE") &&
			!strings.Contains(block, "SECRETVALUE SECRETVALUE") {
			// the value of app_secret must not be echoed; other tokens
			// (an option name that happens to be the same text) may be
			t.Errorf("%s: error repeats a secret: %s", dir, msg)
		}
	})
}
