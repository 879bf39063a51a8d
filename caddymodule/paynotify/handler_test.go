package paynotify

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys/paykeystest"
)

// TestValidNotification reaches the backend once, as the decrypted JSON
// with the two headers, without WeChat Pay's signature headers or a
// client's own X-WeChat-Pay-* in any spelling; WeChat Pay gets the
// backend's status.
func TestValidNotification(t *testing.T) {
	h, _ := newHandler(t, &certmagic.FileStorage{Path: t.TempDir()}, nil)
	b := &backend{}
	n := newNotification(paykeystest.PublicModeSigner(t), paykeystest.APIv3Key, time.Now())
	w := send(t, h, b, n,
		"X-Wechat-Pay-Event", "FORGED",
		"X_WeChat_Pay_Event", "FORGED",
		"x-wechat-pay-notify-id", "FORGED",
		"X-Wechat-Pay-Openid", "FORGED",
		"Wechatpay_Signature", "FORGED")
	if w.Code != http.StatusNoContent {
		t.Fatalf("WeChat Pay got %d %s, want the backend's 204", w.Code, w.Body)
	}
	calls := b.calls()
	if len(calls) != 1 {
		t.Fatalf("%d backend calls", len(calls))
	}
	c := calls[0]
	if c.method != "POST" || c.body != paykeystest.Transaction {
		t.Errorf("backend got %s %q", c.method, c.body)
	}
	if c.header.Get("Content-Type") != "application/json" ||
		c.header.Get(HeaderEvent) != "TRANSACTION.SUCCESS" ||
		c.header.Get(HeaderNotifyID) != "EV-2018022511223320873" {
		t.Errorf("backend headers %v", c.header)
	}
	for name, v := range c.header {
		folded := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		if strings.HasPrefix(folded, "wechatpay-") {
			t.Errorf("backend got %s", name)
		}
		if strings.HasPrefix(folded, "x-wechat-pay-") && (len(v) != 1 || v[0] == "FORGED") {
			t.Errorf("backend got %s: %v", name, v)
		}
	}
	if len(c.header.Values(HeaderEvent)) != 1 {
		t.Errorf("X-WeChat-Pay-Event: %v", c.header.Values(HeaderEvent))
	}
}

type refusal struct {
	name   string
	n      func(t *testing.T) notification
	status int
	reason string
}

func refusals() []refusal {
	pm := paykeystest.PublicModeSigner
	return []refusal{
		{"tampered body", func(t *testing.T) notification {
			n := newNotification(pm(t), paykeystest.APIv3Key, time.Now())
			n.body = []byte(strings.Replace(string(n.body), "TRANSACTION.SUCCESS", "REFUND.SUCCESS", 1))
			return n
		}, 401, "signature"},
		{"wrong APIv3 key", func(t *testing.T) notification {
			return newNotification(pm(t), paykeystest.OtherAPIv3Key, time.Now())
		}, 400, "decrypt"},
		{"SIGNTEST probe", func(t *testing.T) notification {
			n := newNotification(pm(t), paykeystest.APIv3Key, time.Now())
			n.header.Set("Wechatpay-Signature", "WECHATPAY/SIGNTEST/"+n.header.Get("Wechatpay-Signature"))
			return n
		}, 401, "signature"},
		{"stale timestamp", func(t *testing.T) notification {
			return newNotification(pm(t), paykeystest.APIv3Key, time.Now().Add(-5*time.Minute))
		}, 401, "signature"},
		{"future timestamp", func(t *testing.T) notification {
			return newNotification(pm(t), paykeystest.APIv3Key, time.Now().Add(6*time.Minute))
		}, 401, "signature"},
		{"missing signature", func(t *testing.T) notification {
			n := newNotification(pm(t), paykeystest.APIv3Key, time.Now())
			n.header.Del("Wechatpay-Signature")
			return n
		}, 401, "signature"},
		{"unknown serial", func(t *testing.T) notification {
			_, rogue := paykeystest.NewCert(t)
			return newNotification(rogue, paykeystest.APIv3Key, time.Now())
		}, 401, "signature"},
		{"signed but not a notification", func(t *testing.T) notification {
			body := []byte(`{"hello":"world"}`)
			return notification{body: body, header: pm(t).Headers(body, time.Now())}
		}, 400, "not a WeChat Pay notification"},
	}
}

// TestRefused: each refusal answers {"code":"FAIL"} with its status, never
// calls the backend, and logs one WARN naming the reason.
func TestRefused(t *testing.T) {
	for _, c := range refusals() {
		t.Run(c.name, func(t *testing.T) {
			h, logs := newHandler(t, &certmagic.FileStorage{Path: t.TempDir()}, nil)
			b := &backend{}
			n := c.n(t)
			for range 2 {
				w := send(t, h, b, n, "X-WeChat-Pay-Event", "FORGED")
				var e struct{ Code, Message string }
				if w.Code != c.status || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Code != "FAIL" || !strings.Contains(e.Message, c.reason) {
					t.Fatalf("%d %s, want %d FAIL …%s…", w.Code, w.Body, c.status, c.reason)
				}
			}
			if len(b.calls()) != 0 {
				t.Fatal("the backend was called")
			}
			if n := logs.FilterLevelExact(zapcore.WarnLevel).FilterMessageSnippet(c.reason).Len(); n != 1 {
				t.Errorf("%d WARN lines naming %q, want 1: %v", n, c.reason, logs.All())
			}
		})
	}
}

func TestMethodAndSize(t *testing.T) {
	h, _ := newHandler(t, &certmagic.FileStorage{Path: t.TempDir()}, func(h *Handler) { h.MaxBody = 100 })
	b := &backend{}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/notify", nil), b.handler())
	if w.Code != 405 || w.Header().Get("Allow") != "POST" {
		t.Errorf("GET: %d", w.Code)
	}
	n := newNotification(paykeystest.PublicModeSigner(t), paykeystest.APIv3Key, time.Now())
	if w := send(t, h, b, n); w.Code != 413 {
		t.Errorf("large body: %d", w.Code)
	}
	if len(b.calls()) != 0 {
		t.Fatal("the backend was called")
	}
}

// TestReplay: the same delivery again is refused — after the backend
// accepted it. A delivery the backend did not accept is released, so that
// WeChat Pay's retry (even with the very same headers) reaches it.
func TestReplay(t *testing.T) {
	h, _ := newHandler(t, &certmagic.FileStorage{Path: t.TempDir()}, nil)
	b := &backend{status: http.StatusInternalServerError}
	n := newNotification(paykeystest.PublicModeSigner(t), paykeystest.APIv3Key, time.Now())
	if w := send(t, h, b, n); w.Code != 500 {
		t.Fatalf("WeChat Pay got %d, want the backend's 500", w.Code)
	}
	b.setStatus(http.StatusOK)
	if w := send(t, h, b, n); w.Code != 200 {
		t.Fatalf("the retry after a failure got %d, want 200", w.Code)
	}
	w := send(t, h, b, n)
	if w.Code != 401 || !strings.Contains(w.Body.String(), "replayed") {
		t.Fatalf("the replay got %d %s", w.Code, w.Body)
	}
	if n := len(b.calls()); n != 2 {
		t.Fatalf("%d backend calls, want 2", n)
	}
}

// TestReplayAcrossInstances: two handlers, as two instances, on one file
// storage. The same delivery to both at once is forwarded once; to the
// other one later, refused.
func TestReplayAcrossInstances(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ha, _ := newHandler(t, st, nil)
	hb, _ := newHandler(t, st, nil)
	b := &backend{}
	for round := range 2 {
		n := newNotification(paykeystest.PublicModeSigner(t), paykeystest.APIv3Key, time.Now())
		var wg sync.WaitGroup
		codes := make([]int, 4)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h := ha
				if i%2 == 1 {
					h = hb
				}
				codes[i] = send(t, h, b, n).Code
			}()
		}
		wg.Wait()
		ok := 0
		for _, c := range codes {
			switch c {
			case 204:
				ok++
			case 401:
			default:
				t.Fatalf("round %d: status %d", round, c)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d of 4 simultaneous deliveries forwarded, want 1 (%v)", round, ok, codes)
		}
		if w := send(t, hb, b, n); w.Code != 401 {
			t.Fatalf("round %d: later replay on the other instance: %d", round, w.Code)
		}
	}
	if n := len(b.calls()); n != 2 {
		t.Fatalf("%d backend calls, want 2", n)
	}
}

// TestStorageDownRefuses: without the replay check, no forwarding (503:
// WeChat Pay retries).
func TestStorageDownRefuses(t *testing.T) {
	h, _ := newHandler(t, failingStorage{&certmagic.FileStorage{Path: t.TempDir()}}, nil)
	b := &backend{}
	w := send(t, h, b, newNotification(paykeystest.PublicModeSigner(t), paykeystest.APIv3Key, time.Now()))
	if w.Code != 503 || len(b.calls()) != 0 {
		t.Fatalf("%d, %d calls", w.Code, len(b.calls()))
	}
}

// TestSweep deletes old buckets and keeps current ones.
func TestSweep(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	h, _ := newHandler(t, st, nil)
	now := time.Now()
	old := newNotification(paykeystest.PublicModeSigner(t), paykeystest.APIv3Key, now.Add(-time.Hour))
	cur := newNotification(paykeystest.PublicModeSigner(t), paykeystest.APIv3Key, now)
	for _, n := range []notification{old, cur} {
		hdr := readSigned(n)
		if _, err := h.replay.reserve(t.Context(), hdr, now); err != nil {
			t.Fatal(err)
		}
	}
	h.replay.sweep(now)
	if st.Exists(t.Context(), markerKey(readSigned(old))) {
		t.Error("an hour-old marker survived the sweep")
	}
	if !st.Exists(t.Context(), markerKey(readSigned(cur))) {
		t.Error("a current marker was swept")
	}
}

// TestCertificateMode: notify in platform-certificate mode downloads the
// certificates on the first notification, and with both modes accepts
// both signers.
func TestCertificateMode(t *testing.T) {
	wx := paykeystest.NewServer(t)
	srv := httptest.NewServer(wx)
	defer srv.Close()
	st := &certmagic.FileStorage{Path: t.TempDir()}
	for _, both := range []bool{false, true} {
		h, _ := newHandler(t, st, func(h *Handler) {
			if !both {
				h.WechatpayPublicKey = nil
			}
			h.MchID, h.SerialNo = paykeystest.MchID, paykeystest.MchSerial
			h.PrivateKey = paykeystest.KeyPath(t, paykeystest.MerchantKeyFile)
			h.APIBase = srv.URL
		})
		b := &backend{}
		if w := send(t, h, b, newNotification(paykeystest.PlatformSigner(t), paykeystest.APIv3Key, time.Now())); w.Code != 204 {
			t.Fatalf("both=%v: certificate-signed: %d %s", both, w.Code, w.Body)
		}
		want := 204
		if !both {
			want = 401
		}
		if w := send(t, h, b, newNotification(paykeystest.PublicModeSigner(t), paykeystest.APIv3Key, time.Now())); w.Code != want {
			t.Fatalf("both=%v: public-key-signed: %d", both, w.Code)
		}
	}
	if wx.CertFetches() != 1 {
		t.Fatalf("%d downloads, want 1 (the second handler reads the first's from storage)", wx.CertFetches())
	}
}

// TestEveryRequestStripped: with a matcher (the Caddyfile's
// `wechat_pay_notify /wechatpay/notify`), a request it does not match is
// no notification and passes on — without the client's X-WeChat-Pay-*,
// in any spelling — so a backend can trust those headers on any path.
func TestEveryRequestStripped(t *testing.T) {
	h, _ := newHandler(t, &certmagic.FileStorage{Path: t.TempDir()}, func(h *Handler) {
		h.MatcherSetsRaw = caddyhttp.RawMatcherSets{{"path": json.RawMessage(`["/wechatpay/notify"]`)}}
	})
	b := &backend{status: 200}
	r := httptest.NewRequest("POST", "/payments/notify", strings.NewReader(paykeystest.Transaction))
	for _, name := range []string{"X-Wechat-Pay-Event", "X-Wechat-Pay-Notify-Id", "x-wechat-pay-anything", "X_Wechat_Pay_Event", "X.WeChat.Pay.Event"} {
		r.Header[name] = []string{"FORGED"}
	}
	r.Header.Set("X-Other", "kept")
	w := httptest.NewRecorder()
	r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, nil) // as a Caddy server does
	if err := h.ServeHTTP(w, r, b.handler()); err != nil || w.Code != 200 {
		t.Fatalf("%v %d %s", err, w.Code, w.Body)
	}
	calls := b.calls()
	if len(calls) != 1 || calls[0].body != paykeystest.Transaction || calls[0].header.Get("X-Other") != "kept" {
		t.Fatalf("the unmatched request did not pass as it was: %+v", calls)
	}
	for name := range calls[0].header {
		if strings.Contains(strings.ToLower(name), "pay") {
			t.Errorf("the backend got %s", name)
		}
	}
	// the notify path is still a notification
	if w := send(t, h, b, newNotification(paykeystest.PublicModeSigner(t), paykeystest.APIv3Key, time.Now())); w.Code != 200 {
		t.Fatalf("notification: %d %s", w.Code, w.Body)
	}
	if got := b.calls()[1]; got.header.Get(HeaderEvent) != "TRANSACTION.SUCCESS" {
		t.Fatalf("the notification lost its headers: %v", got.header)
	}
}
