package ownpath

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// testHandler stands for a handler that applies its matcher itself.
type testHandler struct {
	Match caddyhttp.RawMatcherSets `json:"match,omitempty"`
	Path  string                   `json:"path,omitempty"`
}

func (testHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.ownpath_test", New: func() caddy.Module { return new(testHandler) }}
}

func (testHandler) ServeHTTP(http.ResponseWriter, *http.Request, caddyhttp.Handler) error { return nil }

func init() { caddy.RegisterModule(testHandler{}) }

func parseTest(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	h.Next()
	var th testHandler
	for h.NextBlock(0) {
		if h.Val() == "own" && h.NextArg() {
			th.Path = h.Val()
		}
	}
	return &th, nil
}

func route(t *testing.T, vals []httpcaddyfile.ConfigValue) caddyhttp.Route {
	t.Helper()
	if len(vals) != 1 || vals[0].Class != "route" {
		t.Fatalf("config values %+v, want one route", vals)
	}
	return vals[0].Value.(caddyhttp.Route)
}

func TestParseEveryRequest(t *testing.T) {
	set := func(m caddyhttp.MiddlewareHandler, sets caddyhttp.RawMatcherSets) { m.(*testHandler).Match = sets }
	for _, tc := range []struct {
		input, wantMatch string
	}{
		{"dir /shop/* {\n}", `[{"path":["/shop/*"]}]`},
		{"dir {\n}", `null`},
		{"dir * {\n}", `null`},
	} {
		vals, err := ParseEveryRequest(httpcaddyfile.Helper{Dispenser: caddyfile.NewTestDispenser(tc.input)}, parseTest, set)
		if err != nil {
			t.Fatalf("%q: %v", tc.input, err)
		}
		r := route(t, vals)
		if len(r.MatcherSetsRaw) != 0 {
			t.Errorf("%q: the route has matchers %v: it must see every request", tc.input, r.MatcherSetsRaw)
		}
		var h struct {
			Match json.RawMessage `json:"match"`
		}
		if len(r.HandlersRaw) != 1 || json.Unmarshal(r.HandlersRaw[0], &h) != nil {
			t.Fatalf("%q: handlers %s", tc.input, r.HandlersRaw)
		}
		if got := string(h.Match); got != tc.wantMatch && !(tc.wantMatch == "null" && got == "") {
			t.Errorf("%q: the handler's match is %s, want %s", tc.input, got, tc.wantMatch)
		}
	}
}

func TestParseDirective(t *testing.T) {
	own := func(m caddyhttp.MiddlewareHandler) string { return m.(*testHandler).Path }
	vals, err := ParseDirective(httpcaddyfile.Helper{Dispenser: caddyfile.NewTestDispenser("dir /shop/* {\n\town /own\n}")}, parseTest, own)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(route(t, vals).MatcherSetsRaw)
	if want := `[{"path":["/shop/*"]},{"vars":{"{http.request.orig_uri.path}":["/own"]}}]`; string(got) != want {
		t.Errorf("matchers %s, want %s", got, want)
	}
	vals, err = ParseDirective(httpcaddyfile.Helper{Dispenser: caddyfile.NewTestDispenser("dir {\n\town /own\n}")}, parseTest, own)
	if err != nil {
		t.Fatal(err)
	}
	if r := route(t, vals); len(r.MatcherSetsRaw) != 0 {
		t.Errorf("without a matcher: matchers %v", r.MatcherSetsRaw)
	}
}
