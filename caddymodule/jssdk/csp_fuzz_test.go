package jssdk

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzCSPAdapt fuzzes adapt, what a page with a policy goes through:
// whatever policy a page sends, the nonce it yields is one of the page's own
// (base64 only, fit for an attribute), the rewrite only adds sources (never
// removes one), is idempotent, and leaves every policy that restricts
// scripts (and is not 'none') allowing the boot script with that nonce.
// The second argument, when base64, is a nonce put into the policy.
func FuzzCSPAdapt(f *testing.F) {
	for _, p := range []string{
		"script-src 'self'", "default-src 'self'; img-src *", "script-src 'nonce-abc' 'strict-dynamic'",
		"script-src 'unsafe-inline'", "script-src 'none'", "script-src 'self', default-src https:",
		"SCRIPT-SRC-ELEM 'self'; script-src 'nonce-x'", ";;; , ,", "connect-src 'none'; default-src 'self'",
	} {
		f.Add(p, "abc")
	}
	a := cspAllowance{bootHash: "'sha256-BOOT'", sdkSource: "https://res.wx.qq.com", connectSelf: true}
	f.Fuzz(func(t *testing.T, policy, nonce string) {
		if nonce != "" && isBase64(nonce) {
			policy += " 'nonce-" + nonce + "'" // into the policy's last directive
		}
		hdr := http.Header{"Content-Security-Policy": {policy}}
		nonce = a.adapt(hdr)
		if nonce != "" && (!isBase64(nonce) || !strings.Contains(policy, "'nonce-"+nonce+"'")) {
			t.Fatalf("nonce %q is not one of the policy's: %q", nonce, policy)
		}
		once := hdr.Get("Content-Security-Policy")
		if again := a.adapt(hdr); again != nonce {
			t.Fatalf("nonce changed by the rewrite: %q -> %q", nonce, again)
		}
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
