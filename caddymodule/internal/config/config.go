// Package config holds the configuration checks and helpers every handler
// of the plugin (wechat_jssdk, wechat_pay, wechat_oauth, wechat_sandbox)
// needs the same way: recognising and resolving secret placeholders,
// finding Caddy's storage, reading an option's one value (caddyfile.go),
// deciding what counts as an http(s) URL, a header name or a plain URL
// path, and warning about a plain-http URL a secret travels to
// (plainhttp.go).
//
// They live here once because copies drift: a secret one handler trims
// and another does not, or a header name one accepts and another refuses,
// is a difference an operator sees as a bug. Error texts name the
// directive and the option, never a secret value.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// IsPlaceholder reports whether s is exactly one Caddy placeholder
// ({env.NAME}, {file.PATH}, …), which is what a secret should be: a
// literal secret sits in the JSON config, where Caddy's admin API shows it.
func IsPlaceholder(s string) bool {
	return strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}")
}

// ResolveSecret expands the {env.*} and {file.*} placeholders of raw, the
// value written for directive's option, and trims surrounding space: a
// {file.*} secret keeps the newline editors add. A placeholder that does
// not resolve, and a secret that resolves to nothing, are errors, which
// name the directive, the option and the placeholder, never a value.
func ResolveSecret(directive, option, raw string) (string, error) {
	s, err := caddy.NewReplacer().ReplaceOrErr(raw, true, true)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %v", directive, option, err)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%s: %s: resolves to an empty value", directive, option)
	}
	return s, nil
}

// ContextStorage returns the storage the config was loaded with (the
// `storage` global option, the file system by default), or nil for a
// context that has no config, as in unit tests: there ctx.Storage panics.
func ContextStorage(ctx caddy.Context) (st certmagic.Storage) {
	defer func() {
		if recover() != nil {
			st = nil
		}
	}()
	return ctx.Storage()
}

// CheckHTTPURL accepts an absolute http or https URL with a host, without
// user info (the URL is then not repeated in the error: it may hold a
// password) and without a fragment. With allowPath false it must be an
// origin: no path beyond "/", no query; with allowPath true a path and a
// query are fine.
func CheckHTTPURL(raw string, allowPath bool) error {
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

// maxHeaderName bounds ValidHeaderName: a header name is a word, and a
// long one is a mistake or an attempt to fill the upstream's header limit.
const maxHeaderName = 128

// ValidHeaderName reports whether s is an HTTP field name (an RFC 9110
// token) of at most 128 bytes.
func ValidHeaderName(s string) bool {
	return len(s) <= maxHeaderName && ValidToken(s)
}

// ValidToken reports whether s is an RFC 9110 token, of any length: what
// header names and cookie names are made of. Callers that bound the length
// do so themselves (ValidHeaderName, wechat_oauth's cookie_name).
func ValidToken(s string) bool {
	if s == "" {
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

// ValidPathChars accepts the URL path characters a route can name without
// escaping, so the path reaches a script and the matchers unchanged: no
// space or control character, nothing outside ASCII, no quote, angle
// bracket, backslash or percent sign.
func ValidPathChars(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\' || c == '%' {
			return false
		}
	}
	return true
}

// CheckWeComApp checks the three options that name a WeCom (企业微信) app —
// corp_id, agent_id, corp_secret — the same way for every directive that
// takes them (wechat_jssdk, wechat_oauth). The values of corp_id and
// agent_id are not repeated: a secret pasted into the wrong option must not
// end up in a log.
func CheckWeComApp(directive, corpID, agentID, corpSecret string) error {
	switch {
	case corpID == "":
		return errors.New(directive + ": corp_id is required with agent_id and corp_secret (WeCom mode; 我的企业 → 企业信息 → 企业ID)")
	case agentID == "":
		return errors.New(directive + ": agent_id is required with corp_id (WeCom mode: the app's AgentId, e.g. 1000002)")
	case corpSecret == "":
		return errors.New(directive + ": corp_secret is required with corp_id (WeCom mode: the app's Secret, as {env.NAME} or {file.PATH})")
	}
	if err := wechat.CheckCorpID(corpID); err != nil {
		return fmt.Errorf("%s: corp_id: %w", directive, err)
	}
	if !wechat.ValidAgentID(agentID) {
		return errors.New(directive + ": agent_id: not an AgentId (digits without a leading zero, at most 10, e.g. 1000002)")
	}
	return nil
}
