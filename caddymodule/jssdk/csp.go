package jssdk

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
	return nonceOf(parseCSP(hdr["Content-Security-Policy"]))
}

// cspPolicy is one policy of a header line, parsed, with the whitespace
// that led it kept so an unchanged neighbour reads as before.
type cspPolicy struct {
	raw, lead string
	dirs      []cspDirective
}

// parseCSP parses every policy of the header lines: a line is a
// comma-separated list of policies.
func parseCSP(lines []string) [][]cspPolicy {
	parsed := make([][]cspPolicy, len(lines))
	for i, line := range lines {
		for p := range strings.SplitSeq(line, ",") {
			parsed[i] = append(parsed[i], cspPolicy{
				raw:  p,
				lead: p[:len(p)-len(strings.TrimLeft(p, " \t"))],
				dirs: parsePolicy(p),
			})
		}
	}
	return parsed
}

// nonceOf picks the nonce of the first policy whose governing directive,
// by precedence, is present; "" when that directive has none.
func nonceOf(parsed [][]cspPolicy) string {
	for _, name := range [...]string{"script-src-elem", "script-src", "default-src"} {
		for _, line := range parsed {
			for _, p := range line {
				if i := governing(p.dirs, name); i >= 0 {
					return directiveNonce(p.dirs[i].sources)
				}
			}
		}
	}
	return ""
}

// directiveNonce returns the first well-formed nonce among srcs.
func directiveNonce(srcs []string) string {
	for _, f := range srcs {
		if len(f) > len("'nonce-'") && strings.HasPrefix(f, "'nonce-") && f[len(f)-1] == '\'' {
			if v := f[len("'nonce-") : len(f)-1]; isBase64(v) {
				return v
			}
		}
	}
	return ""
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
