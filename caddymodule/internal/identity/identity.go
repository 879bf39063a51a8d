// Package identity keeps the request headers that say who the user is
// (wechat_oauth's X-WeChat-OpenID and X-WeChat-UnionID, its WeCom mode's
// X-WeCom-UserID and X-WeCom-OpenID, any X-WeChat-Pay-* of a verified pay
// notification) the plugin's word alone: a handler Strips every copy a
// client sent, in every spelling a backend could read as the same name,
// and Sets its own.
//
// # Spellings
//
// Backends do not read header names the way HTTP spells them. Besides
// case, CGI, FastCGI and PHP turn '-' into '_' (HTTP_X_WECHAT_OPENID), and
// PHP also turns '.' into '_' when it fills $_SERVER; so X-WeChat-OpenID,
// x_wechat_openid and X.WeChat.OpenID are one variable to a PHP app. Fold
// maps a name to that common form, and Names compares folded names. (Caddy
// itself drops names with '_' or '.' before any handler runs, unless the
// servers' expected_underscore_headers / expected_dot_headers let them
// through; this package does not count on it.) A repeated header line is
// one more value of the same name, removed with the others.
//
// # The plugin's own headers survive
//
// Several handlers of the plugin can strip the same names on one request
// (two wechat_oauth directives of one site with different matchers, both
// with the default header names): the second must not remove what the
// first set. Set records what it set in the request's Caddy vars, a table
// that lives as long as the request and that no client can write to; Strip
// keeps a header whose name and values are exactly what was recorded, and
// removes every other copy. Without the vars table (a request that did not
// come through a Caddy server) nothing is recorded and Strip removes all:
// an identity lost, never a forged one kept.
package identity

import (
	"net/http"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Fold returns name as backends that fold header names read it: in lower
// case, with '_' and '.' as '-'. Two names with the same Fold are one
// header to some backend.
func Fold(name string) string {
	b := make([]byte, len(name))
	for i := 0; i < len(name); i++ {
		b[i] = foldByte(name[i])
	}
	return string(b)
}

func foldByte(c byte) byte {
	switch {
	case c == '_' || c == '.':
		return '-'
	case c >= 'A' && c <= 'Z':
		return c + 'a' - 'A'
	}
	return c
}

// SameName reports whether a and b are one header to some backend:
// Fold(a) == Fold(b), without allocating.
func SameName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if foldByte(a[i]) != foldByte(b[i]) {
			return false
		}
	}
	return true
}

// Names is a set of header names, and of name prefixes, compared folded.
// The zero Names covers nothing.
type Names struct {
	exact    []string // folded
	prefixes []string // folded, without the '*'
}

// NewNames returns the set of names. A name ending in '*' stands for every
// name that starts with what comes before the '*' ("X-WeChat-Pay-*"); a
// lone "*" or an empty name is ignored, not a wildcard for every header.
func NewNames(names ...string) Names {
	var n Names
	for _, name := range names {
		if p, ok := strings.CutSuffix(name, "*"); ok {
			if p != "" && !slices.Contains(n.prefixes, Fold(p)) {
				n.prefixes = append(n.prefixes, Fold(p))
			}
			continue
		}
		if name != "" && !slices.Contains(n.exact, Fold(name)) {
			n.exact = append(n.exact, Fold(name))
		}
	}
	return n
}

// Covers reports whether a header named name, in any spelling, is one of
// n's.
func (n Names) Covers(name string) bool {
	for _, e := range n.exact {
		if SameName(name, e) {
			return true
		}
	}
	for _, p := range n.prefixes {
		if len(name) >= len(p) && SameName(name[:len(p)], p) {
			return true
		}
	}
	return false
}

// Strip removes from r's header every field n covers, whatever its
// spelling and however many lines it came in, except the ones a handler of
// the plugin Set on this very request and that still hold exactly what it
// set.
func Strip(r *http.Request, n Names) {
	rec := recorded(r)
	for name, values := range r.Header {
		if !n.Covers(name) {
			continue
		}
		if set, ok := rec[name]; ok && slices.Equal(set, values) {
			continue
		}
		delete(r.Header, name)
	}
}

// Set removes every spelling of name from r's header, sets name (in
// canonical form) to value, and records it as set by the plugin, so that
// a later Strip on the same request keeps it.
func Set(r *http.Request, name, value string) {
	for k := range r.Header {
		if SameName(k, name) {
			delete(r.Header, k)
		}
	}
	key := http.CanonicalHeaderKey(name)
	r.Header[key] = []string{value}
	rec := recorded(r)
	if rec == nil {
		rec = make(record)
		caddyhttp.SetVar(r.Context(), varKey, rec)
	}
	rec[key] = []string{value}
}

// record is what Set set on a request: canonical name to values. Its type
// is this package's, so a value an operator's `vars` directive gives the
// key is not one.
type record map[string][]string

// varKey is where the record is kept among the request's Caddy vars.
const varKey = "caddy-wechat-jssdk.identity_set"

// recorded returns r's record, nil when there is none.
func recorded(r *http.Request) record {
	rec, _ := caddyhttp.GetVar(r.Context(), varKey).(record)
	return rec
}
