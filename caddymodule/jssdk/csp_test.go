package jssdk

import (
	"net/http"
	"testing"
)

func TestCSPNonce(t *testing.T) {
	tests := []struct {
		name       string
		policies   []string // Content-Security-Policy header lines
		reportOnly []string // Content-Security-Policy-Report-Only header lines
		want       string
	}{
		{name: "no CSP", want: ""},
		{name: "script-src", policies: []string{"script-src 'self' 'nonce-abc123'"}, want: "abc123"},
		{name: "default-src", policies: []string{"default-src 'nonce-d3f'"}, want: "d3f"},
		{name: "script-src-elem", policies: []string{"script-src-elem 'nonce-e1'"}, want: "e1"},
		{name: "script-src over default-src",
			policies: []string{"default-src 'self' 'nonce-d'; script-src 'nonce-s'"}, want: "s"},
		{name: "script-src-elem over script-src, whatever the order",
			policies: []string{"script-src-elem 'nonce-e'; script-src 'nonce-s'; default-src 'nonce-d'"}, want: "e"},
		{name: "script-src-elem over script-src, reversed",
			policies: []string{"default-src 'nonce-d'; script-src 'nonce-s'; script-src-elem 'nonce-e'"}, want: "e"},
		{name: "governing directive without nonce: no nonce",
			policies: []string{"script-src-elem 'self'; script-src 'nonce-s'"}, want: ""},
		{name: "script-src without nonce hides default-src's",
			policies: []string{"script-src 'self' 'unsafe-inline'; default-src 'nonce-d'"}, want: ""},
		{name: "unrelated directives only", policies: []string{"img-src *; style-src 'nonce-css'"}, want: ""},
		{name: "directive names are case-insensitive", policies: []string{"Script-Src 'nonce-UP'"}, want: "UP"},
		{name: "whitespace around directives", policies: []string{"  ;\tscript-src\t 'nonce-ws'  ; "}, want: "ws"},
		{name: "base64 alphabet incl. url-safe", policies: []string{"script-src 'nonce-aZ09+/_-=='"}, want: "aZ09+/_-=="},
		{name: "non-base64 nonce rejected", policies: []string{`script-src 'nonce-a"><script>x'`}, want: ""},
		{name: "quote inside nonce rejected", policies: []string{`script-src 'nonce-a'b'`}, want: ""},
		{name: "bad nonce skipped, good one taken", policies: []string{"script-src 'nonce-b@d' 'nonce-good'"}, want: "good"},
		{name: "empty nonce", policies: []string{"script-src 'nonce-'"}, want: ""},
		{name: "unquoted nonce", policies: []string{"script-src nonce-abc"}, want: ""},
		{name: "multiple policies: precedence across them",
			policies: []string{"default-src 'nonce-d'", "script-src 'nonce-s'"}, want: "s"},
		{name: "multiple policies: first with the directive",
			policies: []string{"img-src *", "script-src 'nonce-one'", "script-src 'nonce-two'"}, want: "one"},
		// A header line may hold several policies separated by commas (CSP3
		// §2.2.1, and what a proxy folding duplicate headers produces).
		{name: "comma-separated policies in one line",
			policies: []string{"default-src 'self', script-src 'nonce-x'"}, want: "x"},
		{name: "comma right after the nonce",
			policies: []string{"script-src 'nonce-x', img-src *"}, want: "x"},
		{name: "report-only is not enforced", reportOnly: []string{"script-src 'nonce-ro'"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{}
			if tt.policies != nil {
				hdr["Content-Security-Policy"] = tt.policies
			}
			if tt.reportOnly != nil {
				hdr["Content-Security-Policy-Report-Only"] = tt.reportOnly
			}
			if got := cspNonce(hdr); got != tt.want {
				t.Errorf("cspNonce(%q) = %q, want %q", tt.policies, got, tt.want)
			}
		})
	}
}
