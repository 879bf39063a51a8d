package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestIsPlaceholder(t *testing.T) {
	for s, want := range map[string]bool{
		"{env.SECRET}":         true,
		"{file./run/secret}":   true,
		"{}":                   true,
		"literal":              false,
		"":                     false,
		"pre-{env.SECRET}":     false,
		"{env.SECRET}-post":    false,
		"{env.A}{env.B}":       true, // starts and ends with braces: no literal text around
		"{unterminated":        false,
		"terminated}":          false,
		" {env.SECRET}":        false,
		"{env.SECRET}\n":       false,
		"s3cr3t{not-a-secret}": false,
	} {
		if got := IsPlaceholder(s); got != want {
			t.Errorf("IsPlaceholder(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestResolveSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("  s3cr3t-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JSSDK_TEST_SECRET", "s3cr3t-from-env")
	t.Setenv("JSSDK_TEST_EMPTY", "")
	t.Setenv("JSSDK_TEST_BLANK", " \n")
	tests := []struct {
		raw, want string
		wantErr   string // besides "wechat_x: opt: "
	}{
		{raw: "literal-secret", want: "literal-secret"},
		{raw: "{env.JSSDK_TEST_SECRET}", want: "s3cr3t-from-env"},
		{raw: "{file." + file + "}", want: "s3cr3t-from-file"},
		{raw: "pre-{env.JSSDK_TEST_SECRET}", want: "pre-s3cr3t-from-env"},
		{raw: "  padded  ", want: "padded"},
		// the replacer itself refuses an empty placeholder, naming it
		{raw: "{env.JSSDK_TEST_EMPTY}", wantErr: "{env.JSSDK_TEST_EMPTY}"},
		{raw: "{file." + empty + "}", wantErr: "{file." + empty + "}"},
		// what the replacer leaves blank is still no secret
		{raw: "   ", wantErr: "resolves to an empty value"},
		{raw: " {env.JSSDK_TEST_BLANK} ", wantErr: "resolves to an empty value"},
		{raw: "{env.JSSDK_TEST_UNSET_98765}", wantErr: "{env.JSSDK_TEST_UNSET_98765}"},
		{raw: "{file." + filepath.Join(dir, "missing") + "}", wantErr: " "},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := ResolveSecret("wechat_x", "opt", tt.raw)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ResolveSecret(%q) = %q, want an error", tt.raw, got)
				}
				if !strings.HasPrefix(err.Error(), "wechat_x: opt: ") || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q: want it to start with wechat_x: opt: and contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ResolveSecret(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
			}
		})
	}
}

// TestResolveSecretNeverQuotesAValue: whatever fails, the error carries no
// part of a value that did resolve.
func TestResolveSecretNeverQuotesAValue(t *testing.T) {
	t.Setenv("JSSDK_TEST_SECRET", "s3cr3t-canary")
	_, err := ResolveSecret("wechat_x", "opt", "{env.JSSDK_TEST_SECRET}{env.JSSDK_TEST_UNSET_98765}")
	if err == nil || strings.Contains(err.Error(), "s3cr3t-canary") {
		t.Errorf("error %v", err)
	}
}

func TestContextStorage(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if st := ContextStorage(ctx); st != nil {
		t.Errorf("a context without a config has storage %T", st)
	}
}

func TestCheckHTTPURL(t *testing.T) {
	tests := []struct {
		raw       string
		allowPath bool
		want      string // a part of the error; "" for none
	}{
		{raw: "https://api.weixin.qq.com"},
		{raw: "http://127.0.0.1:8080/"},
		{raw: "https://api.weixin.qq.com/cgi-bin", want: "path"},
		{raw: "https://api.weixin.qq.com/cgi-bin", allowPath: true},
		{raw: "https://tokens.example/v1/token?key=x", allowPath: true},
		{raw: "https://api.weixin.qq.com?x=1", want: "query"},
		{raw: "https://api.weixin.qq.com#x", want: "fragment"},
		{raw: "https://cdn.example.com/x.js#f", allowPath: true, want: "fragment"},
		{raw: "ftp://api.weixin.qq.com", want: "scheme"},
		{raw: "javascript:alert(1)", allowPath: true, want: "scheme"},
		{raw: "/cgi-bin", want: "scheme"},
		{raw: "//cdn.example.com/x.js", allowPath: true, want: "scheme"},
		{raw: "https://", want: "host"},
		{raw: "http://[::1", want: "not a URL"},
		{raw: "https://u@api.weixin.qq.com", want: "user info"},
		{raw: "", want: "scheme"},
	}
	for _, tt := range tests {
		err := CheckHTTPURL(tt.raw, tt.allowPath)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckHTTPURL(%q, %v) = %v", tt.raw, tt.allowPath, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckHTTPURL(%q, %v) = %v, want an error about %s", tt.raw, tt.allowPath, err, tt.want)
		}
	}
}

// TestCheckHTTPURLHidesUserInfo: a URL with user info is not repeated, its
// password with it.
func TestCheckHTTPURLHidesUserInfo(t *testing.T) {
	for _, allowPath := range []bool{false, true} {
		err := CheckHTTPURL("https://user:hunter2pass@example.com/x?y", allowPath)
		if err == nil || strings.Contains(err.Error(), "hunter2pass") || strings.Contains(err.Error(), "user:") {
			t.Errorf("allowPath %v: error %v", allowPath, err)
		}
	}
}

func TestValidHeaderName(t *testing.T) {
	for s, want := range map[string]bool{
		"Authorization":             true,
		"X-Api-Key":                 true,
		"x_api_key":                 true,
		"!#$%&'*+-.^_`|~09AZaz":     true,
		strings.Repeat("h", 128):    true,
		strings.Repeat("h", 129):    false,
		"":                          false,
		"X Api":                     false,
		"X-Api:":                    false,
		"X(OpenID)":                 false,
		"X-Api\r\nInjected: 1":      false,
		"Schlüssel":                 false,
		"a=b":                       false,
		"\"quoted\"":                false,
		"X/Y":                       false,
		"X-Tab\t":                   false,
		"X-Del\x7f":                 false,
		"{env.HEADER}":              false,
		strings.Repeat("h", 1<<10):  false,
		"X-WeChat-OpenID":           true,
		"__Host-wechat_oauth":       true,
		"wechat_oauth_state":        true,
		"X-Very-Long-But-Fine-Name": true,
	} {
		if got := ValidHeaderName(s); got != want {
			t.Errorf("ValidHeaderName(%.40q) = %v, want %v", s, got, want)
		}
		// ValidToken is the same test without the length bound
		if got, wantToken := ValidToken(s), want || len(s) > 128 && strings.Trim(s, "h") == ""; got != wantToken {
			t.Errorf("ValidToken(%.40q) = %v, want %v", s, got, wantToken)
		}
	}
}

func TestValidPathChars(t *testing.T) {
	for p, want := range map[string]bool{
		"/.well-known/wechat-jssdk/config": true,
		"/a/b_c~d!e$f&g(h)*+,;=:@":         true,
		"":                                 true, // the caller checks the leading '/'
		"/a b":                             false,
		"/a\tb":                            false,
		"/a\x00":                           false,
		"/a\x7f":                           false,
		"/配置":                              false,
		"/a%20b":                           false,
		"/</script>":                       false,
		`/a"b`:                             false,
		"/a'b":                             false,
		`/a\b`:                             false,
	} {
		if got := ValidPathChars(p); got != want {
			t.Errorf("ValidPathChars(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestSingleArg(t *testing.T) {
	for _, tc := range []struct {
		directive, block, want, err string
	}{
		{"wechat_pay", "opt v", "v", ""},
		{"wechat_pay", "opt", "", "wechat_pay: opt: missing value"},
		{"wechat_pay", "opt v SECRET", "", "wechat_pay: opt: takes exactly one value"},
		{"wechat_jssdk", "opt v SECRET", "", "wechat_jssdk: opt: takes one value, got more (not repeated here: it may be a secret)"},
	} {
		d := caddyfile.NewTestDispenser(tc.block)
		d.Next()
		got, err := SingleArg(d, tc.directive, "opt")
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%s %q: got %q, %v", tc.directive, tc.block, got, err)
		case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
			t.Errorf("%s %q: error %v, want %q", tc.directive, tc.block, err, tc.err)
		case err != nil && strings.Contains(err.Error(), "SECRET"):
			t.Errorf("the error repeats the value: %v", err)
		}
	}
}

func TestCheckWeComApp(t *testing.T) {
	for _, tt := range []struct {
		corp, agent, secret, want string
	}{
		{"ww0123456789abcdef", "1000002", "{env.S}", ""},
		{"", "1000002", "s", "d: corp_id is required"},
		{"ww0123456789abcdef", "", "s", "d: agent_id is required"},
		{"ww0123456789abcdef", "1000002", "", "d: corp_secret is required"},
		{"wwSECRETLOOKINGVALUE_", "1000002", "s", "d: corp_id: "},
		{"ww0123456789abcdef", "01000002", "s", "d: agent_id: not an AgentId"},
	} {
		err := CheckWeComApp("d", tt.corp, tt.agent, tt.secret)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%q %q: %v", tt.corp, tt.agent, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q %q: error %v, want %q…", tt.corp, tt.agent, err, tt.want)
		}
		if err != nil && (tt.corp != "" && strings.Contains(err.Error(), tt.corp) || strings.Contains(err.Error(), "01000002")) {
			t.Errorf("%q %q: error repeats a value: %v", tt.corp, tt.agent, err)
		}
	}
}
