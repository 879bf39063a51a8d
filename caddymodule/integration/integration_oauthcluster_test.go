package integration_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// exchangeCounter stands in front of the sandbox for the instances'
// api_base: it counts the code exchanges (/sns/oauth2/access_token) that
// go through to the sandbox, and can hold each one a while, as a slow
// WeChat would.
type exchangeCounter struct {
	n     atomic.Int32
	delay atomic.Int64 // time.Duration
	proxy *httputil.ReverseProxy
}

// newExchangeCounter starts the counter in front of the in-process sandbox
// and returns its URL.
func newExchangeCounter(t *testing.T) (*exchangeCounter, string) {
	t.Helper()
	sandbox, _ := url.Parse("http://127.0.0.1:9081")
	c := &exchangeCounter{proxy: &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(sandbox) }}}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, srv.URL
}

func (c *exchangeCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/sns/oauth2/access_token" {
		c.n.Add(1)
		time.Sleep(time.Duration(c.delay.Load()))
	}
	c.proxy.ServeHTTP(w, r)
}

func (c *exchangeCounter) count() int { return int(c.n.Load()) }

// newOAuthClusterInstance is newOAuthInstance with the code exchanged at
// apiBase and the handler's debug lines in the instance's log (shown when
// the test fails).
func newOAuthClusterInstance(t *testing.T, name, bin, storage, upstream, apiBase string) *instance {
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
		app_id        %s
		app_secret    {env.%s}
		api_base      %s
		authorize_url http://127.0.0.1:9081/connect/oauth2/authorize
	}
	reverse_proxy %s
}
`, strings.TrimPrefix(in.adminURL, "http://"), storage, strings.TrimPrefix(in.siteURL, "http://"),
		testAppID, clusterSecretEnv, apiBase, strings.TrimPrefix(upstream, "http://"))
	if err := os.WriteFile(in.config, []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return in
}

// callbackAs sends the callback URL rawURL as the browser whose state
// cookie is stateCookie, and nothing else, in ctx.
func callbackAs(ctx context.Context, rawURL string, stateCookie *http.Cookie) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("User-Agent", wechatUA)
	req.AddCookie(stateCookie)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// statusOf describes what a request got: its error or its status.
func statusOf(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}

// sessionSet returns the session cookie resp sets, or nil.
func sessionSet(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "wechat_oauth" && c.Value != "" {
			return c
		}
	}
	return nil
}

// TestOAuthClusterStateOnce: two Caddy processes sharing a storage use an
// OAuth state once between them. A state consumed on one is refused on the
// other, with a fresh code from the authorize page; a repeat of the
// callback (the same state cookie, state and code: WeChat's double
// redirect) gets the first one's redirect and session, on either
// instance, even when the browser dropped the first request during the
// code exchange; and the code is exchanged at the sandbox once.
func TestOAuthClusterStateOnce(t *testing.T) {
	for _, st := range clusterStorages {
		t.Run(st.name, func(t *testing.T) {
			storage := st.setup(t)
			startCaddy(t, globalOptions("")+sandboxSite)
			upstream := httptest.NewServer(identityEcho{})
			t.Cleanup(upstream.Close)
			api, apiBase := newExchangeCounter(t)
			bin := clusterBinary(t)
			a := newOAuthClusterInstance(t, "a", bin, storage, upstream.URL, apiBase)
			b := newOAuthClusterInstance(t, "b", bin, storage, upstream.URL, apiBase)
			a.start(t)
			b.start(t)
			instances := map[string]*instance{"a": a, "b": b}

			// openIDOn is the openid the upstream behind in sees with session.
			openIDOn := func(in *instance, session *http.Cookie) string {
				t.Helper()
				req, _ := http.NewRequest(http.MethodGet, in.siteURL+"/whoami", nil)
				req.Header.Set("User-Agent", wechatUA)
				req.AddCookie(session)
				resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.Header.Get("X-Seen-Openid")
			}

			t.Run("consumed state replayed on the other instance", func(t *testing.T) {
				br := newBrowser(t, wechatUA)
				callback, code := br.authorize(br.startSignIn(a.siteURL+"/first", a.siteURL))
				stateCookie := br.cookie(a.siteURL, "wechat_oauth_state")
				before := api.count()
				if resp, body := br.do(http.MethodGet, callback); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/first" {
					t.Fatalf("callback on a: %d %q", resp.StatusCode, body)
				}
				// a fresh code from the authorize page, the state and its
				// cookie put back, on the other instance
				helper := newBrowser(t, wechatUA)
				_, fresh := helper.authorize(helper.startSignIn(b.siteURL+"/", b.siteURL))
				replay := strings.Replace(strings.Replace(callback, a.siteURL, b.siteURL, 1), "code="+code, "code="+fresh, 1)
				if replay == callback || !strings.Contains(replay, "code="+fresh) {
					t.Fatalf("could not make the replay URL from %q", callback)
				}
				resp, body, err := callbackAs(t.Context(), replay, stateCookie)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired or was started in another browser") || sessionSet(resp) != nil {
					t.Errorf("replay on b: %d %q, session set %v", resp.StatusCode, body, sessionSet(resp) != nil)
				}
				if n := api.count() - before; n != 1 {
					t.Errorf("%d code exchanges reached the sandbox, want 1", n)
				}
			})

			t.Run("repeated callback on the other instance", func(t *testing.T) {
				br := newBrowser(t, wechatUA)
				callback, _ := br.authorize(br.startSignIn(a.siteURL+"/pay/order.html?item=7", a.siteURL))
				stateCookie := br.cookie(a.siteURL, "wechat_oauth_state")
				before := api.count()
				first, body, err := callbackAs(t.Context(), callback, stateCookie)
				if err != nil || first.StatusCode != http.StatusFound || sessionSet(first) == nil {
					t.Fatalf("first callback on a: %s %q", statusOf(first, err), body)
				}
				// the browser had not taken the first answer in: it comes
				// again with its state cookie, and lands on b
				repeat, body, err := callbackAs(t.Context(), strings.Replace(callback, a.siteURL, b.siteURL, 1), stateCookie)
				if err != nil || repeat.StatusCode != http.StatusFound {
					t.Fatalf("repeat on b: %s %q", statusOf(repeat, err), body)
				}
				if got, want := repeat.Header.Get("Location"), first.Header.Get("Location"); got != want || got != "/pay/order.html?item=7" {
					t.Errorf("repeat to %q, first to %q", got, want)
				}
				s1, s2 := sessionSet(first), sessionSet(repeat)
				if s2 == nil || s2.Value != s1.Value {
					t.Fatalf("repeat's session %v is not the first one's", s2)
				}
				openID := openIDOn(a, s2)
				if !openIDRE.MatchString(openID) || openIDOn(b, s2) != openID {
					t.Errorf("with the repeat's session: a saw %q, b saw %q", openID, openIDOn(b, s2))
				}
				if n := api.count() - before; n != 1 {
					t.Errorf("%d code exchanges reached the sandbox, want 1", n)
				}
			})

			for _, on := range []string{"a", "b"} {
				t.Run("first dropped during the exchange, repeat on "+on, func(t *testing.T) {
					api.delay.Store(int64(1500 * time.Millisecond))
					defer api.delay.Store(0)
					br := newBrowser(t, wechatUA)
					callback, _ := br.authorize(br.startSignIn(a.siteURL+"/dropped", a.siteURL))
					stateCookie := br.cookie(a.siteURL, "wechat_oauth_state")
					before := api.count()

					dropped := make(chan error, 1)
					go func() {
						ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
						defer cancel()
						_, _, err := callbackAs(ctx, callback, stateCookie)
						dropped <- err
					}()
					waitFor(t, 10*time.Second, "a's code exchange", func() bool { return api.count() > before })
					if err := <-dropped; err == nil {
						t.Fatal("the first request was answered before the browser dropped it: the test proves nothing")
					}
					repeat, body, err := callbackAs(t.Context(), strings.Replace(callback, a.siteURL, instances[on].siteURL, 1), stateCookie)
					if err != nil || repeat.StatusCode != http.StatusFound || repeat.Header.Get("Location") != "/dropped" {
						t.Fatalf("repeat on %s: %s %q", on, statusOf(repeat, err), body)
					}
					s := sessionSet(repeat)
					if s == nil || !openIDRE.MatchString(openIDOn(a, s)) || openIDOn(b, s) != openIDOn(a, s) {
						t.Errorf("the repeat's session does not sign in on both instances: %v", s)
					}
					if n := api.count() - before; n != 1 {
						t.Errorf("%d code exchanges reached the sandbox, want 1", n)
					}
				})
			}
		})
	}
}
