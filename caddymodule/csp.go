package caddymodule

import (
	"net/http"
	"strings"
)

// cspNonce returns the script nonce of the page's enforced
// Content-Security-Policy, so the injected boot script runs under a strict
// policy. script-src-elem, then script-src, then default-src govern inline
// scripts, in that order. Only base64 characters are returned: the value is
// written into an HTML attribute.
func cspNonce(hdr http.Header) string {
	policies := hdr["Content-Security-Policy"]
	if len(policies) == 0 {
		return ""
	}
	for _, name := range [...]string{"script-src-elem", "script-src", "default-src"} {
		for _, line := range policies {
			// A header line is a comma-separated list of policies.
			for policy := range strings.SplitSeq(line, ",") {
				if n, found := directiveNonce(policy, name); found {
					return n
				}
			}
		}
	}
	return ""
}

// directiveNonce finds directive name in one policy; found reports whether
// the directive exists (it then governs, nonce or not).
func directiveNonce(policy, name string) (nonce string, found bool) {
	for policy != "" {
		var dir string
		dir, policy, _ = strings.Cut(policy, ";")
		fields := strings.Fields(dir)
		if len(fields) == 0 || !strings.EqualFold(fields[0], name) {
			continue
		}
		for _, f := range fields[1:] {
			if len(f) > len("'nonce-'") && strings.HasPrefix(f, "'nonce-") && f[len(f)-1] == '\'' {
				v := f[len("'nonce-") : len(f)-1]
				if isBase64(v) {
					return v, true
				}
			}
		}
		return "", true
	}
	return "", false
}

func isBase64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
