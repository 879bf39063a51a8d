// Package ownpath builds the route of a directive whose handler must see
// more requests than the operator's matcher covers. ParseDirective is for
// a handler that also answers a path of its own (wechat_jssdk's
// config_endpoint): the route matches the operator's matcher, OR that path
// as the request arrived. ParseEveryRequest is for a handler that must see
// every request of its site (wechat_oauth, which removes client-sent
// identity headers from all of them): the route has no matcher, and the
// handler applies the operator's matcher itself.
package ownpath

import (
	"encoding/json"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// ParseDirective is httpcaddyfile's RegisterHandlerDirective work for the
// handler parse makes, plus one thing: when the operator gave a matcher
// and own returns a path, the route also matches that path, so the
// handler's own endpoint answers even where the matcher (… /shop/* …) does
// not reach. The path is matched as it arrived ({http.request.orig_uri.path}):
// a rewrite ahead of the directive (try_files … /index.html for an SPA)
// would hide it from a path matcher.
func ParseDirective(h httpcaddyfile.Helper, parse httpcaddyfile.UnmarshalHandlerFunc,
	own func(caddyhttp.MiddlewareHandler) string) ([]httpcaddyfile.ConfigValue, error) {
	if !h.Next() {
		return nil, h.ArgErr()
	}
	matcherSet, err := h.ExtractMatcherSet()
	if err != nil {
		return nil, err
	}
	handler, err := parse(h)
	if err != nil {
		return nil, err
	}
	routes := h.NewRoute(matcherSet, handler)
	path := own(handler)
	if matcherSet == nil || path == "" {
		return routes, nil // no matcher: every request reaches the handler
	}
	vars, err := json.Marshal(map[string][]string{"{http.request.orig_uri.path}": {path}})
	if err != nil {
		return nil, err
	}
	for i, v := range routes {
		if route, ok := v.Value.(caddyhttp.Route); ok {
			route.MatcherSetsRaw = append(route.MatcherSetsRaw, caddy.ModuleMap{"vars": vars})
			routes[i].Value = route
		}
	}
	return routes, nil
}

// ParseEveryRequest is httpcaddyfile's RegisterHandlerDirective work for
// the handler parse makes, except that the operator's matcher does not go
// on the route: setMatch hands it to the handler, which applies it itself,
// and the route, which has no matcher, brings the handler every request
// that reaches the directive. Being unmatched also keeps the route in the
// order the directives were written: httpcaddyfile sorts the routes of one
// directive by their path matchers, and would have put a separate
// unmatched route of the same directive after the matched ones.
func ParseEveryRequest(h httpcaddyfile.Helper, parse httpcaddyfile.UnmarshalHandlerFunc,
	setMatch func(caddyhttp.MiddlewareHandler, caddyhttp.RawMatcherSets)) ([]httpcaddyfile.ConfigValue, error) {
	if !h.Next() {
		return nil, h.ArgErr()
	}
	matcherSet, err := h.ExtractMatcherSet()
	if err != nil {
		return nil, err
	}
	handler, err := parse(h)
	if err != nil {
		return nil, err
	}
	if matcherSet != nil {
		setMatch(handler, caddyhttp.RawMatcherSets{matcherSet})
	}
	return h.NewRoute(nil, handler), nil
}
