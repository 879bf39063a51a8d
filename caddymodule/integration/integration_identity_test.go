package integration_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// identitySite is one site with two wechat_oauth directives, neither of
// which covers the whole site: /shop/* with the default header names and
// /member/* with names of its own, in front of a reverse_proxy for
// everything. Issue #15: a client-sent identity header must not reach the
// upstream on any request of such a site, matched or not.
func identitySite(upstream, apiBase string) string {
	host := strings.TrimPrefix(upstream, "http://")
	oauth := func(extra string) string {
		return `
		app_id        ` + testAppID + `
		app_secret    {env.` + oauthSecretEnv + `}
		api_base      ` + apiBase + `
		authorize_url http://127.0.0.1:9081/connect/oauth2/authorize
		` + extra
	}
	return `
http://` + siteAddr + ` {
	wechat_oauth /shop/* {` + oauth("") + `
	}
	wechat_oauth /member/* {` + oauth("header X-Member-OpenID X-Member-UnionID") + `
	}
	reverse_proxy ` + host + `
}
`
}

// headerEcho is the upstream: it answers, as JSON, the request-target and
// every header it received, names exactly as they arrived, and marks its
// answers with X-Upstream so a test knows the request got through.
type headerEcho struct{}

func (headerEcho) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Upstream", "reached")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(echoed{Target: r.URL.RequestURI(), Header: r.Header})
}

type echoed struct {
	Target string
	Header http.Header
}

// identityNames are the identity headers of identitySite, folded the way
// backends fold header names: PHP and CGI read '-', '_' and '.' alike
// (HTTP_X_WECHAT_OPENID), and nobody minds case. The fold is written here
// again, not taken from the plugin, so that a bug in it shows.
var identityNames = []string{"x-wechat-openid", "x-wechat-unionid", "x-member-openid", "x-member-unionid"}

func backendFold(name string) string {
	return strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(name))
}

// identityHeaders returns the identity headers among h, keyed by folded
// name, every value of every spelling.
func identityHeaders(h http.Header) map[string][]string {
	got := make(map[string][]string)
	for name, v := range h {
		f := backendFold(name)
		for _, id := range identityNames {
			if f == id {
				got[f] = append(got[f], v...)
			}
		}
	}
	return got
}

// rawRequest sends one HTTP/1.1 request written byte for byte: the target
// as given (net/http would keep "..", but not every spelling of it) and the
// header lines in order, names as given, repeated names repeated.
func rawRequest(t *testing.T, target string, header [][2]string) (*http.Response, echoed) {
	t.Helper()
	conn, err := net.Dial("tcp", siteAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", target, siteAddr)
	for _, h := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e echoed
	if resp.Header.Get("X-Upstream") == "reached" {
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("GET %s: upstream answered %q: %v", target, body, err)
		}
	}
	return resp, e
}

// identityServers are the server options the tests run under. By default
// Caddy drops every request header whose name has a '_' or a '.' before
// any handler runs; an operator can let such names through, and then
// wechat_oauth alone stands between them and the upstream (Caddy then
// drops the hyphenated spellings of the names let through instead).
var identityServers = []struct{ name, options string }{
	{"default server options", ""},
	{"'_' and '.' names let through", `servers {
		expected_underscore_headers x_wechat_openid x_wechat_unionid x_member_openid x_member_unionid x_probe
		expected_dot_headers x.wechat.openid x.member.openid
	}`},
}

// identityEnv starts the sandbox and identitySite, with the servers'
// options given.
func identityEnv(t *testing.T, servers string) {
	t.Helper()
	t.Setenv(oauthSecretEnv, testSecret)
	upstream := httptest.NewServer(headerEcho{})
	t.Cleanup(upstream.Close)
	global := globalOptions("storage file_system " + t.TempDir() + "\n\t" + servers)
	startCaddy(t, global+oauthSandboxSite+identitySite(upstream.URL, "http://127.0.0.1:9081"))
	// the options took: X_Probe reaches the upstream where '_' names are let through
	_, e := rawRequest(t, "/probe", [][2]string{{"X_Probe", "1"}})
	if got, want := e.Header.Get("X_Probe") == "1", servers != ""; got != want {
		t.Fatalf("upstream received X_Probe: %v, want %v (headers %v)", got, want, e.Header)
	}
}

// forgeries are the identity headers an attacker sends, one set per
// spelling; every one of them names a victim.
var forgeries = map[string][][2]string{
	"X-WeChat-OpenID": {{"X-WeChat-OpenID", "victim-openid"}},
	"x-wechat-openid": {{"x-wechat-openid", "victim-openid"}},
	"X_WeChat_OpenID": {{"X_WeChat_OpenID", "victim-openid"}},
	"X.WeChat.OpenID": {{"X.WeChat.OpenID", "victim-openid"}},
	"repeated lines": {{"X-WeChat-OpenID", "victim-openid"}, {"X-WeChat-OpenID", "victim-openid-2"},
		{"x_wechat_openid", "victim-openid-3"}, {"X-WECHAT-OPENID", "victim-openid-4"}},
	"unionid":             {{"X-WeChat-UnionID", "victim-unionid"}, {"x_wechat_unionid", "victim-unionid-2"}},
	"custom header names": {{"X-Member-OpenID", "victim-openid"}, {"x_member_unionid", "victim-unionid"}, {"X.MEMBER.OPENID", "victim-openid-2"}},
}

// forgedTargets are requests outside both matchers, however spelled: the
// path matchers clean "..", decode %2e and ignore case, so none of these
// is under /shop/ or /member/ for them.
var forgedTargets = []string{
	"/api/orders",
	"/shop/../api/orders",
	"/member/../api/orders",
	"/shop/%2e%2e/api/orders",
	"/shop/%2E%2E/api/orders",
	"/%73hop/../api/orders",
	"//shop/..//api/orders",
	"/api/orders?next=/shop/x",
}

func TestIdentityForgedHeadersNeverReachUpstream(t *testing.T) {
	for _, srv := range identityServers {
		t.Run(srv.name, func(t *testing.T) {
			identityEnv(t, srv.options)
			for name, forged := range forgeries {
				for _, target := range forgedTargets {
					for ua, uaName := range map[string]string{plainUA: "other browser", wechatUA: "WeChat"} {
						t.Run(name+" "+target+" "+uaName, func(t *testing.T) {
							header := append([][2]string{{"User-Agent", ua}}, forged...)
							resp, e := rawRequest(t, target, header)
							if resp.Header.Get("X-Upstream") != "reached" {
								t.Fatalf("%d: want the upstream's answer (the request is outside both matchers)", resp.StatusCode)
							}
							if got := identityHeaders(e.Header); len(got) != 0 {
								t.Errorf("upstream (target %q) received identity headers %v", e.Target, got)
							}
						})
					}
				}
			}
		})
	}
}

func TestIdentityForgedHeadersOnMatchedPaths(t *testing.T) {
	// inside the matchers, a browser that is not WeChat's passes without
	// identity (outside_wechat pass): the forged headers go all the same
	for _, srv := range identityServers {
		t.Run(srv.name, func(t *testing.T) {
			identityEnv(t, srv.options)
			for name, forged := range forgeries {
				for _, target := range []string{"/shop/cart", "/member/home", "/SHOP/cart", "/api/../shop/cart"} {
					t.Run(name+" "+target, func(t *testing.T) {
						resp, e := rawRequest(t, target, append([][2]string{{"User-Agent", plainUA}}, forged...))
						if resp.Header.Get("X-Upstream") != "reached" {
							t.Fatalf("%d: want the upstream's answer", resp.StatusCode)
						}
						if got := identityHeaders(e.Header); len(got) != 0 {
							t.Errorf("upstream (target %q) received identity headers %v", e.Target, got)
						}
					})
				}
			}
		})
	}
}

func TestIdentitySessionGetsItsOwnHeader(t *testing.T) {
	for _, srv := range identityServers {
		t.Run(srv.name, func(t *testing.T) { sessionGetsItsOwnHeader(t, srv.options) })
	}
}

func sessionGetsItsOwnHeader(t *testing.T, servers string) {
	identityEnv(t, servers)
	b := newBrowser(t, wechatUA)
	if landing, _ := b.signIn(siteURL+"/shop/cart", siteURL); landing != "/shop/cart" {
		t.Fatalf("landed on %q", landing)
	}
	session := b.cookie(siteURL, "wechat_oauth")
	if session == nil {
		t.Fatal("no session cookie after signing in")
	}
	cookie := [2]string{"Cookie", "wechat_oauth=" + session.Value}
	ua := [2]string{"User-Agent", wechatUA}

	_, e := rawRequest(t, "/shop/cart", [][2]string{ua, cookie})
	real := identityHeaders(e.Header)
	openID := real["x-wechat-openid"]
	if len(openID) != 1 || !openIDRE.MatchString(openID[0]) || len(real["x-wechat-unionid"]) != 1 {
		t.Fatalf("signed in on /shop/: upstream received identity %v, want one openid and one unionid", real)
	}
	for name, forged := range forgeries {
		t.Run(name, func(t *testing.T) {
			header := append([][2]string{ua, cookie}, forged...)
			// matched by /shop/*: its own identity, once, whatever was forged;
			// the /member/* handler, which runs after it and strips the same
			// default names, leaves what /shop/* set alone
			_, e := rawRequest(t, "/shop/cart", header)
			if got := identityHeaders(e.Header); !sameIdentity(got, real) {
				t.Errorf("/shop/cart: upstream received %v, want only %v", got, real)
			}
			// matched by /member/*: the same user under that directive's names
			_, e = rawRequest(t, "/member/home", header)
			want := map[string][]string{"x-member-openid": real["x-wechat-openid"], "x-member-unionid": real["x-wechat-unionid"]}
			if got := identityHeaders(e.Header); !sameIdentity(got, want) {
				t.Errorf("/member/home: upstream received %v, want only %v", got, want)
			}
			// matched by neither: no identity, session or not
			for _, target := range forgedTargets {
				resp, e := rawRequest(t, target, header)
				if resp.Header.Get("X-Upstream") != "reached" {
					t.Fatalf("%s: %d, want the upstream's answer", target, resp.StatusCode)
				}
				if got := identityHeaders(e.Header); len(got) != 0 {
					t.Errorf("%s: upstream received %v, want no identity outside the matchers", target, got)
				}
			}
		})
	}
}

// sameIdentity reports whether got holds exactly want's names, each with
// exactly want's values.
func sameIdentity(got, want map[string][]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if strings.Join(got[k], "\x00") != strings.Join(v, "\x00") || len(got[k]) != len(v) {
			return false
		}
	}
	return true
}
