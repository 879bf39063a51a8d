package identity

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestFoldAndSameName(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"X-WeChat-OpenID", "X-WeChat-OpenID", true},
		{"X-WeChat-OpenID", "x-wechat-openid", true},
		{"X-WeChat-OpenID", "X_WECHAT_OPENID", true},
		{"X-WeChat-OpenID", "X.WeChat.OpenID", true}, // PHP folds '.' into '_' too
		{"X-WeChat-OpenID", "x_wechat.openid", true},
		{"x_a", "X-A", true},
		{"X-A", "X-B", false},
		{"X-A", "X-AB", false},
		{"X-A", "XA", false},
		{"X-A", "X A", false},
		{"", "", true},
		{"X-[", "X-{", false}, // only letters fold: '[' is not '{'
		{"X-@", "X-`", false},
		{"X-K", "X-\u212a", false}, // the Kelvin sign is not a 'k' to a backend
	} {
		if got := SameName(tc.a, tc.b); got != tc.want {
			t.Errorf("SameName(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := SameName(tc.b, tc.a); got != tc.want {
			t.Errorf("SameName(%q, %q) = %v, want %v (not symmetric)", tc.b, tc.a, got, tc.want)
		}
		if got := Fold(tc.a) == Fold(tc.b); got != tc.want {
			t.Errorf("Fold(%q) = %q, Fold(%q) = %q: equal %v, want %v", tc.a, Fold(tc.a), tc.b, Fold(tc.b), got, tc.want)
		}
	}
	if got := Fold("X_WeChat.Pay-Serial"); got != "x-wechat-pay-serial" {
		t.Errorf("Fold = %q", got)
	}
}

func TestNamesCovers(t *testing.T) {
	n := NewNames("X-WeChat-OpenID", "X-WeChat-UnionID", "X-WeCom-UserID", "X-WeChat-Pay-*", "", "*")
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"X-WeChat-OpenID", true},
		{"x-wechat-openid", true},
		{"X_WECHAT_OPENID", true},
		{"X.WeChat.OpenID", true},
		{"X-Wechat-Unionid", true},
		{"x_wecom_userid", true},
		{"X-WeChat-Pay-Serial", true},
		{"x_wechat_pay_signature", true},
		{"X.WECHAT.PAY.Timestamp", true},
		{"X-WeChat-Pay-", true}, // the prefix itself, empty rest
		{"X-WeChat-Pay", false},
		{"X-WeChat-OpenID2", false},
		{"X-WeChat-Open", false},
		{"X-WeCom-OpenID", false},
		{"Cookie", false}, // "*" is not a wildcard for everything
		{"", false},
	} {
		if got := n.Covers(tc.name); got != tc.want {
			t.Errorf("Covers(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
	if (Names{}).Covers("X-WeChat-OpenID") {
		t.Error("the zero Names covers a name")
	}
}

// request is a request as Caddy's server hands it to a handler: with a
// vars table, unless vars is false. Header names are kept as given.
func request(vars bool, header map[string][]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://site.example/api/orders", nil)
	for k, v := range header {
		r.Header[k] = v
	}
	if vars {
		r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}))
	}
	return r
}

func TestStrip(t *testing.T) {
	oauth := NewNames("X-WeChat-OpenID", "X-WeChat-UnionID", "X-User-OpenID")
	pay := NewNames("X-WeChat-Pay-*")
	for _, tc := range []struct {
		name   string
		names  Names
		header map[string][]string
		want   map[string][]string
	}{
		{"nothing to strip", oauth,
			map[string][]string{"Accept": {"*/*"}, "X-Wechat-Openidx": {"a"}},
			map[string][]string{"Accept": {"*/*"}, "X-Wechat-Openidx": {"a"}}},
		{"canonical", oauth,
			map[string][]string{"X-Wechat-Openid": {"victim"}, "Accept": {"*/*"}},
			map[string][]string{"Accept": {"*/*"}}},
		{"every spelling, repeated lines", oauth,
			map[string][]string{
				"X-WeChat-OpenID": {"v1", "v2"}, "x-wechat-openid": {"v3"}, "X_WeChat_OpenID": {"v4"},
				"X.WeChat.OpenID": {"v5"}, "X-WECHAT-UNIONID": {"u1"}, "x_wechat_unionid": {"u2", "u3"},
				"x.user.openid": {"c1"}, "X-User-Openid": {"c2"},
			},
			map[string][]string{}},
		{"empty value", oauth,
			map[string][]string{"X-Wechat-Openid": {""}},
			map[string][]string{}},
		{"other handlers' names left alone", oauth,
			map[string][]string{"X-Wechat-Pay-Serial": {"s"}, "X-Wecom-Userid": {"w"}},
			map[string][]string{"X-Wechat-Pay-Serial": {"s"}, "X-Wecom-Userid": {"w"}}},
		{"a prefix", pay,
			map[string][]string{"X-Wechat-Pay-Serial": {"s"}, "x_wechat_pay_signature": {"g"}, "X-Wechat-Payment": {"p"}, "X-Wechat-Openid": {"o"}},
			map[string][]string{"X-Wechat-Payment": {"p"}, "X-Wechat-Openid": {"o"}}},
	} {
		for _, vars := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, vars %v", tc.name, vars), func(t *testing.T) {
				r := request(vars, tc.header)
				Strip(r, tc.names)
				if !reflect.DeepEqual(map[string][]string(r.Header), tc.want) {
					t.Errorf("left %v, want %v", r.Header, tc.want)
				}
			})
		}
	}
}

func TestSetSurvivesLaterStrips(t *testing.T) {
	names := NewNames("X-WeChat-OpenID", "X-WeChat-UnionID")
	r := request(true, map[string][]string{"X-WeChat-OpenID": {"victim"}, "x_wechat_openid": {"victim2"}, "X-Wechat-Unionid": {"victim3"}})
	Strip(r, names)
	Set(r, "x-wechat-openid", "oReal")
	// a second handler of the plugin, with the same names and others
	Strip(r, NewNames("X-WeChat-OpenID", "X-WeChat-UnionID", "X-Member-OpenID"))
	Strip(r, names)
	want := map[string][]string{"X-Wechat-Openid": {"oReal"}}
	if !reflect.DeepEqual(map[string][]string(r.Header), want) {
		t.Fatalf("after Set and two Strips: %v, want %v", r.Header, want)
	}

	// a copy of the request (reverse_proxy clones the header) keeps it too
	c := r.Clone(r.Context())
	Strip(c, names)
	if !reflect.DeepEqual(map[string][]string(c.Header), want) {
		t.Errorf("on a clone: %v, want %v", c.Header, want)
	}

	// what the plugin set, changed or added to afterwards, is not its
	// word any more
	for _, tc := range []struct {
		name   string
		change func(http.Header)
	}{
		{"another value", func(h http.Header) { h["X-Wechat-Openid"] = []string{"oOther"} }},
		{"a second line", func(h http.Header) { h["X-Wechat-Openid"] = append(h["X-Wechat-Openid"], "oOther") }},
		{"another spelling", func(h http.Header) { h["x-wechat-openid"] = []string{"oReal"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := r.Clone(r.Context())
			tc.change(c.Header)
			Strip(c, names)
			for k := range c.Header {
				if names.Covers(k) && k != "X-Wechat-Openid" {
					t.Errorf("%s survived: %v", k, c.Header)
				}
			}
			if v := c.Header["X-Wechat-Openid"]; v != nil && !reflect.DeepEqual(v, []string{"oReal"}) {
				t.Errorf("X-Wechat-Openid survived as %q", v)
			}
		})
	}
}

func TestSetReplacesEverySpelling(t *testing.T) {
	r := request(true, map[string][]string{"x_wechat_openid": {"victim"}, "X.WeChat.OpenID": {"victim2"}, "Accept": {"*/*"}})
	Set(r, "X-WeChat-OpenID", "oReal")
	want := map[string][]string{"X-Wechat-Openid": {"oReal"}, "Accept": {"*/*"}}
	if !reflect.DeepEqual(map[string][]string(r.Header), want) {
		t.Errorf("%v, want %v", r.Header, want)
	}
}

func TestWithoutVarsNothingSurvives(t *testing.T) {
	// no Caddy vars: nothing can be recorded, so a second Strip removes
	// what Set set (an identity lost, never a forged one kept)
	names := NewNames("X-WeChat-OpenID")
	r := request(false, nil)
	Set(r, "X-WeChat-OpenID", "oReal")
	if r.Header.Get("X-WeChat-OpenID") != "oReal" {
		t.Fatalf("Set without vars: %v", r.Header)
	}
	Strip(r, names)
	if len(r.Header) != 0 {
		t.Errorf("left %v", r.Header)
	}
}

func TestRecordNotForgeableThroughVars(t *testing.T) {
	// a var of the record's key that an operator's `vars` set (a string,
	// a map) is not a record
	names := NewNames("X-WeChat-OpenID")
	for _, v := range []any{"X-Wechat-Openid", map[string][]string{"X-Wechat-Openid": {"victim"}}, map[string]any{"X-Wechat-Openid": "victim"}} {
		r := request(true, map[string][]string{"X-Wechat-Openid": {"victim"}})
		caddyhttp.SetVar(r.Context(), varKey, v)
		Strip(r, names)
		if len(r.Header) != 0 {
			t.Errorf("var %#v: left %v", v, r.Header)
		}
	}
}
