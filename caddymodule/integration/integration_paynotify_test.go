package integration_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys/paykeystest"
)

// notifyBackend is the merchant's backend behind wechat_pay_notify: it
// records what reaches it and answers status (200 by default).
type notifyBackend struct {
	mu     sync.Mutex
	got    []notifyCall
	status int
}

type notifyCall struct {
	method, uri string
	header      http.Header
	body        string
}

func (b *notifyBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.got = append(b.got, notifyCall{r.Method, r.RequestURI, r.Header.Clone(), string(body)})
	status := b.status
	b.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
}

func (b *notifyBackend) calls() []notifyCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]notifyCall(nil), b.got...)
}

func (b *notifyBackend) setStatus(s int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.status = s
}

func startNotifyBackend(t *testing.T) (*notifyBackend, string) {
	t.Helper()
	b := &notifyBackend{}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return b, srv.URL
}

// payNotifyOptions is the block of wechat_pay_notify for mode.
func payNotifyOptions(t *testing.T, wx string, mode payV3Mode) string {
	t.Helper()
	t.Setenv(payV3APIv3Env, paykeystest.APIv3Key)
	opts := "apiv3_key {env." + payV3APIv3Env + "}"
	if mode.public {
		opts += "\n\t\t\twechatpay_public_key " + paykeystest.KeyPath(t, paykeystest.PublicModePubFile) + " " + paykeystest.PublicKeyID
	}
	if mode.certs {
		opts += "\n\t\t\tmch_id      " + paykeystest.MchID + "\n\t\t\tserial_no   " + paykeystest.MchSerial +
			"\n\t\t\tprivate_key " + paykeystest.KeyPath(t, paykeystest.MerchantKeyFile) + "\n\t\t\tapi_base    " + wx
	}
	return "{\n\t\t\t" + opts + "\n\t\t}"
}

// payNotifyRoute is the notify_url as a route of its own: wechat_pay_notify
// before reverse_proxy to the backend, which gets the call at
// /payments/notify.
func payNotifyRoute(t *testing.T, backend, wx string, mode payV3Mode) string {
	t.Helper()
	return `
	route /wechatpay/notify {
		wechat_pay_notify ` + payNotifyOptions(t, wx, mode) + `
		rewrite * /payments/notify
		reverse_proxy ` + backend + `
	}
`
}

// notifySite is a site as the README writes it: wechat_pay_notify with the
// notify_url as its matcher at the top level (so it strips client-sent
// X-WeChat-Pay-* from every request of the site), and the backend behind
// reverse_proxy for everything, the notification at /payments/notify.
func notifySite(t *testing.T, backend, wx string, mode payV3Mode) string {
	return `
http://` + siteAddr + ` {
	wechat_pay_notify /wechatpay/notify ` + payNotifyOptions(t, wx, mode) + `
	rewrite /wechatpay/notify /payments/notify
	reverse_proxy ` + backend + `
}
`
}

// signedNotification is one delivery of a notification: body and headers.
type signedNotification struct {
	body   []byte
	header http.Header
}

// newSignedNotification encrypts the test transaction with apiv3 and
// signs the body with signer, skew away from now.
func newSignedNotification(signer paykeystest.Signer, apiv3 string, skew time.Duration) signedNotification {
	id := "EV-" + paykeystest.Nonce()[:20]
	body := paykeystest.Notification(id, "TRANSACTION.SUCCESS", apiv3, []byte(paykeystest.Transaction))
	return signedNotification{body: body, header: signer.Headers(body, time.Now().Add(skew))}
}

// id is the notification's id.
func (n signedNotification) id() string {
	var v struct{ ID string }
	_ = json.Unmarshal(n.body, &v)
	return v.ID
}

// deliver posts n to base's notify_url as WeChat Pay would, with extra
// headers (pairs, set as written: X_WeChat_Pay_Event stays as it is).
func deliver(t *testing.T, base string, n signedNotification, extra ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/wechatpay/notify", strings.NewReader(string(n.body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range n.header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header[extra[i]] = append(req.Header[extra[i]], extra[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestPayNotifyForwardsDecrypted: a valid notification reaches the backend
// once, as the decrypted JSON with X-WeChat-Pay-Event and
// X-WeChat-Pay-Notify-ID; no Wechatpay-* header and no client-sent
// X-WeChat-Pay-* (any case, '_' spellings) reaches it; WeChat Pay gets the
// backend's status.
func TestPayNotifyForwardsDecrypted(t *testing.T) {
	backend, backendURL := startNotifyBackend(t)
	startCaddy(t, globalOptions("")+notifySite(t, backendURL, "", publicMode))
	n := newSignedNotification(paykeystest.PublicModeSigner(t), paykeystest.APIv3Key, 0)
	status, body := deliver(t, siteURL, n,
		"X-Wechat-Pay-Event", "REFUND.FORGED",
		"X_WeChat_Pay_Event", "REFUND.FORGED",
		"X-WECHAT-PAY-NOTIFY-ID", "forged",
		"X-Wechat-Pay-Openid", "forged")
	if status != 200 {
		t.Fatalf("WeChat Pay got %d %s", status, body)
	}
	calls := backend.calls()
	if len(calls) != 1 {
		t.Fatalf("%d backend calls, want 1", len(calls))
	}
	c := calls[0]
	if c.method != "POST" || c.uri != "/payments/notify" || c.body != paykeystest.Transaction {
		t.Errorf("backend got %s %s %q", c.method, c.uri, c.body)
	}
	if c.header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type %q", c.header.Get("Content-Type"))
	}
	if v := c.header.Values("X-Wechat-Pay-Event"); len(v) != 1 || v[0] != "TRANSACTION.SUCCESS" {
		t.Errorf("X-WeChat-Pay-Event %v", v)
	}
	if v := c.header.Values("X-Wechat-Pay-Notify-Id"); len(v) != 1 || v[0] != n.id() {
		t.Errorf("X-WeChat-Pay-Notify-ID %v, want %s", v, n.id())
	}
	for name := range c.header {
		folded := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		if strings.HasPrefix(folded, "wechatpay-") {
			t.Errorf("the backend got %s", name)
		}
		if strings.HasPrefix(folded, "x-wechat-pay-") && name != "X-Wechat-Pay-Event" && name != "X-Wechat-Pay-Notify-Id" {
			t.Errorf("the backend got the client's %s", name)
		}
	}
	for _, v := range c.header {
		if strings.Contains(strings.Join(v, ","), "FORGED") || strings.Contains(strings.Join(v, ","), "forged") {
			t.Errorf("a client-sent value reached the backend: %v", c.header)
		}
	}

	// a client calling the backend's notification path directly, past
	// notify_url, with WeChat Pay's headers forged: they are gone
	req, _ := http.NewRequest("POST", siteURL+"/payments/notify", strings.NewReader(paykeystest.Transaction))
	req.Header.Set("X-WeChat-Pay-Event", "TRANSACTION.SUCCESS")
	req.Header.Set("X-WeChat-Pay-Notify-ID", "EV-forged")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	calls = backend.calls()
	if len(calls) != 2 || calls[1].uri != "/payments/notify" {
		t.Fatalf("the direct call did not reach the backend: %d calls", len(calls))
	}
	for name := range calls[1].header {
		if strings.HasPrefix(strings.ToLower(name), "x-wechat-pay") {
			t.Errorf("a forged %s reached the backend past notify_url", name)
		}
	}
}

// TestPayNotifyRefused: a tampered body, a notification encrypted with
// another APIv3 key, WeChat Pay's SIGNTEST probe and a stale timestamp are
// refused with {"code":"FAIL"} and the backend is never called; a client's
// X-WeChat-Pay-Event never reaches it either.
func TestPayNotifyRefused(t *testing.T) {
	backend, backendURL := startNotifyBackend(t)
	startCaddy(t, globalOptions("")+notifySite(t, backendURL, "", publicMode))
	pm := paykeystest.PublicModeSigner(t)
	for _, c := range []struct {
		name   string
		n      func() signedNotification
		status int
	}{
		{"tampered body", func() signedNotification {
			n := newSignedNotification(pm, paykeystest.APIv3Key, 0)
			n.body = []byte(strings.Replace(string(n.body), `"TRANSACTION.SUCCESS"`, `"TRANSACTION.SUCCEED"`, 1))
			return n
		}, 401},
		{"wrong APIv3 key", func() signedNotification {
			return newSignedNotification(pm, paykeystest.OtherAPIv3Key, 0)
		}, 400},
		{"SIGNTEST probe", func() signedNotification {
			n := newSignedNotification(pm, paykeystest.APIv3Key, 0)
			var s string
			paykeystest.SignTest(n.header, &s)
			return n
		}, 401},
		{"stale timestamp", func() signedNotification {
			return newSignedNotification(pm, paykeystest.APIv3Key, -5*time.Minute)
		}, 401},
		{"no signature", func() signedNotification {
			n := newSignedNotification(pm, paykeystest.APIv3Key, 0)
			n.header.Del("Wechatpay-Signature")
			return n
		}, 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := deliver(t, siteURL, c.n(), "X-WeChat-Pay-Event", "TRANSACTION.SUCCESS")
			var e struct{ Code, Message string }
			if status != c.status || json.Unmarshal([]byte(body), &e) != nil || e.Code != "FAIL" || e.Message == "" {
				t.Fatalf("%d %s, want %d FAIL", status, body, c.status)
			}
			if n := len(backend.calls()); n != 0 {
				t.Fatalf("the backend was called %d times", n)
			}
		})
	}
}

// TestPayNotifyRetryAfterBackendFailure: WeChat Pay gets the backend's
// 500; the same delivery again (a retry) reaches the backend; once the
// backend accepted it, the same delivery is a replay, refused.
func TestPayNotifyRetryAfterBackendFailure(t *testing.T) {
	backend, backendURL := startNotifyBackend(t)
	startCaddy(t, globalOptions("")+notifySite(t, backendURL, "", publicMode))
	n := newSignedNotification(paykeystest.PublicModeSigner(t), paykeystest.APIv3Key, 0)
	backend.setStatus(500)
	if status, _ := deliver(t, siteURL, n); status != 500 {
		t.Fatalf("WeChat Pay got %d, want the backend's 500", status)
	}
	backend.setStatus(200)
	if status, body := deliver(t, siteURL, n); status != 200 {
		t.Fatalf("the retry got %d %s", status, body)
	}
	if status, body := deliver(t, siteURL, n); status != 401 || !strings.Contains(body, "replayed") {
		t.Fatalf("the replay got %d %s", status, body)
	}
	if got := len(backend.calls()); got != 2 {
		t.Fatalf("%d backend calls, want 2", got)
	}
}

// TestPayNotifyKeyModes: platform-certificate mode downloads the
// certificates on the first notification signed with one (the unknown
// serial), and a migration with both modes accepts both signers.
func TestPayNotifyKeyModes(t *testing.T) {
	for _, c := range []struct {
		name    string
		mode    payV3Mode
		signers []paykeystest.Signer
	}{
		{"certificates", certMode, []paykeystest.Signer{paykeystest.PlatformSigner(t)}},
		{"migration", migrationMode, []paykeystest.Signer{paykeystest.PublicModeSigner(t), paykeystest.PlatformSigner(t)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wx, wxURL := startWeChatPay(t)
			backend, backendURL := startNotifyBackend(t)
			startCaddy(t, globalOptions("")+notifySite(t, backendURL, wxURL, c.mode))
			for _, s := range c.signers {
				if status, body := deliver(t, siteURL, newSignedNotification(s, paykeystest.APIv3Key, 0)); status != 200 {
					t.Fatalf("signed by %s: %d %s", s.Serial, status, body)
				}
			}
			if got := len(backend.calls()); got != len(c.signers) {
				t.Fatalf("%d backend calls", got)
			}
			if n := wx.CertFetches(); n != 1 {
				t.Fatalf("%d certificate downloads, want 1", n)
			}
		})
	}
}

// newNotifyInstance writes the Caddyfile of one Caddy process serving the
// notify route (and /style.css, which start waits for), on storage.
func newNotifyInstance(t *testing.T, name, bin, storage, backendURL string) *instance {
	t.Helper()
	dir := t.TempDir()
	adminPort, sitePort := freePort(t), freePort(t)
	caddyfile := fmt.Sprintf(`{
	admin 127.0.0.1:%d
	auto_https off
	persist_config off
	grace_period 1ns
	%s
}

http://127.0.0.1:%d {
	respond /style.css 200
	%s
}
`, adminPort, storage, sitePort, payNotifyRoute(t, backendURL, "", publicMode))
	in := &instance{
		name:     name,
		bin:      bin,
		config:   filepath.Join(dir, "Caddyfile"),
		adminURL: fmt.Sprintf("http://127.0.0.1:%d", adminPort),
		siteURL:  fmt.Sprintf("http://127.0.0.1:%d", sitePort),
		logPath:  filepath.Join(dir, "caddy.log"),
	}
	if err := os.WriteFile(in.config, []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.kill()
		if t.Failed() {
			logs, _ := os.ReadFile(in.logPath)
			t.Logf("%s's log:\n%s", in.name, logs)
		}
	})
	return in
}

// TestPayNotifyReplayOnOtherInstance: two Caddy processes sharing a
// storage (file system, Redis). A notification delivered to one is a
// replay on the other; one delivered to both at once reaches the backend
// once; one whose backend failed on one instance reaches the backend again
// when retried on the other.
func TestPayNotifyReplayOnOtherInstance(t *testing.T) {
	for _, st := range clusterStorages {
		t.Run(st.name, func(t *testing.T) {
			storage := st.setup(t)
			bin := clusterBinary(t)
			backend, backendURL := startNotifyBackend(t)
			a := newNotifyInstance(t, "a", bin, storage, backendURL)
			b := newNotifyInstance(t, "b", bin, storage, backendURL)
			t.Setenv(payV3APIv3Env, paykeystest.APIv3Key)
			a.start(t)
			b.start(t)
			pm := paykeystest.PublicModeSigner(t)

			n := newSignedNotification(pm, paykeystest.APIv3Key, 0)
			if status, body := deliver(t, a.siteURL, n); status != 200 {
				t.Fatalf("a: %d %s", status, body)
			}
			if status, body := deliver(t, b.siteURL, n); status != 401 || !strings.Contains(body, "replayed") {
				t.Fatalf("replay on b: %d %s", status, body)
			}
			if got := len(backend.calls()); got != 1 {
				t.Fatalf("%d backend calls, want 1", got)
			}

			// the same delivery to both instances at once, twice each
			n = newSignedNotification(pm, paykeystest.APIv3Key, 0)
			var wg sync.WaitGroup
			statuses := make([]int, 4)
			for i := range statuses {
				wg.Add(1)
				go func() {
					defer wg.Done()
					in := a
					if i%2 == 1 {
						in = b
					}
					statuses[i], _ = deliver(t, in.siteURL, n)
				}()
			}
			wg.Wait()
			ok := 0
			for _, s := range statuses {
				switch s {
				case 200:
					ok++
				case 401:
				default:
					t.Fatalf("simultaneous deliveries: %v", statuses)
				}
			}
			if ok != 1 || len(backend.calls()) != 2 {
				t.Fatalf("simultaneous deliveries: %v, %d backend calls; want one 200 and 2 calls", statuses, len(backend.calls()))
			}

			// the backend fails on a; WeChat Pay's retry lands on b
			n = newSignedNotification(pm, paykeystest.APIv3Key, 0)
			backend.setStatus(503)
			if status, _ := deliver(t, a.siteURL, n); status != 503 {
				t.Fatalf("a with a failing backend: %d", status)
			}
			backend.setStatus(200)
			if status, body := deliver(t, b.siteURL, n); status != 200 {
				t.Fatalf("retry on b: %d %s", status, body)
			}
			if got := len(backend.calls()); got != 4 {
				t.Fatalf("%d backend calls, want 4", got)
			}
		})
	}
}
