package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// notifySite plays a merchant's notify_url with the test's own checks, as
// wechat_pay_notify makes them: the signature (401 when it does not
// verify, a SIGNTEST probe or a stale timestamp), replays (401 for a
// signature seen before), and the decryption of the resource.
type notifySite struct {
	url string
	now func() time.Time

	mu sync.Mutex
	// failFirst answers 500 to that many verified notifications first.
	failFirst int
	seen      map[string]bool
	all       []received
	changed   chan struct{}
}

// received is one request the site got.
type received struct {
	header    http.Header
	body      []byte
	envelope  envelope
	plaintext []byte
	verifyErr error
	status    int
}

func newNotifySite(t *testing.T, clk *fakeClock) *notifySite {
	s := &notifySite{now: clk.now, seen: map[string]bool{}, changed: make(chan struct{}, 100)}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/pay/notify"
	return s
}

func (s *notifySite) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	got := received{header: r.Header.Clone(), body: body}
	_, got.verifyErr = verifyWechatpay(nopTB{}, r.Header, body, s.now())
	s.mu.Lock()
	defer func() {
		s.all = append(s.all, got)
		s.mu.Unlock()
		s.changed <- struct{}{}
	}()
	sig := r.Header.Get("Wechatpay-Signature")
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/pay/notify" || r.Header.Get("Content-Type") != "application/json":
		got.status = http.StatusBadRequest
	case got.verifyErr != nil:
		got.status = http.StatusUnauthorized
	case s.seen[sig]:
		got.status = http.StatusUnauthorized // a replay
	default:
		s.seen[sig] = true
		if json.Unmarshal(body, &got.envelope) != nil {
			got.status = http.StatusBadRequest
			break
		}
		res := got.envelope.Resource
		plain, err := openResource(testAPIv3Key, res.Ciphertext, res.Nonce, res.AssociatedData)
		if err != nil {
			got.status = http.StatusBadRequest
			break
		}
		got.plaintext = plain
		got.status = http.StatusNoContent
		if s.failFirst > 0 {
			s.failFirst--
			got.status = http.StatusInternalServerError
		}
	}
	w.WriteHeader(got.status)
}

// accepted returns the notifications answered 2xx.
func (s *notifySite) accepted() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []received
	for _, g := range s.all {
		if g.status/100 == 2 {
			out = append(out, g)
		}
	}
	return out
}

// requests returns every request received.
func (s *notifySite) requests() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.all...)
}

// wait waits for n accepted notifications.
func (s *notifySite) wait(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if got := s.accepted(); len(got) >= n {
			return got
		}
		select {
		case <-s.changed:
		case <-deadline:
			t.Fatalf("%d notifications accepted after 10s, want %d; all: %+v", len(s.accepted()), n, s.requests())
		}
	}
}

// nopTB lets verifyWechatpay run in a server goroutine, where t.Fatal
// must not be called; the key files it reads are there.
type nopTB struct{ testing.TB }

func (nopTB) Helper()           {}
func (nopTB) Fatal(args ...any) { panic(args) }

// waitDone waits until h's log says the notification of out_trade_no no
// is done, and returns its log entry.
func waitDone(t *testing.T, h *Handler, no string) delivery {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		rec := serve(t, h, http.MethodGet, pathPayNotified+"?out_trade_no="+no, "")
		var log struct {
			Notifications []delivery `json:"notifications"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &log); err != nil {
			t.Fatal(err)
		}
		if len(log.Notifications) > 0 && log.Notifications[len(log.Notifications)-1].Done {
			return log.Notifications[len(log.Notifications)-1]
		}
	}
	t.Fatalf("the notification of %s is not done after 10s", no)
	return delivery{}
}

// TestNotification: paying an order sends TRANSACTION.SUCCESS to its
// notify_url, signed over the exact body and encrypted with the APIv3 key,
// as the test checks with its own lines of crypto/rsa and crypto/cipher.
func TestNotification(t *testing.T) {
	for _, mode := range []struct {
		name   string
		keys   keyMode
		serial string
	}{{"public key", publicMode, testPubKeyID}, {"certificate", certMode, testCertSerial}} {
		t.Run(mode.name, func(t *testing.T) {
			setNotifyDelays(t, 0)
			h, clk := newPayHandler(t, mode.keys)
			site := newNotifySite(t, clk)
			payPrepay(t, h, createOrder(t, h, clk, "T20260101000010", site.url))
			got := site.wait(t, 1)[0]

			if s := got.header.Get("Wechatpay-Serial"); s != mode.serial {
				t.Errorf("Wechatpay-Serial %q, want %q", s, mode.serial)
			}
			if ua := got.header.Get("User-Agent"); ua != notifyUserAgent {
				t.Errorf("User-Agent %q", ua)
			}
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(got.body, &raw); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"id", "create_time", "event_type", "resource_type", "summary", "resource"} {
				if raw[k] == nil {
					t.Errorf("the envelope has no %s: %s", k, got.body)
				}
			}
			e := got.envelope
			if !strings.HasPrefix(e.ID, "EV-") || !strings.HasSuffix(e.CreateTime, "+08:00") || e.EventType != "TRANSACTION.SUCCESS" ||
				e.ResourceType != "encrypt-resource" || e.Summary != "支付成功" {
				t.Errorf("envelope %+v", e)
			}
			if r := e.Resource; r.OriginalType != "transaction" || r.Algorithm != "AEAD_AES_256_GCM" || r.AssociatedData != "transaction" || len(r.Nonce) != 12 {
				t.Errorf("resource %+v", r)
			}
			var tr struct {
				MchID         string `json:"mchid"`
				AppID         string `json:"appid"`
				OutTradeNo    string `json:"out_trade_no"`
				TransactionID string `json:"transaction_id"`
				TradeType     string `json:"trade_type"`
				TradeState    string `json:"trade_state"`
				SuccessTime   string `json:"success_time"`
				Payer         struct {
					OpenID string `json:"openid"`
				} `json:"payer"`
				Amount struct {
					Total      int64 `json:"total"`
					PayerTotal int64 `json:"payer_total"`
				} `json:"amount"`
			}
			if err := json.Unmarshal(got.plaintext, &tr); err != nil {
				t.Fatal(err)
			}
			if tr.MchID != testMchID || tr.AppID != h.AppID || tr.OutTradeNo != "T20260101000010" || !strings.HasPrefix(tr.TransactionID, "42000") ||
				tr.TradeType != "JSAPI" || tr.TradeState != "SUCCESS" || tr.Payer.OpenID != testOpenID || tr.Amount.Total != 100 ||
				tr.Amount.PayerTotal != 100 || tr.SuccessTime == "" {
				t.Errorf("decrypted transaction %s", got.plaintext)
			}
			// the associated data is bound: another one does not open it
			if _, err := openResource(testAPIv3Key, e.Resource.Ciphertext, e.Resource.Nonce, "refund"); err == nil {
				t.Error("the resource opens with another associated_data")
			}
			d := waitDone(t, h, "T20260101000010")
			if !d.Delivered || len(d.Attempts) != 1 || d.Attempts[0].Status != http.StatusNoContent || d.Attempts[0].Serial != mode.serial || d.ID != e.ID {
				t.Errorf("log %+v", d)
			}
		})
	}
}

// TestNotificationRetries: a site that fails gets the same notification
// again, signed afresh, until it answers 200/204; one that never does is
// given up on after the last attempt.
func TestNotificationRetries(t *testing.T) {
	setNotifyDelays(t, 0, time.Millisecond, 2*time.Millisecond)
	h, clk := newPayHandler(t, publicMode)
	site := newNotifySite(t, clk)
	site.failFirst = 2
	payPrepay(t, h, createOrder(t, h, clk, "T20260101000011", site.url))
	d := waitDone(t, h, "T20260101000011")
	all := site.requests()
	if !d.Delivered || len(d.Attempts) != 3 || len(all) != 3 || d.Attempts[0].Status != 500 || d.Attempts[2].Status != 204 {
		t.Fatalf("log %+v, site got %d", d, len(all))
	}
	for i := 1; i < len(all); i++ {
		if string(all[i].body) != string(all[0].body) {
			t.Error("a retry changed the body")
		}
		if all[i].header.Get("Wechatpay-Nonce") == all[0].header.Get("Wechatpay-Nonce") {
			t.Error("a retry reused the nonce: it must be signed afresh")
		}
	}

	site.failFirst = 100
	payPrepay(t, h, createOrder(t, h, clk, "T20260101000012", site.url))
	d = waitDone(t, h, "T20260101000012")
	if d.Delivered || len(d.Attempts) != 3 {
		t.Fatalf("a site that always fails: %+v", d)
	}
	if got := statsOf(t, h)["notify"]; got != 6 {
		t.Errorf("notify counted %d requests, want 6", got)
	}
}

// TestNotifyFaults: each "notify" fault makes the site refuse the attempt
// for the reason it stands for, and the retry delivers; a replay fault
// sends the identical request twice, and the site refuses the copy.
func TestNotifyFaults(t *testing.T) {
	for _, tc := range []struct{ fault, want string }{
		{"bad", "verification error"},
		{"signtest", "SIGNTEST"},
		{"stale", "timestamp"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			setNotifyDelays(t, 0, time.Millisecond)
			h, clk := newPayHandler(t, publicMode)
			site := newNotifySite(t, clk)
			addFault(t, h, `{"endpoint":"notify","signature":"`+tc.fault+`"}`)
			payPrepay(t, h, createOrder(t, h, clk, "T20260101000013", site.url))
			d := waitDone(t, h, "T20260101000013")
			all := site.requests()
			if !d.Delivered || len(all) != 2 || all[0].status != http.StatusUnauthorized || all[1].status != http.StatusNoContent ||
				d.Attempts[0].Fault != tc.fault || d.Attempts[1].Fault != "" {
				t.Fatalf("log %+v; site %+v", d, all)
			}
			if err := all[0].verifyErr; err == nil || !strings.Contains(err.Error(), tc.want) && !(tc.fault == "signtest" && err == errSignTest) {
				t.Errorf("the faulty attempt failed verification with %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("replay", func(t *testing.T) {
		setNotifyDelays(t, 0)
		h, clk := newPayHandler(t, publicMode)
		site := newNotifySite(t, clk)
		addFault(t, h, `{"endpoint":"notify","replay":true}`)
		payPrepay(t, h, createOrder(t, h, clk, "T20260101000014", site.url))
		d := waitDone(t, h, "T20260101000014")
		all := site.requests()
		if len(all) != 2 || string(all[0].body) != string(all[1].body) || all[0].header.Get("Wechatpay-Signature") != all[1].header.Get("Wechatpay-Signature") {
			t.Fatalf("the site got %d requests, want the same one twice", len(all))
		}
		if all[0].status != http.StatusNoContent || all[1].status != http.StatusUnauthorized {
			t.Errorf("site answers %d, %d", all[0].status, all[1].status)
		}
		if !d.Delivered || len(d.Attempts) != 2 || d.Attempts[1].Status != http.StatusUnauthorized || !d.Attempts[1].Replay {
			t.Errorf("log %+v", d)
		}
	})
}

// TestNotificationsReset: a reset forgets the log and abandons pending
// attempts.
func TestNotificationsReset(t *testing.T) {
	setNotifyDelays(t, time.Hour)
	h, clk := newPayHandler(t, publicMode)
	payPrepay(t, h, createOrder(t, h, clk, "T20260101000015", deadURL))
	control(t, h, pathReset, "{}")
	rec := serve(t, h, http.MethodGet, pathPayNotified, "")
	if strings.TrimSpace(rec.Body.String()) != `{"notifications":[]}` {
		t.Fatalf("log after reset: %s", rec.Body)
	}
	if rec := serve(t, h, http.MethodPost, pathPayNotified, ""); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST notifications: %d", rec.Code)
	}
}
