package payapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys/paykeystest"
)

// fixture is a provisioned handler in front of a fake WeChat Pay, with the
// handler's logs at every level.
type fixture struct {
	h     *Handler
	wx    *paykeystest.Server
	wxURL string
	logs  *observer.ObservedLogs
}

// newFixture provisions a public-key-mode handler (changed by mutate)
// whose next handler proxies to a fake WeChat Pay.
func newFixture(t testing.TB, mutate func(*Handler)) *fixture {
	t.Helper()
	wx := paykeystest.NewServer(t)
	srv := httptest.NewServer(wx)
	t.Cleanup(srv.Close)
	core, logs := observer.New(zapcore.DebugLevel)
	h := &Handler{
		MchID:      paykeystest.MchID,
		SerialNo:   paykeystest.MchSerial,
		PrivateKey: paykeystest.KeyPath(t, paykeystest.MerchantKeyFile),
		WechatpayPublicKey: &paykeys.PublicKey{
			Path: paykeystest.KeyPath(t, paykeystest.PublicModePubFile),
			ID:   paykeystest.PublicKeyID,
		},
		APIBase: srv.URL,
		logger:  zap.New(core),
		storage: &certmagic.FileStorage{Path: t.TempDir()},
	}
	if mutate != nil {
		mutate(h)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	t.Cleanup(func() { h.Cleanup() })
	return &fixture{h: h, wx: wx, wxURL: srv.URL, logs: logs}
}

// proxy is the next handler: a stand-in for reverse_proxy to the fake
// WeChat Pay. It sends r as it is (r.URL.RequestURI(), the body the
// handler set), then copies the answer in pieces with flushes, as
// reverse_proxy streams.
func (f *fixture) proxy() caddyhttp.Handler {
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		out := r.Clone(r.Context())
		out.RequestURI = ""
		u, _ := url.Parse(f.wxURL)
		out.URL.Scheme, out.URL.Host = u.Scheme, u.Host
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			return caddyhttp.Error(http.StatusBadGateway, err)
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		buf := make([]byte, 7)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				w.Write(buf[:n])
				http.NewResponseController(w).Flush()
			}
			if err != nil {
				return nil
			}
		}
	})
}

// do sends method target with body through the handler.
func (f *fixture) do(t testing.TB, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	if err := f.h.ServeHTTP(w, r, f.proxy()); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return w
}
