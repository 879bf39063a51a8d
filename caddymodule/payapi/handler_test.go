package payapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys/paykeystest"
)

const orderBody = `{"appid":"wx0123456789abcdef","mchid":"1900000001","description":"测试商品","out_trade_no":"T20260101","notify_url":"https://shop.example/notify","amount":{"total":1},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}`

// TestSignsAsSent: the signature covers the method, the request-target as
// it reaches WeChat Pay (escapes and query untouched), the timestamp, the
// nonce and the exact body; a client's Authorization is replaced.
func TestSignsAsSent(t *testing.T) {
	f := newFixture(t, nil)
	pub := paykeystest.MerchantPublicKey(t)
	for _, c := range []struct{ method, target, body string }{
		{"POST", "/v3/pay/transactions/jsapi", orderBody},
		{"GET", "/v3/pay/transactions/out-trade-no/T20260101?mchid=1900000001", ""},
		{"GET", "/v3/x/a%2Fb/%E4%B8%AD?q=%E4%B8%AD&r=a+b&empty=", ""},
		{"POST", "/v3/pay/transactions/out-trade-no/T1/close", `{"mchid":"1900000001"}`},
		{"PATCH", "/v3/y", "{}"},
	} {
		t.Run(c.method+" "+c.target, func(t *testing.T) {
			before := len(f.wx.Requests())
			w := f.do(t, c.method, c.target, c.body, "Authorization", "Bearer client-token", "Accept", "text/html")
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			reqs := f.wx.Requests()
			if len(reqs) != before+1 {
				t.Fatalf("%d calls reached WeChat Pay, want 1", len(reqs)-before)
			}
			got := reqs[len(reqs)-1]
			if got.URI != c.target || got.Method != c.method || string(got.Body) != c.body {
				t.Errorf("WeChat Pay got %s %s %q", got.Method, got.URI, got.Body)
			}
			if why := paykeystest.VerifyAuthorization(pub, got.Header.Get("Authorization"), got.Method, got.URI, got.Body); why != "" {
				t.Errorf("Authorization %q: %s", got.Header.Get("Authorization"), why)
			}
			if len(got.Header.Values("Authorization")) != 1 {
				t.Errorf("Authorization sent %d times", len(got.Header.Values("Authorization")))
			}
			if got.Header.Get("Accept") != "application/json" || got.Header.Get("User-Agent") == "" {
				t.Errorf("headers %v", got.Header)
			}
			if cl := got.Header.Get("Content-Length"); c.body != "" && cl != strconv.Itoa(len(c.body)) {
				t.Errorf("Content-Length %q for %d bytes", cl, len(c.body))
			}
		})
	}
}

func TestRefusesRequests(t *testing.T) {
	f := newFixture(t, func(h *Handler) { h.MaxBody = 64 })
	for _, c := range []struct {
		method, target, body string
		status               int
		code                 string
	}{
		{"GET", "/v2/pay/orderquery", "", 400, CodeInvalidRequest},
		{"GET", "/wechatpay/v3/x", "", 400, CodeInvalidRequest},
		{"GET", "/v3/../admin", "", 400, CodeInvalidRequest},
		{"GET", "/v3/a/./b", "", 400, CodeInvalidRequest},
		{"POST", "/v3/x", strings.Repeat("x", 65), 413, CodeBodyTooLarge},
		{"get", "/v3/x", "", 400, CodeInvalidRequest},
	} {
		w := f.do(t, c.method, c.target, c.body)
		var e struct{ Code, Message string }
		if w.Code != c.status || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Code != c.code {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.target, w.Code, w.Body, c.status, c.code)
		}
	}
	if n := len(f.wx.Requests()); n != 0 {
		t.Fatalf("%d refused requests reached WeChat Pay", n)
	}
	// exactly 64 bytes pass
	if w := f.do(t, "POST", "/v3/x", strings.Repeat("x", 64)); w.Code != 200 {
		t.Fatalf("a body of max_body bytes: %d", w.Code)
	}
}

// TestChunkedBodySigned: a body without Content-Length is read whole and
// sent with one.
func TestChunkedBodySigned(t *testing.T) {
	f := newFixture(t, nil)
	r := httptest.NewRequest("POST", "/v3/pay/transactions/jsapi", strings.NewReader(orderBody))
	r.ContentLength = -1
	r.TransferEncoding = []string{"chunked"}
	w := httptest.NewRecorder()
	if err := f.h.ServeHTTP(w, r, f.proxy()); err != nil || w.Code != 200 {
		t.Fatalf("%v %d", err, w.Code)
	}
	got := f.wx.Requests()[0]
	if string(got.Body) != orderBody || got.Header.Get("Content-Length") != strconv.Itoa(len(orderBody)) {
		t.Fatalf("sent %q with Content-Length %q", got.Body, got.Header.Get("Content-Length"))
	}
}

// answer makes the fake WeChat Pay answer status and body, signed by
// signer now, tampered with by mutate.
func answer(f *fixture, signer paykeystest.Signer, status int, body string, mutate func(h http.Header, body *string)) {
	f.wx.SetAnswer(paykeystest.SignedAnswer(signer, status, body, 0, mutate))
}

const secretAnswer = `{"prepay_id":"wx-answer-canary-0123456789"}`

// TestAnswerFailsClosed: an answer that is not proven to be WeChat Pay's
// never reaches the backend, not one byte nor its headers: 502
// SIGN_VERIFY_FAILED instead, and one WARN per cause.
func TestAnswerFailsClosed(t *testing.T) {
	_, rogue := paykeystest.NewCert(t)
	for _, c := range []struct {
		name   string
		signer func(t testing.TB) paykeystest.Signer
		mutate func(h http.Header, body *string)
		reason string
	}{
		{"tampered body", paykeystest.PublicModeSigner, paykeystest.TamperBody, "does not verify"},
		{"tampered signature", paykeystest.PublicModeSigner, paykeystest.TamperSignature, "does not verify"},
		{"old timestamp", paykeystest.PublicModeSigner, nil, "5 minutes"},
		{"unknown serial", func(testing.TB) paykeystest.Signer { return rogue }, nil, "no key for Wechatpay-Serial"},
		{"missing header", paykeystest.PublicModeSigner, paykeystest.DropSignature, "missing Wechatpay-* header"},
		{"signature test probe", paykeystest.PublicModeSigner, paykeystest.SignTest, "signature-test"},
		{"signed by another key under the right serial", func(testing.TB) paykeystest.Signer {
			return paykeystest.Signer{Key: rogue.Key, Serial: paykeystest.PublicKeyID}
		}, nil, "does not verify"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			signer := c.signer(t)
			skew := time.Duration(0)
			if c.name == "old timestamp" {
				skew = -5 * time.Minute
			}
			f.wx.SetAnswer(paykeystest.SignedAnswer(signer, http.StatusOK, secretAnswer, skew, c.mutate))
			for range 2 {
				w := f.do(t, "POST", "/v3/pay/transactions/jsapi", orderBody)
				if w.Code != http.StatusBadGateway {
					t.Fatalf("status %d, want 502: %s", w.Code, w.Body)
				}
				var e struct{ Code, Message string }
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code != CodeSignVerifyFailed {
					t.Fatalf("body %s", w.Body)
				}
				if !strings.Contains(e.Message, c.reason) {
					t.Errorf("message %q does not say %q", e.Message, c.reason)
				}
				if strings.Contains(w.Body.String(), "canary") || w.Header().Get("X-Upstream-Canary") != "" || w.Header().Get("Wechatpay-Signature") != "" {
					t.Fatalf("the refused answer leaked: %v %s", w.Header(), w.Body)
				}
			}
			if n := f.logs.FilterLevelExact(zapcore.WarnLevel).FilterMessageSnippet("answer was refused").Len(); n != 1 {
				t.Errorf("%d WARN lines for two refusals of one cause, want 1", n)
			}
		})
	}
}

// TestErrorAnswersVerified: WeChat Pay's own 4xx error answers are signed
// and pass when they verify, with their status; unsigned, they are
// refused like any other answer.
func TestErrorAnswersVerified(t *testing.T) {
	f := newFixture(t, nil)
	errBody := `{"code":"PARAM_ERROR","message":"参数错误"}`
	answer(f, paykeystest.PublicModeSigner(t), http.StatusBadRequest, errBody, nil)
	w := f.do(t, "POST", "/v3/pay/transactions/jsapi", orderBody)
	if w.Code != 400 || w.Body.String() != errBody {
		t.Fatalf("signed error answer: %d %s", w.Code, w.Body)
	}
	answer(f, paykeystest.PublicModeSigner(t), http.StatusUnauthorized, `{"code":"SIGN_ERROR","message":"x"}`, func(h http.Header, _ *string) {
		for k := range h {
			if strings.HasPrefix(k, "Wechatpay-") {
				h.Del(k)
			}
		}
	})
	w = f.do(t, "POST", "/v3/pay/transactions/jsapi", orderBody)
	if w.Code != 502 || !strings.Contains(w.Body.String(), "HTTP 401") {
		t.Fatalf("unsigned error answer: %d %s", w.Code, w.Body)
	}
}

// TestVerifiedAnswerPasses: byte for byte, with status and headers.
func TestVerifiedAnswerPasses(t *testing.T) {
	f := newFixture(t, nil)
	answer(f, paykeystest.PublicModeSigner(t), http.StatusOK, secretAnswer, nil)
	w := f.do(t, "POST", "/v3/pay/transactions/jsapi", orderBody)
	if w.Code != 200 || w.Body.String() != secretAnswer || w.Header().Get("X-Upstream-Canary") != "leak" || w.Header().Get("Wechatpay-Serial") != paykeystest.PublicKeyID {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
	}
}

// TestBodylessAnswers: a signed 204 (closing an order) is verified over the
// empty body, and refused when its signature is wrong; an unsigned
// bodyless answer has nothing to check and passes.
func TestBodylessAnswers(t *testing.T) {
	f := newFixture(t, nil)
	const closeOrder = "/v3/pay/transactions/out-trade-no/T1/close"
	for _, c := range []struct {
		name   string
		answer func(http.ResponseWriter, *http.Request, []byte)
		status int
	}{
		{"signed", paykeystest.SignedAnswer(paykeystest.PublicModeSigner(t), 204, "", 0, nil), 204},
		{"signature wrong", paykeystest.SignedAnswer(paykeystest.PublicModeSigner(t), 204, "", 0, paykeystest.TamperSignature), 502},
		{"old timestamp", paykeystest.SignedAnswer(paykeystest.PublicModeSigner(t), 204, "", -10*time.Minute, nil), 502},
		{"unsigned", func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(http.StatusNoContent) }, 204},
	} {
		f.wx.SetAnswer(c.answer)
		if w := f.do(t, "POST", closeOrder, `{"mchid":"1900000001"}`); w.Code != c.status || (c.status == 204 && w.Body.Len() != 0) {
			t.Errorf("%s: %d %s, want %d", c.name, w.Code, w.Body, c.status)
		}
	}
}

func TestAnswerTooLarge(t *testing.T) {
	f := newFixture(t, func(h *Handler) { h.MaxBody = 32 })
	answer(f, paykeystest.PublicModeSigner(t), 200, secretAnswer, nil)
	w := f.do(t, "GET", "/v3/x", "")
	if w.Code != 502 || strings.Contains(w.Body.String(), "canary") || !strings.Contains(w.Body.String(), "max_body") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// TestUpstreamErrorWritesNothing: when the proxy fails, its error goes to
// Caddy's error handling with nothing written.
func TestUpstreamErrorWritesNothing(t *testing.T) {
	f := newFixture(t, nil)
	r := httptest.NewRequest("GET", "/v3/x", nil)
	w := httptest.NewRecorder()
	wantErr := caddyhttp.Error(502, errors.New("dial tcp: refused"))
	err := f.h.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("X-Partial", "1")
		w.WriteHeader(200)
		w.Write([]byte("partial"))
		return wantErr
	}))
	if !errors.Is(err, wantErr) || w.Body.Len() != 0 || w.Header().Get("X-Partial") != "" || w.Flushed {
		t.Fatalf("err %v, wrote %d bytes %v", err, w.Body.Len(), w.Header())
	}
}

// TestCertificateModeThroughHandler: cold, the first answer signed with a
// platform certificate makes the handler download the certificates.
func TestCertificateModeThroughHandler(t *testing.T) {
	t.Setenv("PAYAPI_TEST_APIV3", paykeystest.APIv3Key)
	f := newFixture(t, func(h *Handler) {
		h.WechatpayPublicKey = nil
		h.APIv3Key = "{env.PAYAPI_TEST_APIV3}"
	})
	answer(f, paykeystest.PlatformSigner(t), 200, secretAnswer, nil)
	if w := f.do(t, "GET", "/v3/x", ""); w.Code != 200 || w.Body.String() != secretAnswer {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if f.wx.CertFetches() != 1 {
		t.Fatalf("%d downloads", f.wx.CertFetches())
	}
}
