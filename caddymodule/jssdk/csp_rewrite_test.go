package jssdk

import (
	"net/http"
	"strings"
	"testing"
)

func TestAllowInCSP(t *testing.T) {
	const hash = "'sha256-BOOT'"
	a := cspAllowance{bootHash: hash, sdkSource: "https://res.wx.qq.com", connectSelf: true}
	for _, tt := range []struct {
		name   string
		policy []string // header lines
		nonce  string
		want   []string
	}{
		{"no policy restricts scripts", []string{"img-src 'self'"}, "", []string{"img-src 'self'"}},
		{"script-src self gains hash and SDK",
			[]string{"script-src 'self'"}, "",
			[]string{"script-src 'self' " + hash + " https://res.wx.qq.com"}},
		{"nonce satisfies the inline script: only the SDK is added",
			[]string{"script-src 'nonce-abc' 'self'"}, "abc",
			[]string{"script-src 'nonce-abc' 'self' https://res.wx.qq.com"}},
		{"strict-dynamic needs no host",
			[]string{"script-src 'nonce-abc' 'strict-dynamic'"}, "abc",
			[]string{"script-src 'nonce-abc' 'strict-dynamic'"}},
		{"another policy's nonce does not count here",
			[]string{"script-src 'nonce-abc'", "script-src 'nonce-xyz'"}, "abc",
			[]string{"script-src 'nonce-abc' https://res.wx.qq.com", "script-src 'nonce-xyz' " + hash + " https://res.wx.qq.com"}},
		{"unsafe-inline alone is left working",
			[]string{"script-src 'self' 'unsafe-inline'"}, "",
			[]string{"script-src 'self' 'unsafe-inline' https://res.wx.qq.com"}},
		{"unsafe-inline beside a hash is void: hash added",
			[]string{"script-src 'unsafe-inline' 'sha256-other'"}, "",
			[]string{"script-src 'unsafe-inline' 'sha256-other' " + hash + " https://res.wx.qq.com"}},
		{"default-src governs: a script-src is added, default-src untouched",
			[]string{"default-src 'self'"}, "",
			[]string{"default-src 'self'; script-src 'self' " + hash + " https://res.wx.qq.com"}},
		{"script-src-elem wins over script-src",
			[]string{"script-src 'self'; script-src-elem 'self'"}, "",
			[]string{"script-src 'self'; script-src-elem 'self' " + hash + " https://res.wx.qq.com"}},
		{"'none' is the operator's word",
			[]string{"script-src 'none'"}, "", []string{"script-src 'none'"}},
		{"connect-src gains self for the config endpoint",
			[]string{"script-src 'self' " + hash + " https://res.wx.qq.com; connect-src https://api.example.com"}, "",
			[]string{"script-src 'self' " + hash + " https://res.wx.qq.com; connect-src https://api.example.com 'self'"}},
		{"comma-joined policies each adjusted",
			[]string{"script-src 'self', img-src *"}, "",
			[]string{"script-src 'self' " + hash + " https://res.wx.qq.com, img-src *"}},
		{"case-insensitive names and keywords",
			[]string{"SCRIPT-SRC 'SELF' 'Unsafe-Inline'"}, "",
			[]string{"script-src 'SELF' 'Unsafe-Inline' https://res.wx.qq.com"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{"Content-Security-Policy": append([]string(nil), tt.policy...)}
			hdr.Set("Content-Security-Policy-Report-Only", "script-src 'none'")
			a.allowInCSP(hdr, tt.nonce)
			if got := hdr["Content-Security-Policy"]; strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n  %q\nwant\n  %q", got, tt.want)
			}
			if hdr.Get("Content-Security-Policy-Report-Only") != "script-src 'none'" {
				t.Error("report-only policy changed")
			}
		})
	}
}

func TestCSPAllowanceSources(t *testing.T) {
	for _, tt := range []struct{ sdk, want string }{
		{DefaultSDKURL, "https://res.wx.qq.com"},
		{"/js/jweixin.js", "'self'"},
		{"off", ""},
		{"http://localhost:8081/sandbox/jweixin.js", "http://localhost:8081"},
	} {
		h := &Handler{AppID: "wx0123456789abcdef", SDKURL: tt.sdk}
		tmpl, err := templateFor(h)
		if err != nil {
			t.Fatal(err)
		}
		if tmpl.csp.sdkSource != tt.want {
			t.Errorf("sdk_url %q: source %q, want %q", tt.sdk, tmpl.csp.sdkSource, tt.want)
		}
		if !strings.HasPrefix(tmpl.csp.bootHash, "'sha256-") || tmpl.csp.connectSelf {
			t.Errorf("allowance %+v", tmpl.csp)
		}
	}
}
