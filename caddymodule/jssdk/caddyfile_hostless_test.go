package jssdk

import (
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	_ "github.com/caddyserver/caddy/v2/modules/standard" // respond, route, handle
)

var registerOnce sync.Once

// adaptCaddyfile adapts a Caddyfile with the wechat_jssdk directive and
// returns what ParseDirective logged. The plugin's root package registers
// the directive; this package's tests do it themselves.
func adaptCaddyfile(t *testing.T, cf string) []observer.LoggedEntry {
	t.Helper()
	registerOnce.Do(func() { httpcaddyfile.RegisterDirective("wechat_jssdk", ParseDirective) })
	core, logs := observer.New(zapcore.DebugLevel)
	saved := adaptLogger
	adaptLogger = func() *zap.Logger { return zap.New(core) }
	t.Cleanup(func() { adaptLogger = saved })
	adapter := caddyfile.Adapter{ServerType: httpcaddyfile.ServerType{}}
	if _, _, err := adapter.Adapt([]byte(cf), nil); err != nil {
		t.Fatalf("adapt: %v", err)
	}
	return logs.All()
}

// TestHostlessSiteWarning: config_endpoint without public_origin in a site
// whose address names no host is warned about at adapt time, naming the
// addresses and the directive's place. It also pins the reflection that
// reads the site's addresses on the Caddy version go.mod requires.
func TestHostlessSiteWarning(t *testing.T) {
	const head = "{\n\torder wechat_jssdk before respond\n}\n"
	directive := func(matcher, opts string) string {
		return "wechat_jssdk " + matcher + " {\n\t\tapp_id wx1234567890abcdef\n" +
			"\t\tapp_secret {env.WECHAT_APP_SECRET}\n\t\t" + opts + "\n\t}\n"
	}
	site := func(addrs, opts string) string {
		return head + addrs + " {\n\t" + directive("", opts) + "\trespond \"ok\"\n}\n"
	}
	const ep = "config_endpoint /.well-known/wechat-jssdk/config"
	tests := []struct {
		name, caddyfile string
		warn            []string // the addresses named; nil: no warning
	}{
		{name: "port only", caddyfile: site(":8080", ep), warn: []string{":8080"}},
		{name: "scheme and port", caddyfile: site("http://:8080", ep), warn: []string{"http://:8080"}},
		{name: "scheme only", caddyfile: site("http://", ep), warn: []string{"http://"}},
		{name: "one of several addresses", caddyfile: site("http://shop.example.com:8080, :9090", ep), warn: []string{":9090"}},
		{name: "with a matcher", caddyfile: head + ":8080 {\n\t" + directive("/pay/*", ep) + "\trespond \"ok\"\n}\n",
			warn: []string{":8080"}},
		{name: "inside a handle block", caddyfile: head + ":8080 {\n\thandle /app/* {\n\t" + directive("", ep) +
			"\t\trespond \"ok\"\n\t}\n}\n", warn: []string{":8080"}},
		{name: "concrete host", caddyfile: site("http://localhost:8080", ep)},
		{name: "IP address", caddyfile: site("http://127.0.0.1:8080", ep)},
		{name: "wildcard subdomain", caddyfile: site("http://*.example.com:8080", ep)},
		{name: "public_origin set", caddyfile: site(":8080", ep+"\n\t\tpublic_origin https://shop.example.com")},
		{name: "no config_endpoint", caddyfile: site(":8080", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := adaptCaddyfile(t, tt.caddyfile)
			if tt.warn == nil {
				if len(logs) != 0 {
					t.Errorf("unexpected log: %v", logs)
				}
				return
			}
			if len(logs) != 1 || logs[0].Level != zapcore.WarnLevel || !strings.Contains(logs[0].Message, "public_origin") {
				t.Fatalf("want one warning about public_origin, got %v", logs)
			}
			f := logs[0].ContextMap()
			if got, _ := f["site_addresses"].([]any); len(got) != len(tt.warn) || got[0] != tt.warn[0] {
				t.Errorf("site_addresses %v, want %v", f["site_addresses"], tt.warn)
			}
			if f["config_endpoint"] != "/.well-known/wechat-jssdk/config" || f["line"] == nil || f["line"].(int64) < 2 {
				t.Errorf("fields %v", f)
			}
		})
	}
}
