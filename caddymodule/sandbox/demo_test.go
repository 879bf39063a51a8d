package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// demoSite stands in for the demo site's two WeChat Pay routes, with the
// test's own crypto: /wechatpay/* signs the backend's call as
// wechat_pay_api does and checks the answer's signature, /pay/notify
// checks and decrypts a notification as wechat_pay_notify does, and both
// pass on to the sandbox h.
type demoSite struct {
	h       *Handler
	clk     *fakeClock
	authSet atomic.Int32 // calls that arrived with an Authorization of their own
}

func (s *demoSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	switch {
	case strings.HasPrefix(r.URL.Path, "/wechatpay/"):
		if r.Header.Get("Authorization") != "" {
			s.authSet.Add(1)
		}
		target := strings.TrimPrefix(r.URL.RequestURI(), "/wechatpay")
		auth := authorization(nopTB{}, readPrivate(nopTB{}, "apiclient_key.pem"), testMchID, testMerchantSerial, r.Method, target, string(body), s.clk.now())
		req := httptest.NewRequest(r.Method, target, bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		_ = s.h.ServeHTTP(rec, req, nil)
		if _, err := verifyWechatpay(nopTB{}, rec.Header(), rec.Body.Bytes(), s.clk.now()); err != nil {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, `{"code":"SIGN_VERIFY_FAILED","message":"`+err.Error()+`"}`)
			return
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	case r.URL.Path == "/pay/notify":
		if _, err := verifyWechatpay(nopTB{}, r.Header, body, s.clk.now()); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var env envelope
		_ = json.Unmarshal(body, &env)
		plain, err := openResource(testAPIv3Key, env.Resource.Ciphertext, env.Resource.Nonce, env.Resource.AssociatedData)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		req := httptest.NewRequest(http.MethodPost, pathDemoNotify, bytes.NewReader(plain))
		req.Header.Set("X-WeChat-Pay-Event", env.EventType)
		req.Header.Set("X-WeChat-Pay-Notify-ID", env.ID)
		rec := httptest.NewRecorder()
		_ = s.h.ServeHTTP(rec, req, nil)
		w.WriteHeader(rec.Code)
	default:
		http.NotFound(w, r)
	}
}

// TestDemoBackend runs the demo's order backend against stand-ins of the
// site's wechat_pay_api and wechat_pay_notify: an order for the signed-in
// payer, paid, its notification heard in plain JSON, and the query.
func TestDemoBackend(t *testing.T) {
	setNotifyDelays(t, 0)
	clk := newFakeClock()
	site := &demoSite{clk: clk}
	srv := httptest.NewServer(site)
	t.Cleanup(srv.Close)
	h := &Handler{AppID: "wx-" + t.Name(), AppSecret: testSecret, now: clk.now,
		MerchantPublicKey: testKeys + "apiclient_pub.pem", MerchantSerial: testMerchantSerial, MchID: testMchID, APIv3Key: testAPIv3Key,
		WechatpayPrivateKey: &WechatpayKey{Path: testKeys + "wechatpay_pubkey_key.pem", ID: testPubKeyID},
		DemoBackend:         &DemoBackend{PayAPI: srv.URL + "/wechatpay", NotifyURL: srv.URL + "/pay/notify"}}
	provision(t, h)
	site.h = h

	create := func(openid string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, pathDemoOrders, strings.NewReader(`{"description":"demo","amount":{"total":1}}`))
		if openid != "" {
			req.Header.Set("X-WeChat-OpenID", openid)
		}
		rec := httptest.NewRecorder()
		_ = h.ServeHTTP(rec, req, nil)
		return rec
	}
	if rec := create(""); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "no_payer") {
		t.Fatalf("an order without a payer: %d %s", rec.Code, rec.Body)
	}
	rec := create(testOpenID)
	var order struct {
		PrepayID   string `json:"prepay_id"`
		OutTradeNo string `json:"out_trade_no"`
		Payer      struct {
			OpenID string `json:"openid"`
		} `json:"payer"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &order) != nil || order.PrepayID == "" || order.Payer.OpenID != testOpenID {
		t.Fatalf("creating an order: %d %s", rec.Code, rec.Body)
	}
	if n := site.authSet.Load(); n != 0 {
		t.Errorf("the backend sent an Authorization of its own %d times: it must hold no key", n)
	}

	payPrepay(t, h, order.PrepayID)
	rec = serve(t, h, http.MethodGet, pathDemoOrders+"/"+order.OutTradeNo+"?wait=10s", "")
	var status struct {
		Notifications []demoNotification `json:"notifications"`
		Query         struct {
			Status int             `json:"status"`
			Answer json.RawMessage `json:"answer"`
		} `json:"query"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &status); err != nil || len(status.Notifications) != 1 {
		t.Fatalf("status: %d %s", rec.Code, rec.Body)
	}
	n := status.Notifications[0]
	if n.EventType != "TRANSACTION.SUCCESS" || !strings.HasPrefix(n.NotifyID, "EV-") ||
		!strings.Contains(string(n.Resource), `"trade_state":"SUCCESS"`) || !strings.Contains(string(n.Resource), order.OutTradeNo) {
		t.Errorf("the backend heard %+v", n)
	}
	if status.Query.Status != http.StatusOK || !strings.Contains(string(status.Query.Answer), `"trade_state":"SUCCESS"`) {
		t.Errorf("query %d %s", status.Query.Status, status.Query.Answer)
	}

	// an encrypted notification reaching the backend is refused: it has no key
	rec = serve(t, h, http.MethodPost, pathDemoNotify, `{"id":"EV-1","resource":{"ciphertext":"x"},"out_trade_no":"`+order.OutTradeNo+`"}`)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "no APIv3 key") {
		t.Errorf("an encrypted notification: %d %s", rec.Code, rec.Body)
	}
	// WeChat Pay's answer failing its signature check reaches the page as such
	addFault(t, h, `{"endpoint":"pay","signature":"bad"}`)
	if rec := create(testOpenID); rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "SIGN_VERIFY_FAILED") {
		t.Errorf("a bad answer signature: %d %s", rec.Code, rec.Body)
	}
	for _, target := range []string{pathDemoOrders + "/NOSUCHORDER", pathDemoOrders + "/x"} {
		if rec := serve(t, h, http.MethodGet, target, ""); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d", target, rec.Code)
		}
	}
	if rec := serve(t, h, http.MethodGet, pathDemoOrders+"/"+order.OutTradeNo+"?wait=forever", ""); rec.Code != http.StatusBadRequest {
		t.Errorf("a bad wait: %d", rec.Code)
	}
}

func TestDemoBackendOff(t *testing.T) {
	h, _ := newTestHandler(t)
	if rec := serve(t, h, http.MethodPost, pathDemoOrders, "{}"); rec.Code != http.StatusNotFound {
		t.Fatalf("demo backend without demo_backend: %d %s", rec.Code, rec.Body)
	}
}
