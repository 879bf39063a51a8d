package sandbox

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func TestParseCaddyfile(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  Handler
	}{
		{
			name: "all options",
			input: `wechat_sandbox {
				app_id     wx0123456789abcdef
				app_secret {env.WECHAT_SECRET}
				token_ttl  90s
				latency    1d
				allow_origin http://localhost:8080 https://shop.example.com
			}`,
			want: Handler{
				AppID:        "wx0123456789abcdef",
				AppSecret:    "{env.WECHAT_SECRET}",
				TokenTTL:     caddy.Duration(90 * time.Second),
				Latency:      caddy.Duration(24 * time.Hour),
				AllowOrigins: []string{"http://localhost:8080", "https://shop.example.com"},
			},
		},
		{
			name: "defaults left to Provision",
			input: `wechat_sandbox {
				app_secret s
				app_id wx1
			}`,
			want: Handler{AppID: "wx1", AppSecret: "s"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mh, err := ParseCaddyfile(httpcaddyfile.Helper{Dispenser: caddyfile.NewTestDispenser(tc.input)})
			if err != nil {
				t.Fatal(err)
			}
			h, ok := mh.(*Handler)
			if !ok {
				t.Fatalf("got %T, want *Handler", mh)
			}
			if h.AppID != tc.want.AppID || h.AppSecret != tc.want.AppSecret ||
				h.TokenTTL != tc.want.TokenTTL || h.Latency != tc.want.Latency ||
				!slices.Equal(h.AllowOrigins, tc.want.AllowOrigins) {
				t.Fatalf("got %+v, want %+v", *h, tc.want)
			}
		})
	}
}

func TestCaddyfileErrors(t *testing.T) {
	const secretValue = "topsecretvalue"
	block := func(lines ...string) string {
		return "wechat_sandbox {\n" + strings.Join(lines, "\n") + "\n}"
	}
	tests := []struct {
		name, input, want string
	}{
		{"inline argument", "wechat_sandbox " + secretValue + " {\napp_id a\napp_secret s\n}",
			"wechat_sandbox: takes no arguments besides a matcher; put options in a block, at Testfile:1"},
		{"unknown subdirective", block("app_id a", "app_secret s", "ttl 1h"),
			`wechat_sandbox: unrecognized subdirective "ttl", at Testfile:4`},
		{"app_id missing value", block("app_id", "app_secret s"), "wechat_sandbox: app_id: missing value, at Testfile:2"},
		{"app_secret missing value", block("app_id a", "app_secret"), "wechat_sandbox: app_secret: missing value, at Testfile:3"},
		{"token_ttl missing value", block("app_id a", "app_secret s", "token_ttl"), "wechat_sandbox: token_ttl: missing value, at Testfile:4"},
		{"latency missing value", block("app_id a", "app_secret s", "latency"), "wechat_sandbox: latency: missing value, at Testfile:4"},
		{"app_id extra argument", block("app_id a b", "app_secret s"), "wechat_sandbox: app_id: takes exactly one value, at Testfile:2"},
		{"app_secret extra argument", block("app_id a", "app_secret s "+secretValue), "wechat_sandbox: app_secret: takes exactly one value, at Testfile:3"},
		{"token_ttl extra argument", block("app_id a", "app_secret s", "token_ttl 1h 2h"), "wechat_sandbox: token_ttl: takes exactly one value, at Testfile:4"},
		{"latency extra argument", block("app_id a", "app_secret s", "latency 1s 2s"), "wechat_sandbox: latency: takes exactly one value, at Testfile:4"},
		{"token_ttl bad duration", block("app_id a", "app_secret s", "token_ttl x"), `wechat_sandbox: token_ttl: invalid duration "x", at Testfile:4`},
		{"latency bad duration", block("app_id a", "app_secret s", "latency 5"), `wechat_sandbox: latency: invalid duration "5", at Testfile:4`},
		{"token_ttl too short", block("app_id a", "app_secret s", "token_ttl 500ms"), "wechat_sandbox: token_ttl: must be at least 1s, got 500ms, at Testfile:4"},
		{"token_ttl negative", block("app_id a", "app_secret s", "token_ttl -1h"), "wechat_sandbox: token_ttl: must be at least 1s, got -1h0m0s, at Testfile:4"},
		{"latency negative", block("app_id a", "app_secret s", "latency -1s"), "wechat_sandbox: latency: must not be negative, got -1s, at Testfile:4"},
		{"duplicate option", block("app_id a", "app_secret s", "app_id b"), "wechat_sandbox: app_id: specified more than once, at Testfile:4"},
		{"allow_origin missing value", block("app_id a", "app_secret s", "allow_origin"), "wechat_sandbox: allow_origin: missing value, at Testfile:4"},
		{"allow_origin wildcard", block("app_id a", "app_secret s", "allow_origin *"), `wechat_sandbox: allow_origin: "*": scheme must be http or https, at Testfile:4`},
		{"allow_origin with a path", block("app_id a", "app_secret s", "allow_origin http://a.test http://b.test/x"), `wechat_sandbox: allow_origin: "http://b.test/x" must be an origin without a path, at Testfile:4`},
		{"allow_origin trailing slash", block("app_id a", "app_secret s", "allow_origin http://a.test/"), `wechat_sandbox: allow_origin: "http://a.test/": an origin has no trailing slash (scheme://host[:port]), at Testfile:4`},
		{"allow_origin twice", block("app_id a", "app_secret s", "allow_origin http://a.test", "allow_origin http://b.test"), "wechat_sandbox: allow_origin: specified more than once, at Testfile:5"},
		{"no app_id", block("app_secret s"), "wechat_sandbox: app_id is required, at Testfile:3"},
		{"no app_secret", block("app_id a"), "wechat_sandbox: app_secret is required, at Testfile:3"},
		{"no block", "wechat_sandbox", "wechat_sandbox: app_id is required, at Testfile:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v\nwant    %s", err, tc.want)
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Fatalf("error reveals a secret: %v", err)
			}
			if _, perr := ParseCaddyfile(httpcaddyfile.Helper{Dispenser: caddyfile.NewTestDispenser(tc.input)}); perr == nil {
				t.Fatal("ParseCaddyfile accepted what UnmarshalCaddyfile refused")
			}
		})
	}
}
