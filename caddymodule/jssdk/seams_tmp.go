package jssdk

// TEMPORARY: these move to internal/config and internal/origin.

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// validPathChars accepts the URL path characters a route can name without
// escaping, so the path reaches the boot script and matchers unchanged.
func validPathChars(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\' || c == '%' {
			return false
		}
	}
	return true
}

func checkHTTPURL(raw string, allowPath bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", raw)
	}
	if u.User != nil {
		// the URL is not repeated: its user info may hold a password
		return fmt.Errorf("a URL must not carry user info (%s://…@%s)", u.Scheme, u.Host)
	}
	if u.Fragment != "" || u.RawQuery != "" && !allowPath {
		return fmt.Errorf("%q must not carry a query or a fragment", raw)
	}
	if !allowPath && u.Path != "" && u.Path != "/" {
		return fmt.Errorf("%q must be an origin without a path", raw)
	}
	return nil
}

// normalizeOrigin turns scheme://host[:port] into the form location.href
// shows: lower-case scheme and host, no default port, no trailing slash.
func normalizeOrigin(raw string) (string, error) {
	if err := checkHTTPURL(raw, false); err != nil {
		return "", err
	}
	u, _ := url.Parse(raw)
	host := strings.ToLower(u.Host)
	scheme := strings.ToLower(u.Scheme)
	host = stripDefaultPort(scheme, host)
	return scheme + "://" + host, nil
}

func isPlaceholder(s string) bool {
	return strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}")
}

// resolveSecret expands {env.*} / {file.*} placeholders. Its errors name the
// placeholder, never a value.
func resolveSecret(raw string) (string, error) {
	repl := caddy.NewReplacer()
	s, err := repl.ReplaceOrErr(raw, true, true)
	if err != nil {
		return "", fmt.Errorf("wechat_jssdk: app_secret: %v", err)
	}
	s = strings.TrimSpace(s) // {file.*} keeps a trailing newline editors add
	if s == "" {
		return "", errors.New("wechat_jssdk: app_secret: resolves to an empty value")
	}
	return s, nil
}

// validHeaderName accepts an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
