package config

import (
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestWarnPlainHTTP(t *testing.T) {
	const secret = "s3cr3t-pw" // stands for what a URL's user info, path or query might carry
	tests := []struct {
		name, raw string
		level     zapcore.Level // the entry's level; 0 with url "" for none
		url       string        // the logged url field; "" when nothing is logged
	}{
		{"https", "https://api.weixin.qq.com", 0, ""},
		{"https upper case", "HTTPS://api.weixin.qq.com", 0, ""},
		{"empty (option unused)", "", 0, ""},
		{"unparsable", "http://[::1", 0, ""},
		{"no host", "http:///path", 0, ""},
		{"other scheme", "ftp://example.com", 0, ""},
		{"plain http", "http://api.example.com", zapcore.WarnLevel, "http://api.example.com"},
		{"plain http upper case", "HTTP://API.example.com:8080", zapcore.WarnLevel, "http://API.example.com:8080"},
		{"plain http with a path and query", "http://gw.example.com/wechat/token?key=" + secret, zapcore.WarnLevel, "http://gw.example.com"},
		{"plain http with user info", "http://admin:" + secret + "@gw.example.com:81/x", zapcore.WarnLevel, "http://gw.example.com:81"},
		{"plain http to a LAN address", "http://10.0.0.5:8081", zapcore.WarnLevel, "http://10.0.0.5:8081"},
		{"plain http to a look-alike of localhost", "http://localhost.example.com", zapcore.WarnLevel, "http://localhost.example.com"},
		{"loopback localhost", "http://localhost:8081", zapcore.InfoLevel, "http://localhost:8081"},
		{"loopback LOCALHOST", "http://LOCALHOST:8081", zapcore.InfoLevel, "http://LOCALHOST:8081"},
		{"loopback 127.0.0.1", "http://127.0.0.1:9081/", zapcore.InfoLevel, "http://127.0.0.1:9081"},
		{"loopback 127.8.9.10", "http://127.8.9.10", zapcore.InfoLevel, "http://127.8.9.10"},
		{"loopback ::1", "http://[::1]:8081", zapcore.InfoLevel, "http://[::1]:8081"},
		{"loopback with user info", "http://u:" + secret + "@127.0.0.1:1/" + secret, zapcore.InfoLevel, "http://127.0.0.1:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			WarnPlainHTTP(zap.New(core), "wechat_x", "api_base", tc.raw)
			entries := logs.All()
			if tc.url == "" {
				if len(entries) != 0 {
					t.Fatalf("logged %d entries for %q, want none: %v", len(entries), tc.raw, entries)
				}
				return
			}
			if len(entries) != 1 {
				t.Fatalf("logged %d entries for %q, want one", len(entries), tc.raw)
			}
			e := entries[0]
			if e.Level != tc.level {
				t.Errorf("level %s, want %s", e.Level, tc.level)
			}
			fields := e.ContextMap()
			if fields["url"] != tc.url || fields["directive"] != "wechat_x" || fields["option"] != "api_base" {
				t.Errorf("fields %v, want url %q, directive wechat_x, option api_base", fields, tc.url)
			}
			if !strings.HasPrefix(e.Message, "api_base is plain http") {
				t.Errorf("message %q does not name the option", e.Message)
			}
			if all := fmt.Sprint(e.Message, fields); strings.Contains(all, secret) || strings.Contains(all, "@") {
				t.Errorf("the log shows more than scheme://host: %s", all)
			}
		})
	}
}

func TestWarnPlainHTTPNilLogger(t *testing.T) {
	WarnPlainHTTP(nil, "wechat_x", "api_base", "http://example.com") // must not panic
}
