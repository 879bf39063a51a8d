package payapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys/paykeystest"
)

// BenchmarkSignRequest is one order call through the handler: read the
// 1 KB body, sign it (nonce, SHA-256, RSA-2048), set the headers; the next
// handler reads the body and answers 204, so no verification runs.
func BenchmarkSignRequest(b *testing.B) {
	f := newFixture(b, nil)
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	body := benchOrder()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r := httptest.NewRequest("POST", "/v3/pay/transactions/jsapi", strings.NewReader(body))
		w := httptest.NewRecorder()
		if err := f.h.ServeHTTP(w, r, next); err != nil || w.Code != 204 {
			b.Fatal(err, w.Code)
		}
	}
}

// BenchmarkSignAndVerify adds the answer: held, verified (RSA-2048 public
// key), written.
func BenchmarkSignAndVerify(b *testing.B) {
	f := newFixture(b, nil)
	answer := []byte(`{"prepay_id":"wx201410272009395522657a690389285100"}`)
	hdr := paykeystest.PublicModeSigner(b).Headers(answer, time.Now())
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		io.Copy(io.Discard, r.Body)
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.WriteHeader(http.StatusOK)
		w.Write(answer)
		return nil
	})
	body := benchOrder()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/v3/pay/transactions/jsapi", strings.NewReader(body))
		w := httptest.NewRecorder()
		if err := f.h.ServeHTTP(w, r, next); err != nil || w.Code != 200 {
			b.Fatal(err, w.Code, w.Body)
		}
	}
}

// benchOrder is a JSAPI order body padded to about 1 KB.
func benchOrder() string {
	return strings.Replace(orderBody, `"description":"测试商品"`, `"description":"测试商品","attach":"`+strings.Repeat("a", 1024-len(orderBody))+`"`, 1)
}
