package jssdk

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// This file is all the handler knows of Content-Security-Policy: the
// allowance the boot script needs (computed once per handler), the parse
// of a page's policies, and their rewrite (once per page that has one).

// cspAllowance is what a page's Content-Security-Policy must allow for the
// injected code to run, computed once per handler.
type cspAllowance struct {
	bootHash    string // 'sha256-…' of the boot script's text
	sdkSource   string // where sdk_url loads from: an origin, 'self', or ""
	connectSelf bool   // the boot script fetches the config endpoint
}

// newCSPAllowance computes the allowance for the boot script's text, the
// sdk_url it loads jweixin from, and whether it fetches the config endpoint.
func newCSPAllowance(sdkURL string, endpoint bool, bootScript string) cspAllowance {
	sum := sha256.Sum256([]byte(bootScript))
	a := cspAllowance{
		bootHash:    "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'",
		connectSelf: endpoint,
	}
	switch {
	case sdkURL == sdkOff || sdkURL == "":
	case strings.HasPrefix(sdkURL, "/"):
		a.sdkSource = "'self'"
	default:
		if u, err := url.Parse(sdkURL); err == nil {
			a.sdkSource = u.Scheme + "://" + u.Host
		}
	}
	return a
}

// adapt reads the script nonce of the page's enforced
// Content-Security-Policy, so the injected boot script runs under a strict
// policy (script-src-elem, then script-src, then default-src govern inline
// scripts, in that order; only base64 characters are taken: the value is
// written into an HTML attribute), and changes each enforced policy so
// that the boot script (carrying that nonce, when the page had one) and
// the SDK it loads may run: a policy satisfied by the nonce only gains the
// SDK's source; one without it gains the boot script's hash. When only
// default-src restricts scripts, a script-src is added (a copy of
// default-src plus ours) rather than loosening default-src for images,
// frames and the rest. Policies that allow no script at all ('none') are
// the operator's word and left alone, as is
// Content-Security-Policy-Report-Only, which blocks nothing. One parse of
// the header serves both.
func (a *cspAllowance) adapt(hdr http.Header) (nonce string) {
	parsed := parseCSP(hdr["Content-Security-Policy"])
	nonce = nonceOf(parsed)
	a.rewrite(hdr, parsed, nonce)
	return nonce
}

func (a *cspAllowance) rewrite(hdr http.Header, parsed [][]cspPolicy, nonce string) {
	lines := hdr["Content-Security-Policy"]
	for i, line := range parsed {
		changed := false
		out := make([]string, len(line))
		for j, p := range line {
			out[j] = p.raw
			if a.allowInDirs(&p.dirs, nonce) {
				out[j] = p.lead + renderPolicy(p.dirs)
				changed = true
			}
		}
		if changed {
			lines[i] = strings.Join(out, ",")
		}
	}
}

// cspDirective is one directive of a policy: its name and source list.
type cspDirective struct {
	name    string
	sources []string
}

func parsePolicy(p string) []cspDirective {
	var dirs []cspDirective
	for d := range strings.SplitSeq(p, ";") {
		f := strings.Fields(d)
		if len(f) == 0 {
			continue
		}
		dirs = append(dirs, cspDirective{name: strings.ToLower(f[0]), sources: f[1:]})
	}
	return dirs
}

// allowInDirs adds what the boot script needs to one parsed policy and
// reports whether it changed anything.
func (a *cspAllowance) allowInDirs(dirsp *[]cspDirective, nonce string) bool {
	dirs := *dirsp
	changed := false
	if i := governing(dirs, "script-src-elem", "script-src", "default-src"); i >= 0 {
		srcs := dirs[i].sources
		if !allowsNothing(srcs) {
			add := a.scriptAdditions(srcs, nonce)
			if len(add) > 0 {
				if dirs[i].name == "default-src" {
					dirs = append(dirs, cspDirective{name: "script-src", sources: appendNew(cloneStrings(srcs), add...)})
				} else {
					dirs[i].sources = appendNew(srcs, add...)
				}
				changed = true
			}
		}
	}
	if a.connectSelf {
		if i := governing(dirs, "connect-src", "default-src"); i >= 0 && !allowsNothing(dirs[i].sources) &&
			!hasSource(dirs[i].sources, "'self'") {
			if dirs[i].name == "default-src" {
				dirs = append(dirs, cspDirective{name: "connect-src", sources: appendNew(cloneStrings(dirs[i].sources), "'self'")})
			} else {
				dirs[i].sources = appendNew(dirs[i].sources, "'self'")
			}
			changed = true
		}
	}
	*dirsp = dirs
	return changed
}

func renderPolicy(dirs []cspDirective) string {
	var b strings.Builder
	for i, d := range dirs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d.name)
		for _, s := range d.sources {
			b.WriteByte(' ')
			b.WriteString(s)
		}
	}
	return b.String()
}

// scriptAdditions lists the sources a script directive lacks.
func (a *cspAllowance) scriptAdditions(srcs []string, nonce string) []string {
	var add []string
	hasNonce := nonce != "" && hasSource(srcs, "'nonce-"+nonce+"'")
	// 'unsafe-inline' counts only while no nonce or hash is listed; adding a
	// hash to such a list would switch it off for the page's own scripts.
	inlineOK := hasSource(srcs, "'unsafe-inline'") && !hasNonceOrHash(srcs)
	if !hasNonce && !inlineOK {
		add = append(add, a.bootHash)
	}
	if a.sdkSource != "" && !hasSource(srcs, "'strict-dynamic'") && !hasSource(srcs, a.sdkSource) {
		// under 'strict-dynamic' host sources are ignored: the trusted boot
		// script may load the SDK anyway.
		add = append(add, a.sdkSource)
	}
	return add
}

// governing returns the index of the first directive present among names.
func governing(dirs []cspDirective, names ...string) int {
	for _, n := range names {
		for i, d := range dirs {
			if d.name == n {
				return i
			}
		}
	}
	return -1
}

func allowsNothing(srcs []string) bool {
	return len(srcs) == 0 || len(srcs) == 1 && strings.EqualFold(srcs[0], "'none'")
}

func hasSource(srcs []string, s string) bool {
	for _, x := range srcs {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func hasNonceOrHash(srcs []string) bool {
	for _, s := range srcs {
		l := strings.ToLower(s)
		if strings.HasPrefix(l, "'nonce-") || strings.HasPrefix(l, "'sha256-") ||
			strings.HasPrefix(l, "'sha384-") || strings.HasPrefix(l, "'sha512-") {
			return true
		}
	}
	return false
}

func appendNew(srcs []string, add ...string) []string {
	for _, s := range add {
		if !hasSource(srcs, s) {
			srcs = append(srcs, s)
		}
	}
	return srcs
}

func cloneStrings(s []string) []string { return append([]string(nil), s...) }

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
