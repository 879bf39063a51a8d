package jssdk

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzAllowInCSP: whatever policy a page sends, the rewrite only adds
// sources (never removes one), is idempotent, and leaves every policy that
// restricts scripts (and is not 'none') allowing the boot script.
func FuzzAllowInCSP(f *testing.F) {
	for _, p := range []string{
		"script-src 'self'", "default-src 'self'; img-src *", "script-src 'nonce-abc' 'strict-dynamic'",
		"script-src 'unsafe-inline'", "script-src 'none'", "script-src 'self', default-src https:",
		"SCRIPT-SRC-ELEM 'self'; script-src 'nonce-x'", ";;; , ,", "connect-src 'none'; default-src 'self'",
	} {
		f.Add(p, "abc")
	}
	a := cspAllowance{bootHash: "'sha256-BOOT'", sdkSource: "https://res.wx.qq.com", connectSelf: true}
	f.Fuzz(func(t *testing.T, policy, nonce string) {
		if !isBase64(nonce) {
			nonce = ""
		}
		hdr := http.Header{"Content-Security-Policy": {policy}}
		a.allowInCSP(hdr, nonce)
		once := hdr.Get("Content-Security-Policy")
		a.allowInCSP(hdr, nonce)
		if twice := hdr.Get("Content-Security-Policy"); twice != once {
			t.Fatalf("not idempotent:\n%q\n%q", once, twice)
		}
		before := strings.Split(policy, ",")
		after := strings.Split(once, ",")
		if len(before) != len(after) {
			t.Fatalf("policy count changed: %q -> %q", policy, once)
		}
		for i := range before {
			// directives are only ever appended to, and new ones come last
			// (compared by position: a repeated directive name is legal
			// text, though only its first occurrence counts)
			old, now := parsePolicy(before[i]), parsePolicy(after[i])
			if len(now) < len(old) {
				t.Fatalf("directives lost: %q -> %q", before[i], after[i])
			}
			for k, d := range old {
				if now[k].name != d.name {
					t.Fatalf("directive %q moved: %q -> %q", d.name, before[i], after[i])
				}
				for _, src := range d.sources {
					if !hasSource(now[k].sources, src) {
						t.Fatalf("source %q of %q lost: %q -> %q", src, d.name, before[i], after[i])
					}
				}
			}
			k := governing(now, "script-src-elem", "script-src", "default-src")
			if k < 0 || allowsNothing(now[k].sources) {
				continue
			}
			srcs := now[k].sources
			inline := hasSource(srcs, "'unsafe-inline'") && !hasNonceOrHash(srcs)
			if !inline && !hasSource(srcs, a.bootHash) && !(nonce != "" && hasSource(srcs, "'nonce-"+nonce+"'")) {
				t.Fatalf("boot script still blocked by %q (from %q)", after[i], before[i])
			}
		}
	})
}
