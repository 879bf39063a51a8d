package integration_test

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// validate does what `caddy validate` does with a Caddyfile: adapt, then
// load and provision without starting servers.
func validate(caddyfile string) error {
	adapter := caddyconfig.GetAdapter("caddyfile")
	js, _, err := adapter.Adapt([]byte(caddyfile), nil)
	if err != nil {
		return err
	}
	var cfg caddy.Config
	if err := caddy.StrictUnmarshalJSON(js, &cfg); err != nil {
		return err
	}
	return caddy.Validate(&cfg)
}

func TestValidateNamesDirectiveAndOption(t *testing.T) {
	t.Setenv("JSSDK_EMPTY", "")
	site := func(body string) string {
		return "{\n\tadmin off\n}\nhttp://localhost:9099 {\n" + body + "\n\trespond ok\n}\n"
	}
	jssdk := func(opts string) string {
		return site("\twechat_jssdk {\n" + opts + "\n\t}")
	}
	ok := "app_id wx0123456789abcdef\n app_secret s3cr3t-value\n"
	for _, tc := range []struct {
		name, caddyfile string
		want            []string
	}{
		{"missing app_id", jssdk("app_secret x"), []string{"wechat_jssdk", "app_id", "required"}},
		{"missing app_secret", jssdk("app_id wx0123456789abcdef"), []string{"wechat_jssdk", "app_secret", "required"}},
		{"bad app_id", jssdk("app_id 12345\napp_secret x"), []string{"wechat_jssdk", "app_id"}},
		{"unknown option", jssdk(ok + "colour blue"), []string{"wechat_jssdk", "colour"}},
		{"missing value", jssdk(ok + "api_base"), []string{"wechat_jssdk", "api_base", "missing"}},
		{"bad api_base", jssdk(ok + "api_base ftp://example.com"), []string{"wechat_jssdk", "api_base"}},
		{"bad timeout", jssdk(ok + "timeout soon"), []string{"wechat_jssdk", "timeout", "soon"}},
		{"bad token_source", jssdk(ok + "token_source magic"), []string{"wechat_jssdk", "token_source", "magic"}},
		{"bad inject", jssdk(ok + "inject footer"), []string{"wechat_jssdk", "inject", "footer"}},
		{"bad on_error", jssdk(ok + "on_error shrug"), []string{"wechat_jssdk", "on_error", "shrug"}},
		{"bad public_origin", jssdk(ok + "public_origin https://x.example/path"), []string{"wechat_jssdk", "public_origin"}},
		{"bad sdk_url", jssdk(ok + "sdk_url javascript:alert(1)"), []string{"wechat_jssdk", "sdk_url"}},
		{"empty secret placeholder", jssdk("app_id wx0123456789abcdef\napp_secret {env.JSSDK_EMPTY}"), []string{"wechat_jssdk", "app_secret"}},
		{"sandbox missing app_id", site("\twechat_sandbox {\n\t\tapp_secret x\n\t}"), []string{"wechat_sandbox", "app_id"}},
		{"sandbox bad token_ttl", site("\twechat_sandbox {\n\t\tapp_id wx1\n\t\tapp_secret x\n\t\ttoken_ttl forever\n\t}"), []string{"wechat_sandbox", "token_ttl"}},
		{"sandbox agents with one secret", site("\twechat_sandbox {\n\t\tapp_id wx1\n\t\tapp_secret x\n\t\tcorp_id ww1\n\t\tagent 1 s3cr3t-value\n\t\tagent 2 s3cr3t-value\n\t}"),
			[]string{"wechat_sandbox", "agents", "agent 2", "same secret"}},
		{"sandbox agent secret empty", site("\twechat_sandbox {\n\t\tapp_id wx1\n\t\tapp_secret x\n\t\tcorp_id ww1\n\t\tagent 7 {env.JSSDK_EMPTY}\n\t}"),
			[]string{"wechat_sandbox", "agent 7"}},
		{"sandbox corp_id is app_id", site("\twechat_sandbox {\n\t\tapp_id wx1\n\t\tapp_secret x\n\t\tcorp_id wx1\n\t\tagent 1 y\n\t}"),
			[]string{"wechat_sandbox", "corp_id", "app_id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(tc.caddyfile)
			if err == nil {
				t.Fatalf("config validated:\n%s", tc.caddyfile)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t-value") {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
	if err := validate(jssdk(ok)); err != nil {
		t.Errorf("a good config fails: %v", err)
	}
}
