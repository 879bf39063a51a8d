package integration_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// wechat_oauth in WeCom mode (corp_id, agent_id, corp_secret), through real
// Caddy, against fakeOAuthWeCom: WeCom's authorize page and its gettoken and
// getuserinfo, written here from WeCom's documentation.

const (
	wecomCorpID       = "ww0123456789abcdef"
	oauthWeComAgentID = "1000002"
	wecomSecretEnv    = "JSSDK_TEST_WECOM_SECRET"
	oauthWeComSecret  = "integration-wecom-corp-secret-4b8e"
	wecomCallback     = "/.well-known/wecom-oauth/callback"
	wecomUA           = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 wxwork/4.1.22 MicroMessenger/7.0.1 Language/zh ColorScheme/Light"
	wecomTokenMark    = "wecom-leak-canary-access-token-"
	wecomTicketMark   = "wecom-leak-canary-user-ticket"
)

var (
	// wecomAuthorizeRE is WeCom's sign-in link, parameters in WeCom's order
	// and #wechat_redirect at the end; the fake's origin is put in front.
	wecomAuthorizeRE = func(origin string) *regexp.Regexp {
		return regexp.MustCompile(`^` + regexp.QuoteMeta(origin) + `/connect/oauth2/authorize\?appid=` + wecomCorpID +
			`&redirect_uri=([^&]+)&response_type=code&scope=(snsapi_base|snsapi_privateinfo)&state=([0-9a-f]{48})&agentid=` + oauthWeComAgentID + `#wechat_redirect$`)
	}
	wecomOpenIDRE = regexp.MustCompile(`^o[0-9a-f]{27}$`)
)

// fakeOAuthWeCom plays WeCom for one app: the authorize page, which checks the
// link's parameters and their order and sends the browser back with a
// code for the user its cookies name (wecom_user, default zhangsan; a
// member unless wecom_member=0), gettoken (the corp ID and secret only)
// and getuserinfo (a code once, with a token it issued). It counts the
// calls. A member's openid is never given; a non-member's is stable.
type fakeOAuthWeCom struct {
	secret string
	srv    *httptest.Server

	mu          sync.Mutex
	codes       map[string]wecomGrant
	tokens      map[string]bool
	gettoken    int
	getuserinfo int
}

type wecomGrant struct {
	user   string
	member bool
	used   bool
}

func newFakeWeCom(t *testing.T, secret string) *fakeOAuthWeCom {
	t.Helper()
	f := &fakeOAuthWeCom{secret: secret, codes: map[string]wecomGrant{}, tokens: map[string]bool{}}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOAuthWeCom) URL() string { return f.srv.URL }

func (f *fakeOAuthWeCom) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/connect/oauth2/authorize":
		var keys []string
		for _, kv := range strings.Split(r.URL.RawQuery, "&") {
			k, _, _ := strings.Cut(kv, "=")
			keys = append(keys, k)
		}
		if got := strings.Join(keys, ","); got != "appid,redirect_uri,response_type,scope,state,agentid" {
			http.Error(w, "parameters out of WeCom's order: "+got, http.StatusBadRequest)
			return
		}
		if q.Get("appid") != wecomCorpID || q.Get("agentid") != oauthWeComAgentID || q.Get("response_type") != "code" {
			http.Error(w, "not this corp's app", http.StatusBadRequest)
			return
		}
		redirect, err := url.Parse(q.Get("redirect_uri"))
		if err != nil || redirect.Host == "" {
			http.Error(w, "bad redirect_uri", http.StatusBadRequest)
			return
		}
		g := wecomGrant{user: "zhangsan", member: true}
		if c, err := r.Cookie("wecom_user"); err == nil {
			g.user = c.Value
		}
		if c, err := r.Cookie("wecom_member"); err == nil && c.Value == "0" {
			g.member = false
		}
		code := randomHex(16)
		f.codes[code] = g
		back := redirect.Query()
		back.Set("code", code)
		back.Set("state", q.Get("state"))
		redirect.RawQuery = back.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusFound)
	case "/cgi-bin/gettoken":
		f.gettoken++
		w.Header().Set("Content-Type", "application/json")
		if q.Get("corpid") != wecomCorpID || q.Get("corpsecret") != f.secret {
			fmt.Fprint(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
			return
		}
		tok := wecomTokenMark + randomHex(8)
		f.tokens[tok] = true
		fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok","access_token":%q,"expires_in":7200}`, tok)
	case "/cgi-bin/auth/getuserinfo":
		f.getuserinfo++
		w.Header().Set("Content-Type", "application/json")
		if !f.tokens[q.Get("access_token")] {
			fmt.Fprint(w, `{"errcode":40014,"errmsg":"invalid access_token"}`)
			return
		}
		g, ok := f.codes[q.Get("code")]
		if !ok || g.used {
			fmt.Fprint(w, `{"errcode":40029,"errmsg":"invalid code"}`)
			return
		}
		g.used = true
		f.codes[q.Get("code")] = g
		if g.member {
			fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok","userid":%q,"user_ticket":%q,"expires_in":1800}`, g.user, wecomTicketMark)
			return
		}
		fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok","openid":%q}`, wecomOpenID(g.user))
	default:
		http.NotFound(w, r)
	}
}

// counts returns the gettoken and getuserinfo calls so far.
func (f *fakeOAuthWeCom) counts() (gettoken, getuserinfo int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gettoken, f.getuserinfo
}

// wecomOpenID is the fake's openid for a non-member.
func wecomOpenID(user string) string {
	sum := sha256.Sum256([]byte("corp openid " + user))
	return "o" + hex.EncodeToString(sum[:])[:27]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// wecomEcho is the upstream: it answers, in response headers, the WeCom
// and WeChat identity headers it received, under every spelling a backend
// could read as them (folded as backends fold: case, '_' and '.').
type wecomEcho struct{}

func (wecomEcho) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	seen := map[string][]string{}
	for name, v := range r.Header {
		switch f := backendFold(name); f {
		case "x-wecom-userid", "x-wecom-openid", "x-wechat-openid", "x-wechat-unionid":
			seen[f] = append(seen[f], v...)
		}
	}
	w.Header().Set("X-Seen-Wecom-Userid", strings.Join(seen["x-wecom-userid"], ","))
	w.Header().Set("X-Seen-Wecom-Openid", strings.Join(seen["x-wecom-openid"], ","))
	w.Header().Set("X-Seen-Openid", strings.Join(seen["x-wechat-openid"], ","))
	w.Header().Set("X-Seen-Unionid", strings.Join(seen["x-wechat-unionid"], ","))
	w.Header().Set("X-Seen-Path", r.URL.RequestURI())
	w.Header().Set("X-Seen-Probe", r.Header.Get("X_Probe"))
	w.Header().Set("X-Upstream", "reached")
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, "{}") // rawRequest reads the upstream's answer as JSON
}

// oauthWeComSite is one site with both kinds of sign-in, each with its default
// callback path and cookie: /shop/* for WeChat users (the Official
// Account, the sandbox) and /staff/* for the corp's (WeCom, fake), in
// front of a reverse_proxy for everything.
func oauthWeComSite(upstream, fake, logFile string) string {
	return `
http://` + siteAddr + ` {
	log {
		output file ` + logFile + `
		level DEBUG
	}
	wechat_oauth /shop/* {
		app_id        ` + testAppID + `
		app_secret    {env.` + oauthSecretEnv + `}
		api_base      http://127.0.0.1:9081
		authorize_url http://127.0.0.1:9081/connect/oauth2/authorize
	}
	wechat_oauth /staff/* {
		corp_id       ` + wecomCorpID + `
		agent_id      ` + oauthWeComAgentID + `
		corp_secret   {env.` + wecomSecretEnv + `}
		api_base      ` + fake + `
		authorize_url ` + fake + `/connect/oauth2/authorize
	}
	reverse_proxy ` + strings.TrimPrefix(upstream, "http://") + `
}
`
}

// wecomServers are the server options the forgery checks run under: by
// default Caddy drops header names with '_' or '.' itself; let through,
// wechat_oauth alone removes them.
var wecomServers = []struct{ name, options string }{
	{"default server options", ""},
	{"'_' and '.' names let through", `servers {
		expected_underscore_headers x_wecom_userid x_wecom_openid x_probe
		expected_dot_headers x.wecom.userid x.wecom.openid
	}`},
}

// wecomEnv starts the sandbox, a fake WeCom and oauthWeComSite with the
// servers' options, and returns the fake and the log file.
func wecomEnv(t *testing.T, servers string) (*fakeOAuthWeCom, string) {
	t.Helper()
	t.Setenv(oauthSecretEnv, testSecret)
	t.Setenv(wecomSecretEnv, oauthWeComSecret)
	fake := newFakeWeCom(t, oauthWeComSecret)
	upstream := httptest.NewServer(wecomEcho{})
	t.Cleanup(upstream.Close)
	logFile := t.TempDir() + "/caddy.log"
	global := globalOptions("storage file_system " + t.TempDir() + "\n\tlog {\n\t\toutput file " + logFile + "\n\t\tlevel DEBUG\n\t}\n\t" + servers)
	startCaddy(t, global+oauthSandboxSite+oauthWeComSite(upstream.URL, fake.URL(), logFile))
	return fake, logFile
}

// wecomSignIn runs WeCom's sign-in from start on origin, in b, through
// fake's authorize page: it checks the link, and returns the callback URL
// and the landing target.
func wecomSignIn(t *testing.T, b *browser, fake *fakeOAuthWeCom, start, origin string) (callback, landing string) {
	t.Helper()
	resp, body := b.do(http.MethodGet, start)
	link := resp.Header.Get("Location")
	m := wecomAuthorizeRE(fake.URL()).FindStringSubmatch(link)
	if resp.StatusCode != http.StatusFound || m == nil {
		t.Fatalf("GET %s: %d Location %q %s; want 302 to WeCom's sign-in link", start, resp.StatusCode, link, body)
	}
	if redirect, _ := url.QueryUnescape(m[1]); redirect != origin+wecomCallback {
		t.Fatalf("redirect_uri %q, want %q", redirect, origin+wecomCallback)
	}
	resp = atWeCom(t, b, link)
	callback = resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(callback, origin+wecomCallback+"?") {
		t.Fatalf("WeCom's authorize page: %d Location %q", resp.StatusCode, callback)
	}
	resp, body = b.do(http.MethodGet, callback)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d %q", resp.StatusCode, body)
	}
	return callback, resp.Header.Get("Location")
}

// atWeCom sends b to WeCom's page rawURL, with its cookies, and leaves the
// answer out of what b records of the site's answers: it is WeCom's, and
// carries the code.
func atWeCom(t *testing.T, b *browser, rawURL string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", b.ua)
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestOAuthWeComSignIn: a member of the corp reaches the upstream with
// X-WeCom-UserID, anyone else with X-WeCom-OpenID, never both, and never
// with anything a client sent; a WeChat user signs in on the same site's
// /shop/* through the Official Account, untouched by the WeCom directive.
func TestOAuthWeComSignIn(t *testing.T) {
	fake, _ := wecomEnv(t, "")
	tests := []struct {
		name, user, member string
		header, want       string
	}{
		{"member", "lisi", "1", "X-Seen-Wecom-Userid", "lisi"},
		{"non-member", "wangwu", "0", "X-Seen-Wecom-Openid", wecomOpenID("wangwu")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, wecomUA)
			b.setCookie(fake.URL(), "wecom_user", tt.user)
			b.setCookie(fake.URL(), "wecom_member", tt.member)
			const page = "/staff/approve?id=7&from=message"
			if _, landing := wecomSignIn(t, b, fake, siteURL+page, siteURL); landing != page {
				t.Fatalf("landed on %q, want %q", landing, page)
			}
			if b.cookie(siteURL, "wechat_oauth_wecom") == nil || b.cookie(siteURL, "wechat_oauth_wecom_state") != nil {
				t.Error("want the session cookie wechat_oauth_wecom, and the state cookie gone")
			}
			forged := []string{"X-WeCom-UserID", "boss", "x-wecom-userid", "boss2", "X-WECOM-OPENID", "oForged", "X-WeChat-OpenID", "oForged"}
			for _, target := range []string{page, "/staff/", "/api/orders"} {
				resp, _ := b.do(http.MethodGet, siteURL+target, forged...)
				if resp.Header.Get("X-Upstream") != "reached" {
					t.Fatalf("%s: %d", target, resp.StatusCode)
				}
				got := map[string]string{}
				for _, h := range []string{"X-Seen-Wecom-Userid", "X-Seen-Wecom-Openid", "X-Seen-Openid", "X-Seen-Unionid"} {
					if v := resp.Header.Get(h); v != "" {
						got[h] = v
					}
				}
				want := map[string]string{tt.header: tt.want}
				if target == "/api/orders" { // outside /staff/*: no identity
					want = map[string]string{}
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s: upstream saw %v, want %v", target, got, want)
				}
			}
			if tt.member == "0" && !wecomOpenIDRE.MatchString(tt.want) {
				t.Fatalf("the fake's openid %q", tt.want)
			}
		})
	}
	if tok, info := fake.counts(); tok != 1 || info != 2 {
		t.Errorf("gettoken %d, getuserinfo %d; want 1 (one token for the app) and 2", tok, info)
	}

	t.Run("WeChat user on /shop/", func(t *testing.T) {
		b := newBrowser(t, wechatUA)
		if landing, _ := b.signIn(siteURL+"/shop/cart", siteURL); landing != "/shop/cart" {
			t.Fatalf("landed on %q", landing)
		}
		resp, _ := b.do(http.MethodGet, siteURL+"/shop/cart")
		if !openIDRE.MatchString(resp.Header.Get("X-Seen-Openid")) || resp.Header.Get("X-Seen-Wecom-Userid") != "" {
			t.Errorf("upstream saw openid %q, WeCom userid %q", resp.Header.Get("X-Seen-Openid"), resp.Header.Get("X-Seen-Wecom-Userid"))
		}
		// WeChat's browser is not WeCom's: on /staff/ it passes without
		// identity (outside_wechat pass)
		if resp, _ := b.do(http.MethodGet, siteURL+"/staff/"); resp.StatusCode != http.StatusOK || resp.Header.Get("X-Seen-Wecom-Userid") != "" {
			t.Errorf("/staff/ in WeChat: %d, userid %q", resp.StatusCode, resp.Header.Get("X-Seen-Wecom-Userid"))
		}
	})

	t.Run("refused code", func(t *testing.T) {
		b := newBrowser(t, wecomUA)
		resp, _ := b.do(http.MethodGet, siteURL+"/staff/x")
		callback := atWeCom(t, b, resp.Header.Get("Location")).Header.Get("Location")
		forged := strings.Replace(callback, "code="+mustQuery(t, callback, "code"), "code=not-a-code", 1)
		resp, body := b.do(http.MethodGet, forged)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "the sign-in code was invalid or already used") {
			t.Errorf("a code WeCom refuses (40029): %d %q", resp.StatusCode, body)
		}
	})

	t.Run("XHR without a session", func(t *testing.T) {
		b := newBrowser(t, wecomUA)
		resp, body := b.do(http.MethodPost, siteURL+"/staff/api", "Sec-Fetch-Mode", "cors")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "reload the page in WeCom") {
			t.Errorf("%d %q", resp.StatusCode, body)
		}
	})
}

// TestOAuthWeComForgedHeaders: X-WeCom-UserID and X-WeCom-OpenID, in every
// spelling and on as many lines as sent, never reach the upstream from a
// client, on any request of the site, under both directives' matchers and
// outside them.
func TestOAuthWeComForgedHeaders(t *testing.T) {
	forgeries := map[string][][2]string{
		"canonical":      {{"X-WeCom-UserID", "boss"}, {"X-WeCom-OpenID", "oForged"}},
		"lower case":     {{"x-wecom-userid", "boss"}, {"x-wecom-openid", "oForged"}},
		"underscores":    {{"X_WeCom_UserID", "boss"}, {"x_wecom_openid", "oForged"}},
		"dots":           {{"X.WeCom.UserID", "boss"}, {"X.WECOM.OPENID", "oForged"}},
		"repeated lines": {{"X-WeCom-UserID", "boss"}, {"X-WECOM-USERID", "boss2"}, {"x_wecom_userid", "boss3"}, {"X-WeCom-UserID", "boss4"}},
	}
	targets := []string{"/staff/home", "/STAFF/home", "/shop/cart", "/api/orders", "/staff/../api/orders", "/staff/%2e%2e/api/orders"}
	for _, srv := range wecomServers {
		t.Run(srv.name, func(t *testing.T) {
			wecomEnv(t, srv.options)
			// the options took: X_Probe reaches the upstream where '_' names are let through
			resp, _ := rawRequest(t, "/probe", [][2]string{{"X_Probe", "1"}})
			if got, want := resp.Header.Get("X-Seen-Probe") == "1", srv.options != ""; got != want {
				t.Fatalf("upstream received X_Probe: %v, want %v", got, want)
			}
			for name, forged := range forgeries {
				for _, target := range targets {
					for _, ua := range []string{plainUA, wechatUA} {
						resp, _ := rawRequest(t, target, append([][2]string{{"User-Agent", ua}}, forged...))
						if resp.Header.Get("X-Upstream") != "reached" {
							if ua == wechatUA && strings.HasPrefix(strings.ToLower(target), "/shop/") && resp.StatusCode == http.StatusFound {
								continue // WeChat's browser on /shop/ is sent to sign in: nothing reaches the upstream
							}
							t.Fatalf("%s %s: %d, want the upstream's answer", name, target, resp.StatusCode)
						}
						for _, h := range []string{"X-Seen-Wecom-Userid", "X-Seen-Wecom-Openid"} {
							if v := resp.Header.Get(h); v != "" {
								t.Errorf("%s %s (%s): upstream saw %s %q", name, target, ua[:20], h, v)
							}
						}
					}
				}
			}
		})
	}
}

// newOAuthWeComInstance is one Caddy process with wechat_oauth in WeCom
// mode against fake, the debug log in the instance's log, sharing
// storage.
func newOAuthWeComInstance(t *testing.T, name, bin, storage, upstream string, fake *fakeOAuthWeCom) *instance {
	t.Helper()
	in := newInstance(t, name, bin, storage)
	caddyfile := fmt.Sprintf(`{
	admin %s
	auto_https off
	persist_config off
	grace_period 1ns
	log {
		level DEBUG
	}
	%s
}

http://%s {
	wechat_oauth {
		corp_id       %s
		agent_id      %s
		corp_secret   {env.%s}
		api_base      %s
		authorize_url %s/connect/oauth2/authorize
	}
	reverse_proxy %s
}
`, strings.TrimPrefix(in.adminURL, "http://"), storage, strings.TrimPrefix(in.siteURL, "http://"),
		wecomCorpID, oauthWeComAgentID, clusterSecretEnv, fake.URL(), fake.URL(), strings.TrimPrefix(upstream, "http://"))
	if err := os.WriteFile(in.config, []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return in
}

// TestOAuthWeComClusterStateOnce: two Caddy processes sharing a storage
// (file system, Redis) use a WeCom sign-in's state once between them: the
// state replayed on the other instance with a fresh code is refused before
// any code exchange; a repeat of the callback (WeChat's double redirect)
// gets the first one's session; and a session made on one instance signs
// in on the other.
func TestOAuthWeComClusterStateOnce(t *testing.T) {
	for _, st := range clusterStorages {
		t.Run(st.name, func(t *testing.T) {
			storage := st.setup(t)
			fake := newFakeWeCom(t, testSecret) // the instances get testSecret (clusterSecretEnv)
			upstream := httptest.NewServer(wecomEcho{})
			t.Cleanup(upstream.Close)
			bin := clusterBinary(t)
			a := newOAuthWeComInstance(t, "a", bin, storage, upstream.URL, fake)
			b := newOAuthWeComInstance(t, "b", bin, storage, upstream.URL, fake)
			a.start(t)
			b.start(t)

			userOn := func(in *instance, session *http.Cookie) string {
				t.Helper()
				req, _ := http.NewRequest(http.MethodGet, in.siteURL+"/whoami", nil)
				req.Header.Set("User-Agent", wecomUA)
				req.AddCookie(session)
				resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.Header.Get("X-Seen-Wecom-Userid")
			}
			wecomSession := func(resp *http.Response) *http.Cookie {
				for _, c := range resp.Cookies() {
					if c.Name == "wechat_oauth_wecom" && c.Value != "" {
						return c
					}
				}
				return nil
			}

			br := newBrowser(t, wecomUA)
			resp, _ := br.do(http.MethodGet, a.siteURL+"/first")
			link := resp.Header.Get("Location")
			if !wecomAuthorizeRE(fake.URL()).MatchString(link) {
				t.Fatalf("a: %d Location %q", resp.StatusCode, link)
			}
			stateCookie := br.cookie(a.siteURL, "wechat_oauth_wecom_state")
			callback := atWeCom(t, br, link).Header.Get("Location")
			code := mustQuery(t, callback, "code")
			tok0, info0 := fake.counts()

			first, body, err := callbackAs(t.Context(), callback, stateCookie)
			if err != nil || first.StatusCode != http.StatusFound || first.Header.Get("Location") != "/first" || wecomSession(first) == nil {
				t.Fatalf("callback on a: %s %q", statusOf(first, err), body)
			}
			// WeChat's double redirect: the same callback again, on b
			repeat, body, err := callbackAs(t.Context(), strings.Replace(callback, a.siteURL, b.siteURL, 1), stateCookie)
			if err != nil || repeat.StatusCode != http.StatusFound || wecomSession(repeat) == nil || wecomSession(repeat).Value != wecomSession(first).Value {
				t.Fatalf("repeat on b: %s %q, want the first one's session", statusOf(repeat, err), body)
			}
			// a replay: the state and its cookie, with a fresh code, on b
			helper := newBrowser(t, wecomUA)
			resp, _ = helper.do(http.MethodGet, b.siteURL+"/")
			fresh := mustQuery(t, atWeCom(t, helper, resp.Header.Get("Location")).Header.Get("Location"), "code")
			replay := strings.Replace(strings.Replace(callback, a.siteURL, b.siteURL, 1), "code="+code, "code="+fresh, 1)
			if !strings.Contains(replay, "code="+fresh) {
				t.Fatalf("could not make the replay URL from %q", callback)
			}
			resp, body, err = callbackAs(t.Context(), replay, stateCookie)
			if err != nil || resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired or was started in another browser") || wecomSession(resp) != nil {
				t.Errorf("replay on b: %s %q", statusOf(resp, err), body)
			}
			if tok, info := fake.counts(); info-info0 != 1 || tok-tok0 != 1 {
				t.Errorf("%d getuserinfo and %d gettoken calls reached WeCom, want 1 and 1", info-info0, tok-tok0)
			}
			// the session works on both instances (one cookie key in the storage)
			s := wecomSession(first)
			if userOn(a, s) != "zhangsan" || userOn(b, s) != "zhangsan" {
				t.Errorf("the session: a saw %q, b saw %q", userOn(a, s), userOn(b, s))
			}
		})
	}
}

// TestOAuthWeComSecrets: corp_secret, the app's access token, the codes
// and a member's user_ticket never show in Caddy's log (DEBUG), the admin
// API's config or a response; the secret stays a placeholder in the
// config, and did reach WeCom (the sign-in worked).
func TestOAuthWeComSecrets(t *testing.T) {
	fake, logFile := wecomEnv(t, "")
	b := newBrowser(t, wecomUA)
	callback, _ := wecomSignIn(t, b, fake, siteURL+"/staff/", siteURL)
	code := mustQuery(t, callback, "code")
	resp, _ := b.do(http.MethodGet, siteURL+"/staff/")
	if resp.Header.Get("X-Seen-Wecom-Userid") != "zhangsan" {
		t.Fatalf("not signed in: %q", resp.Header.Get("X-Seen-Wecom-Userid"))
	}
	b.do(http.MethodGet, callback) // a replay, refused
	b.do(http.MethodGet, siteURL+wecomCallback+"?code=forged-code-canary&state=x")

	admin, err := http.Get("http://localhost:2999/config/")
	if err != nil {
		t.Fatal(err)
	}
	config, _ := io.ReadAll(admin.Body)
	admin.Body.Close()
	if !strings.Contains(string(config), "{env."+wecomSecretEnv+"}") {
		t.Fatalf("the admin API's config has no corp_secret placeholder, the test proves nothing: %s", config)
	}
	time.Sleep(100 * time.Millisecond) // the log file is written as it goes
	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logs), "signed in through WeCom") || !strings.Contains(string(logs), "fetched access_token") {
		t.Fatalf("the sign-in was not logged at debug level, the test proves nothing:\n%s", logs)
	}
	for where, text := range map[string]string{"log": string(logs), "admin config": string(config), "responses": b.seen.String()} {
		for _, secret := range []string{oauthWeComSecret, wecomTokenMark, wecomTicketMark, code, "forged-code-canary"} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s contains %q", where, secret)
			}
		}
	}
}

// wecomSandboxSite is the sandbox playing testAppID's Official Account and
// a WeCom corp with one app, whose secret is oauthWeComSecret.
const wecomSandboxSite = `
http://` + sandAddr + `, http://127.0.0.1:9081 {
	wechat_sandbox {
		app_id     ` + testAppID + `
		app_secret {env.` + oauthSecretEnv + `}
		corp_id    ` + wecomCorpID + `
		agent      ` + oauthWeComAgentID + ` {env.` + wecomSecretEnv + `}
	}
}
`

// sandboxWeComStats returns the sandbox's WeCom call counts for the corp,
// failed calls included (a call with a token the sandbox forgot has no
// agent it could be counted for).
func sandboxWeComStats(t *testing.T) map[string]int {
	t.Helper()
	resp, err := http.Get(sandURL + "/sandbox/stats")
	if err != nil {
		t.Fatalf("sandbox stats: %v", err)
	}
	defer resp.Body.Close()
	var st struct {
		WeCom map[string]any `json:"wecom"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("sandbox stats: %v", err)
	}
	out := map[string]int{}
	for k, v := range st.WeCom {
		if n, ok := v.(float64); ok {
			out[k] = int(n)
		}
	}
	return out
}

// TestOAuthWeComSandbox: the same flows against wechat_sandbox's WeCom
// corp, which checks the link as WeCom does (agentid after state) and
// chooses member or non-member by its wechat_sandbox_member cookie.
func TestOAuthWeComSandbox(t *testing.T) {
	t.Setenv(oauthSecretEnv, testSecret)
	t.Setenv(wecomSecretEnv, oauthWeComSecret)
	upstream := httptest.NewServer(wecomEcho{})
	t.Cleanup(upstream.Close)
	site := `
http://` + siteAddr + ` {
	wechat_oauth {
		corp_id       ` + wecomCorpID + `
		agent_id      ` + oauthWeComAgentID + `
		corp_secret   {env.` + wecomSecretEnv + `}
		scope         snsapi_privateinfo
		api_base      http://127.0.0.1:9081
		authorize_url http://127.0.0.1:9081/connect/oauth2/authorize
	}
	reverse_proxy ` + strings.TrimPrefix(upstream.URL, "http://") + `
}
`
	startCaddy(t, globalOptions("storage file_system "+t.TempDir())+wecomSandboxSite+site)
	before := sandboxWeComStats(t)
	tests := []struct {
		name, user, member string
		header             string
		want               func(string) bool
	}{
		{"member", "zhaoliu", "1", "X-Seen-Wecom-Userid", func(v string) bool { return v == "zhaoliu" }},
		{"non-member", "sunqi", "0", "X-Seen-Wecom-Openid", func(v string) bool { return regexp.MustCompile(`^o[A-Za-z0-9_-]+$`).MatchString(v) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, wecomUA)
			b.setCookie("http://127.0.0.1:9081", "wechat_sandbox_user", tt.user)
			b.setCookie("http://127.0.0.1:9081", "wechat_sandbox_member", tt.member)
			resp, body := b.do(http.MethodGet, siteURL+"/home?tab=1")
			link := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(link, "http://127.0.0.1:9081/connect/oauth2/authorize?appid="+wecomCorpID+"&redirect_uri=") ||
				!strings.Contains(link, "&response_type=code&scope=snsapi_privateinfo&state=") || !strings.HasSuffix(link, "&agentid="+oauthWeComAgentID+"#wechat_redirect") {
				t.Fatalf("%d Location %q %s", resp.StatusCode, link, body)
			}
			at := atWeCom(t, b, link)
			if at.StatusCode != http.StatusFound {
				t.Fatalf("the sandbox refused the link: %d", at.StatusCode)
			}
			resp, body = b.do(http.MethodGet, at.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/home?tab=1" {
				t.Fatalf("callback: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			resp, _ = b.do(http.MethodGet, siteURL+"/home?tab=1", "X-WeCom-UserID", "boss", "X-WeCom-OpenID", "oForged")
			if v := resp.Header.Get(tt.header); !tt.want(v) {
				t.Errorf("upstream saw %s %q", tt.header, v)
			}
			other := "X-Seen-Wecom-Openid"
			if tt.header == other {
				other = "X-Seen-Wecom-Userid"
			}
			if v := resp.Header.Get(other); v != "" {
				t.Errorf("upstream saw %s %q too", other, v)
			}
		})
	}
	after := sandboxWeComStats(t)
	if n := after["gettoken"] - before["gettoken"]; n != 1 {
		t.Errorf("%d gettoken calls, want 1 for both sign-ins", n)
	}
	if n := after["getuserinfo"] - before["getuserinfo"]; n != 2 {
		t.Errorf("%d getuserinfo calls, want 2", n)
	}

	// WeCom replaces the token without notice: the next getuserinfo gets
	// 40014, the handler fetches one token and tries the code once more
	t.Run("token replaced by WeCom", func(t *testing.T) {
		resp, err := http.Post(sandURL+"/sandbox/rotate", "application/json", strings.NewReader("{}"))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("rotate: %v %v", err, resp)
		}
		resp.Body.Close()
		before := sandboxWeComStats(t)
		b := newBrowser(t, wecomUA)
		resp, _ = b.do(http.MethodGet, siteURL+"/")
		resp, body := b.do(http.MethodGet, atWeCom(t, b, resp.Header.Get("Location")).Header.Get("Location"))
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("callback after the rotation: %d %s", resp.StatusCode, body)
		}
		after := sandboxWeComStats(t)
		if tok, info := after["gettoken"]-before["gettoken"], after["getuserinfo"]-before["getuserinfo"]; tok != 1 || info != 2 {
			t.Errorf("after the rotation: %d gettoken and %d getuserinfo calls, want 1 and 2", tok, info)
		}
	})
}
