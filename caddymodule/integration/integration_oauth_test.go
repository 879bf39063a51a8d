package integration_test

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	oauthSecretEnv = "JSSDK_TEST_OAUTH_SECRET"
	wechatUA       = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
	plainUA        = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
	// siteB serves the matcher variant: wechat_oauth /shop/* with
	// outside_wechat deny, behind an SPA rewrite.
	siteB         = "127.0.0.1:9080"
	siteBURL      = "http://" + siteB
	oauthCallback = "/.well-known/wechat-oauth/callback"
)

var (
	openIDRE      = regexp.MustCompile(`^o[A-Za-z0-9_-]{27}$`)
	authorizeRE   = regexp.MustCompile(`^http://127\.0\.0\.1:9081/connect/oauth2/authorize\?appid=wx0123456789abcdef&redirect_uri=([^&]+)&response_type=code&scope=snsapi_base&state=([0-9a-f]{48})#wechat_redirect$`)
	sandboxCodeRE = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)
)

// identityEcho is the upstream: it answers, in response headers, the
// identity headers it received, under every spelling a backend could read
// as them. Paths ending in .html get a page, for wechat_jssdk to sign.
type identityEcho struct{}

func (identityEcho) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var openIDs, unionIDs []string
	for name, v := range r.Header {
		switch strings.ToLower(strings.ReplaceAll(name, "_", "-")) {
		case "x-wechat-openid":
			openIDs = append(openIDs, v...)
		case "x-wechat-unionid":
			unionIDs = append(unionIDs, v...)
		}
	}
	w.Header().Set("X-Seen-Openid", strings.Join(openIDs, ","))
	w.Header().Set("X-Seen-Unionid", strings.Join(unionIDs, ","))
	w.Header().Set("X-Seen-Path", r.URL.RequestURI())
	if strings.HasSuffix(r.URL.Path, ".html") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><html><head><title>order</title></head><body>order</body></html>")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ok":true}`)
}

// oauthSites is the two sites of the OAuth tests: localhost:9080 with
// wechat_oauth in front of everything and wechat_jssdk signing the pages,
// and 127.0.0.1:9080 with wechat_oauth /shop/* only, outside_wechat deny,
// and an SPA fallback that rewrites the callback path before wechat_oauth
// runs. apiBase is where codes are exchanged.
func oauthSites(upstream, apiBase, logFile string) string {
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
	log {
		output file ` + logFile + `
		level DEBUG
	}
	wechat_oauth {` + oauth("") + `
	}
	wechat_jssdk {
		app_id     ` + testAppID + `
		app_secret {env.` + oauthSecretEnv + `}
		api_base   http://127.0.0.1:9081
	}
	reverse_proxy ` + host + `
}

http://` + siteB + ` {
	log {
		output file ` + logFile + `
		level DEBUG
	}
	wechat_oauth /shop/* {` + oauth("outside_wechat deny") + `
	}
	root * ` + siteRoot + `
	try_files {path} /index.html
	reverse_proxy ` + host + `
}
`
}

// oauthSandboxSite is sandboxSite with the secret as a placeholder, so
// that the leak test can look for it in the admin API's config.
const oauthSandboxSite = `
http://` + sandAddr + `, http://127.0.0.1:9081 {
	wechat_sandbox {
		app_id     ` + testAppID + `
		app_secret {env.` + oauthSecretEnv + `}
	}
}
`

// oauthEnv starts the sandbox and the OAuth sites with their own storage
// directory, and returns the storage directory and the log file.
func oauthEnv(t *testing.T, apiBase string) (storageDir, logFile string) {
	t.Helper()
	t.Setenv(oauthSecretEnv, testSecret)
	upstream := httptest.NewServer(identityEcho{})
	t.Cleanup(upstream.Close)
	storageDir = t.TempDir()
	logFile = filepath.Join(t.TempDir(), "caddy.log")
	global := globalOptions("storage file_system " + storageDir + "\n\tlog {\n\t\toutput file " + logFile + "\n\t\tlevel DEBUG\n\t}")
	startCaddy(t, global+oauthSandboxSite+oauthSites(upstream.URL, apiBase, logFile))
	return storageDir, logFile
}

// browser is a client that keeps cookies, follows no redirect, and
// remembers every response, for the leak checks.
type browser struct {
	t      *testing.T
	ua     string
	jar    *cookiejar.Jar
	client *http.Client
	seen   strings.Builder
}

func newBrowser(t *testing.T, ua string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ua: ua, jar: jar, client: &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends one request with the browser's cookies; header pairs are set
// exactly as given, not canonicalized.
func (b *browser) do(method, rawURL string, headers ...string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("User-Agent", b.ua)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header[headers[i]] = append(req.Header[headers[i]], headers[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	b.record(resp, string(body))
	return resp, string(body)
}

// record keeps what the sites answered; the sandbox's answers, which carry
// the codes it issues, are WeChat's and are left out.
func (b *browser) record(resp *http.Response, body string) {
	if resp.Request.URL.Port() == "9081" {
		return
	}
	b.seen.WriteString(body)
	for k, v := range resp.Header {
		if k != "Set-Cookie" { // sealed values; checked apart
			b.seen.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
	}
}

// cookie returns the browser's cookie name for rawURL, or nil.
func (b *browser) cookie(rawURL, name string) *http.Cookie {
	u, _ := url.Parse(rawURL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (b *browser) setCookie(rawURL, name, value string) {
	u, _ := url.Parse(rawURL)
	b.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// startSignIn requests start and checks it is sent to WeChat's authorize
// page, as WeChat wants the link. It returns that link.
func (b *browser) startSignIn(start, origin string) string {
	b.t.Helper()
	resp, _ := b.do(http.MethodGet, start)
	loc := resp.Header.Get("Location")
	m := authorizeRE.FindStringSubmatch(loc)
	if resp.StatusCode != http.StatusFound || m == nil {
		b.t.Fatalf("GET %s: %d Location %q, want 302 to the authorize page", start, resp.StatusCode, loc)
	}
	if redirect, _ := url.QueryUnescape(m[1]); redirect != origin+oauthCallback {
		b.t.Fatalf("redirect_uri %q, want %q", redirect, origin+oauthCallback)
	}
	return loc
}

// authorize follows the authorize link at the sandbox and returns the
// callback URL it sends the browser to, and the code in it.
func (b *browser) authorize(link string) (callback, code string) {
	b.t.Helper()
	resp, body := b.do(http.MethodGet, link)
	callback = resp.Header.Get("Location")
	u, err := url.Parse(callback)
	if resp.StatusCode != http.StatusFound || err != nil || !sandboxCodeRE.MatchString(u.Query().Get("code")) {
		b.t.Fatalf("sandbox authorize: %d Location %q %s", resp.StatusCode, callback, body)
	}
	return callback, u.Query().Get("code")
}

// signIn runs the whole dance from start and returns where the callback
// lands and the code it used.
func (b *browser) signIn(start, origin string) (landing, code string) {
	b.t.Helper()
	callback, code := b.authorize(b.startSignIn(start, origin))
	resp, body := b.do(http.MethodGet, callback)
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}
	return resp.Header.Get("Location"), code
}

func TestOAuthSignIn(t *testing.T) {
	oauthEnv(t, "http://127.0.0.1:9081")
	const page = "/pay/order.html?item=42&from=singlemessage&isappinstalled=0"
	b := newBrowser(t, wechatUA)
	landing, code := b.signIn(siteURL+page, siteURL)
	if landing != page {
		t.Fatalf("landed on %q, want %q: the original URL, without code or state", landing, page)
	}
	if b.cookie(siteURL, "wechat_oauth_state") != nil {
		t.Error("the state cookie outlived the callback")
	}
	resp, body := b.do(http.MethodGet, siteURL+landing)
	openID := resp.Header.Get("X-Seen-Openid")
	if resp.StatusCode != http.StatusOK || !openIDRE.MatchString(openID) || resp.Header.Get("X-Seen-Unionid") == "" {
		t.Fatalf("landing page: %d, upstream saw openid %q unionid %q", resp.StatusCode, openID, resp.Header.Get("X-Seen-Unionid"))
	}
	// the page the user lands on signs cleanly: the URL has no code/state
	if ok, msg := verify(t, injectedConfig(t, body), siteURL+landing); !ok {
		t.Errorf("the landing page's wx.config does not verify: %s", msg)
	}
	// XHRs of the page carry the identity too
	if resp, _ := b.do(http.MethodPost, siteURL+"/api/order", "Sec-Fetch-Mode", "cors"); resp.Header.Get("X-Seen-Openid") != openID {
		t.Errorf("POST with the session: upstream saw %q", resp.Header.Get("X-Seen-Openid"))
	}

	// the same WeChat user in a fresh browser: the same openid; another
	// user (the sandbox's user cookie): another one
	again := newBrowser(t, wechatUA)
	again.signIn(siteURL+"/", siteURL)
	if resp, _ := again.do(http.MethodGet, siteURL+"/"); resp.Header.Get("X-Seen-Openid") != openID {
		t.Errorf("the same user got openid %q, then %q", openID, resp.Header.Get("X-Seen-Openid"))
	}
	alice := newBrowser(t, wechatUA)
	alice.setCookie("http://127.0.0.1:9081", "wechat_sandbox_user", "alice")
	alice.signIn(siteURL+"/", siteURL)
	if resp, _ := alice.do(http.MethodGet, siteURL+"/"); resp.Header.Get("X-Seen-Openid") == openID || !openIDRE.MatchString(resp.Header.Get("X-Seen-Openid")) {
		t.Errorf("another user got openid %q (first user %q)", resp.Header.Get("X-Seen-Openid"), openID)
	}
	if strings.Contains(b.seen.String(), code) {
		t.Error("a response repeated the code")
	}
}

func TestOAuthMatcherAndSPARewrite(t *testing.T) {
	oauthEnv(t, "http://127.0.0.1:9081")
	b := newBrowser(t, wechatUA)
	// outside /shop/*: no sign-in, even in WeChat
	if resp, _ := b.do(http.MethodGet, siteBURL+"/about"); resp.StatusCode != http.StatusOK || resp.Header.Get("X-Seen-Openid") != "" {
		t.Fatalf("/about: %d", resp.StatusCode)
	}
	// the callback is outside the matcher and rewritten by try_files, and
	// still reaches wechat_oauth
	landing, _ := b.signIn(siteBURL+"/shop/cart?step=2", siteBURL)
	if landing != "/shop/cart?step=2" {
		t.Fatalf("landed on %q", landing)
	}
	if resp, _ := b.do(http.MethodGet, siteBURL+landing); !openIDRE.MatchString(resp.Header.Get("X-Seen-Openid")) {
		t.Errorf("upstream saw openid %q", resp.Header.Get("X-Seen-Openid"))
	}
}

func TestOAuthWithoutSession(t *testing.T) {
	oauthEnv(t, "http://127.0.0.1:9081")
	tests := []struct {
		name, ua, method, url string
		headers               []string
		status                int
		body                  string // part of it; "" for the upstream's answer
	}{
		{"WeChat POST", wechatUA, http.MethodPost, siteURL + "/api/order", nil, http.StatusUnauthorized, `"error":"wechat_oauth_required"`},
		{"WeChat fetch", wechatUA, http.MethodGet, siteURL + "/api/me", []string{"Sec-Fetch-Mode", "cors"}, http.StatusUnauthorized, `"error":"wechat_oauth_required"`},
		{"other browser, pass", plainUA, http.MethodGet, siteURL + "/pay/order.html", nil, http.StatusOK, ""},
		{"other browser POST, pass", plainUA, http.MethodPost, siteURL + "/api/order", nil, http.StatusOK, ""},
		{"other browser, deny", plainUA, http.MethodGet, siteBURL + "/shop/cart", nil, http.StatusForbidden, "请在微信客户端打开链接"},
		{"other browser fetch, deny", plainUA, http.MethodPost, siteBURL + "/shop/cart", nil, http.StatusForbidden, `"error":"wechat_required"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, tt.ua)
			headers := append([]string{"X-WeChat-OpenID", "spoofed"}, tt.headers...)
			resp, body := b.do(tt.method, tt.url, headers...)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.body) {
				t.Fatalf("%d %q, want %d with %q", resp.StatusCode, body, tt.status, tt.body)
			}
			if tt.body == "" && (resp.Header.Get("X-Seen-Path") == "" || resp.Header.Get("X-Seen-Openid") != "") {
				t.Errorf("upstream: path %q, openid %q; want reached without identity", resp.Header.Get("X-Seen-Path"), resp.Header.Get("X-Seen-Openid"))
			}
		})
	}
}

func TestOAuthSpoofedHeadersStripped(t *testing.T) {
	oauthEnv(t, "http://127.0.0.1:9081")
	spoofs := []string{"X-WeChat-OpenID", "oSpoofed", "x-wechat-openid", "oSpoofed2", "X_WeChat_OpenID", "oSpoofed3",
		"X-WeChat-UnionID", "uSpoofed", "x_wechat_unionid", "uSpoofed2"}
	anon := newBrowser(t, plainUA)
	resp, _ := anon.do(http.MethodGet, siteURL+"/", spoofs...)
	if resp.Header.Get("X-Seen-Openid") != "" || resp.Header.Get("X-Seen-Unionid") != "" {
		t.Errorf("without a session, upstream saw openid %q unionid %q", resp.Header.Get("X-Seen-Openid"), resp.Header.Get("X-Seen-Unionid"))
	}
	b := newBrowser(t, wechatUA)
	b.signIn(siteURL+"/", siteURL)
	real, _ := b.do(http.MethodGet, siteURL+"/")
	resp, _ = b.do(http.MethodGet, siteURL+"/", spoofs...)
	if got, want := resp.Header.Get("X-Seen-Openid"), real.Header.Get("X-Seen-Openid"); got != want || !openIDRE.MatchString(got) {
		t.Errorf("with a session, upstream saw openid %q, want only %q", got, want)
	}
	if got, want := resp.Header.Get("X-Seen-Unionid"), real.Header.Get("X-Seen-Unionid"); got != want || strings.Contains(got, ",") {
		t.Errorf("with a session, upstream saw unionid %q, want only %q", got, want)
	}
}

func TestOAuthRefusals(t *testing.T) {
	storageDir, _ := oauthEnv(t, "http://127.0.0.1:9081")
	key := cookieKey(t, storageDir)

	t.Run("cookies", func(t *testing.T) {
		b := newBrowser(t, wechatUA)
		b.signIn(siteURL+"/", siteURL)
		good := b.cookie(siteURL, "wechat_oauth").Value
		tampered := []byte(good)
		tampered[len(tampered)/2] ^= 'A' ^ 'B'
		if tampered[len(tampered)/2] == good[len(good)/2] {
			tampered[len(tampered)/2] = 'Z'
		}
		otherKey := make([]byte, 32)
		rand.Read(otherKey)
		crafted := sealSessionCookie(t, key, testAppID, time.Now().Add(time.Hour), "oCraftedWithTheStorageKey000")
		tests := []struct {
			name, value, want string // want: the openid upstream sees, "" for a new sign-in
		}{
			{"the real cookie", good, "real"},
			{"sealed with the key in storage", crafted, "oCraftedWithTheStorageKey000"},
			{"tampered", string(tampered), ""},
			{"expired", sealSessionCookie(t, key, testAppID, time.Now().Add(-time.Second), "oExpired00000000000000000000"), ""},
			{"another key", sealSessionCookie(t, otherKey, testAppID, time.Now().Add(time.Hour), "oForeign00000000000000000000"), ""},
			{"another app", sealSessionCookie(t, key, "wx00000000000000ff", time.Now().Add(time.Hour), "oOtherApp0000000000000000000"), ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodGet, siteURL+"/x", nil)
				req.Header.Set("User-Agent", wechatUA)
				req.AddCookie(&http.Cookie{Name: "wechat_oauth", Value: tt.value})
				resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				switch tt.want {
				case "":
					if resp.StatusCode != http.StatusFound || !authorizeRE.MatchString(resp.Header.Get("Location")) {
						t.Errorf("%d %q, want a new sign-in", resp.StatusCode, resp.Header.Get("Location"))
					}
				case "real":
					if !openIDRE.MatchString(resp.Header.Get("X-Seen-Openid")) {
						t.Errorf("%d, openid %q", resp.StatusCode, resp.Header.Get("X-Seen-Openid"))
					}
				default:
					if resp.Header.Get("X-Seen-Openid") != tt.want {
						t.Errorf("%d, openid %q, want %q", resp.StatusCode, resp.Header.Get("X-Seen-Openid"), tt.want)
					}
				}
			})
		}
	})

	t.Run("replayed state", func(t *testing.T) {
		b := newBrowser(t, wechatUA)
		callback, _ := b.authorize(b.startSignIn(siteURL+"/", siteURL))
		stateCookie := b.cookie(siteURL, "wechat_oauth_state")
		if resp, _ := b.do(http.MethodGet, callback); resp.StatusCode != http.StatusFound {
			t.Fatalf("first callback: %d", resp.StatusCode)
		}
		// the same state, its cookie put back, and a fresh code
		helper := newBrowser(t, wechatUA)
		_, fresh := helper.authorize(helper.startSignIn(siteURL+"/", siteURL))
		b.setCookie(siteURL, stateCookie.Name, stateCookie.Value)
		replay := strings.Replace(callback, "code="+mustQuery(t, callback, "code"), "code="+fresh, 1)
		resp, body := b.do(http.MethodGet, replay)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired or was started in another browser") {
			t.Errorf("replayed state: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("state of another browser", func(t *testing.T) {
		victim, attacker := newBrowser(t, wechatUA), newBrowser(t, wechatUA)
		// the attacker's own callback link, opened in the victim's browser
		callback, _ := attacker.authorize(attacker.startSignIn(siteURL+"/", siteURL))
		resp, body := victim.do(http.MethodGet, callback)
		if resp.StatusCode != http.StatusBadRequest || victim.cookie(siteURL, "wechat_oauth") != nil {
			t.Errorf("login CSRF: %d %q, session %v", resp.StatusCode, body, victim.cookie(siteURL, "wechat_oauth"))
		}
	})

	t.Run("reused code", func(t *testing.T) {
		_, used := newBrowser(t, wechatUA).signIn(siteURL+"/", siteURL)
		b := newBrowser(t, wechatUA)
		callback, _ := b.authorize(b.startSignIn(siteURL+"/", siteURL))
		reuse := strings.Replace(callback, "code="+mustQuery(t, callback, "code"), "code="+used, 1)
		resp, body := b.do(http.MethodGet, reuse)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid or already used") {
			t.Errorf("reused code (sandbox 40163): %d %q", resp.StatusCode, body)
		}
	})

	t.Run("foreign return URL", func(t *testing.T) {
		for target, want := range map[string]string{
			"//evil.example/landing?x=1": "/evil.example/landing?x=1",
			`/\evil.example/landing`:     "/%5Cevil.example/landing",
		} {
			b := newBrowser(t, wechatUA)
			resp := rawGet(t, siteAddr, target, wechatUA)
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusFound || !authorizeRE.MatchString(loc) {
				t.Fatalf("GET %s: %d %q", target, resp.StatusCode, loc)
			}
			u, _ := url.Parse(siteURL)
			b.jar.SetCookies(u, resp.Cookies())
			callback, _ := b.authorize(loc)
			cb, _ := b.do(http.MethodGet, callback)
			landing := cb.Header.Get("Location")
			if cb.StatusCode != http.StatusFound || landing != want {
				t.Errorf("GET %s landed on %q", target, landing)
			}
			if resolved, _ := u.Parse(landing); resolved.Host != siteAddr {
				t.Errorf("GET %s: the landing %q resolves to host %q", target, landing, resolved.Host)
			}
		}
	})
}

func mustQuery(t *testing.T, rawURL, key string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(key)
}

// rawGet sends a request whose target is written byte for byte, which
// net/http's client would normalize (it sends "//host/p" in absolute form).
func rawGet(t *testing.T, addr, target, ua string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nConnection: close\r\n\r\n", target, addr, ua)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// cookieKey reads the app's cookie key from the file storage at dir.
func cookieKey(t *testing.T, dir string) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(dir, "wechat_oauth", testAppID, "cookie_key"))
	if err != nil {
		t.Fatalf("the cookie key is not in the storage: %v", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil || len(key) != 32 {
		t.Fatalf("the stored cookie key is not 32 bytes of base64 (%v)", err)
	}
	return key
}

// sealSessionCookie writes a session cookie as wechat_oauth does (its
// documented format: version 1, a 12-byte nonce, AES-256-GCM over expiry,
// openid and unionid, bound to purpose and app ID), so a test can make
// expired or foreign ones.
func sealSessionCookie(t *testing.T, key []byte, appID string, exp time.Time, openID string) string {
	t.Helper()
	plain := binary.BigEndian.AppendUint64(nil, uint64(exp.Unix()))
	plain = append(plain, byte(len(openID)))
	plain = append(plain, openID...)
	plain = append(plain, 0) // no unionid
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, _ := cipher.NewGCM(block)
	out := make([]byte, 13, 13+len(plain)+aead.Overhead())
	out[0] = 1
	rand.Read(out[1:])
	out = aead.Seal(out, out[1:13], plain, []byte("wechat_oauth\x00session\x00v1\x00"+appID))
	return base64.RawURLEncoding.EncodeToString(out)
}

// fakeOAuthAPI exchanges any code once, answering known canary tokens; a
// second use answers 40163 with an errmsg that echoes code and secret, as
// a careless server might.
type fakeOAuthAPI struct {
	used map[string]bool
}

const (
	canaryUserToken    = "leak-canary-user-access-token-93f1"
	canaryRefreshToken = "leak-canary-refresh-token-7d2a"
)

func (f *fakeOAuthAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code := q.Get("code")
	w.Header().Set("Content-Type", "application/json")
	if f.used[code] {
		fmt.Fprintf(w, `{"errcode":40163,"errmsg":"code been used: %s (secret %s)"}`, code, q.Get("secret"))
		return
	}
	f.used[code] = true
	fmt.Fprintf(w, `{"access_token":%q,"expires_in":7200,"refresh_token":%q,"openid":"oCanaryOpenID000000000000000","scope":"snsapi_base"}`,
		canaryUserToken, canaryRefreshToken)
}

func TestOAuthSecretsNeverLeak(t *testing.T) {
	api := httptest.NewServer(&fakeOAuthAPI{used: map[string]bool{}})
	t.Cleanup(api.Close)
	storageDir, logFile := oauthEnv(t, api.URL)
	var codes []string
	b := newBrowser(t, wechatUA)
	_, code := b.signIn(siteURL+"/a", siteURL)
	codes = append(codes, code)
	b.do(http.MethodGet, siteURL+"/a")
	// a reused code: the fake echoes code and secret in its errmsg
	reuser := newBrowser(t, wechatUA)
	callback, code2 := reuser.authorize(reuser.startSignIn(siteURL+"/b", siteURL))
	codes = append(codes, code2)
	if resp, _ := reuser.do(http.MethodGet, strings.Replace(callback, code2, code, 1)); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("callback with a used code: %d, want 400", resp.StatusCode)
	}
	// WeChat unreachable, on the other site (its api_base is the fake too,
	// so stop the fake for this one)
	api.Close()
	b2 := newBrowser(t, wechatUA)
	callback, code3 := b2.authorize(b2.startSignIn(siteBURL+"/shop/x", siteBURL))
	codes = append(codes, code3)
	if resp, _ := b2.do(http.MethodGet, callback); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("callback with WeChat down: %d, want 502", resp.StatusCode)
	}

	resp, err := http.Get("http://localhost:2999/config/")
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logs), "handled request") || !strings.Contains(string(logs), "the OAuth code exchange with WeChat failed") {
		t.Fatalf("the access log or the failure is missing from the logs: the test would prove nothing\n%s", logs)
	}
	if strings.Contains(string(logs), `"uri":"`+oauthCallback) {
		t.Errorf("the callback request reached the access log:\n%s", logs)
	}
	key := cookieKey(t, storageDir)
	secrets := append([]string{testSecret, canaryUserToken, canaryRefreshToken, string(key), base64.StdEncoding.EncodeToString(key)}, codes...)
	for name, hay := range map[string]string{"logs": string(logs), "responses": b.seen.String() + reuser.seen.String() + b2.seen.String(), "admin /config/": string(admin)} {
		for _, s := range secrets {
			if strings.Contains(hay, s) {
				t.Errorf("%s contain a secret (%.12s…)", name, s)
			}
		}
	}
}

// TestOAuthCluster: two Caddy processes sharing a storage accept each
// other's session cookies, a sign-in started on one completes on the
// other, and restarting both keeps everyone signed in.
func TestOAuthCluster(t *testing.T) {
	for _, st := range clusterStorages {
		t.Run(st.name, func(t *testing.T) {
			storage := st.setup(t)
			startCaddy(t, globalOptions("")+sandboxSite)
			upstream := httptest.NewServer(identityEcho{})
			t.Cleanup(upstream.Close)
			bin := clusterBinary(t)
			a := newOAuthInstance(t, "a", bin, storage, upstream.URL)
			b := newOAuthInstance(t, "b", bin, storage, upstream.URL)
			a.start(t)
			b.start(t)

			// One browser: cookies ignore ports, so both instances get the
			// same cookies, as behind one load balancer.
			br := newBrowser(t, wechatUA)
			br.signIn(a.siteURL+"/p", a.siteURL)
			seenOn := func(in *instance) string {
				t.Helper()
				resp, _ := br.do(http.MethodGet, in.siteURL+"/p")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: %d, want the page", in.name, resp.StatusCode)
				}
				return resp.Header.Get("X-Seen-Openid")
			}
			openID := seenOn(a)
			if !openIDRE.MatchString(openID) || seenOn(b) != openID {
				t.Fatalf("a saw %q, b saw %q", openID, seenOn(b))
			}

			// started on b, called back on a
			other := newBrowser(t, wechatUA)
			other.setCookie("http://127.0.0.1:9081", "wechat_sandbox_user", "bob")
			callback, _ := other.authorize(other.startSignIn(b.siteURL+"/q", b.siteURL))
			callback = strings.Replace(callback, b.siteURL, a.siteURL, 1)
			if resp, body := other.do(http.MethodGet, callback); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/q" {
				t.Fatalf("callback on the other instance: %d %q", resp.StatusCode, body)
			}

			a.stop(t)
			b.stop(t)
			a.start(t)
			b.start(t)
			if seenOn(a) != openID || seenOn(b) != openID {
				t.Errorf("after a restart: a saw %q, b saw %q, want %q", seenOn(a), seenOn(b), openID)
			}
		})
	}
}

// newOAuthInstance is the cluster harness's instance (its ports, storage,
// process handling) running wechat_oauth in front of upstream instead of
// wechat_jssdk. Requests that are not from WeChat pass, so the harness's
// readiness probe still gets its 200.
func newOAuthInstance(t *testing.T, name, bin, storage, upstream string) *instance {
	t.Helper()
	in := newInstance(t, name, bin, storage)
	caddyfile := fmt.Sprintf(`{
	admin %s
	auto_https off
	persist_config off
	grace_period 1ns
	%s
}

http://%s {
	wechat_oauth {
		app_id        %s
		app_secret    {env.%s}
		api_base      http://127.0.0.1:9081
		authorize_url http://127.0.0.1:9081/connect/oauth2/authorize
	}
	reverse_proxy %s
}
`, strings.TrimPrefix(in.adminURL, "http://"), storage, strings.TrimPrefix(in.siteURL, "http://"),
		testAppID, clusterSecretEnv, strings.TrimPrefix(upstream, "http://"))
	if err := os.WriteFile(in.config, []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return in
}
