package paynotify

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys/paykeystest"
	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

const apiv3Env = "PAYNOTIFY_TEST_APIV3"

// newHandler provisions a public-key-mode handler on st (changed by
// mutate) and returns its logs at every level.
func newHandler(t testing.TB, st certmagic.Storage, mutate func(*Handler)) (*Handler, *observer.ObservedLogs) {
	t.Helper()
	if tt, ok := t.(*testing.T); ok {
		tt.Setenv(apiv3Env, paykeystest.APIv3Key)
	} else {
		t.(*testing.B).Setenv(apiv3Env, paykeystest.APIv3Key)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	h := &Handler{
		APIv3Key: "{env." + apiv3Env + "}",
		WechatpayPublicKey: &paykeys.PublicKey{
			Path: paykeystest.KeyPath(t, paykeystest.PublicModePubFile),
			ID:   paykeystest.PublicKeyID,
		},
		logger:  zap.New(core),
		storage: st,
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
	return h, logs
}

// backend records what reaches it and answers status.
type backend struct {
	mu     sync.Mutex
	got    []received
	status int
}

type received struct {
	method string
	header http.Header
	body   string
}

func (b *backend) handler() caddyhttp.Handler {
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.got = append(b.got, received{r.Method, r.Header.Clone(), string(body)})
		status := b.status
		b.mu.Unlock()
		if status == 0 {
			status = http.StatusNoContent
		}
		w.WriteHeader(status)
		return nil
	})
}

func (b *backend) calls() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.got...)
}

func (b *backend) setStatus(s int) {
	b.mu.Lock()
	b.status = s
	b.mu.Unlock()
}

// notification is one signed delivery: its body and headers.
type notification struct {
	body   []byte
	header http.Header
}

// newNotification encrypts plaintext with apiv3 and signs the body with
// signer at at.
func newNotification(signer paykeystest.Signer, apiv3 string, at time.Time) notification {
	body := paykeystest.Notification("EV-2018022511223320873", "TRANSACTION.SUCCESS", apiv3, []byte(paykeystest.Transaction))
	return notification{body: body, header: signer.Headers(body, at)}
}

// send posts n through h to b.
func send(t testing.TB, h *Handler, b *backend, n notification, extra ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/wechatpay/notify", strings.NewReader(string(n.body)))
	for k, v := range n.header {
		r.Header[k] = v
	}
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(extra); i += 2 {
		r.Header[extra[i]] = append(r.Header[extra[i]], extra[i+1])
	}
	w := httptest.NewRecorder()
	r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, nil) // as a Caddy server does
	if err := h.ServeHTTP(w, r, b.handler()); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return w
}

// readSigned is what the handler reads from n's headers.
func readSigned(n notification) sign.SignedHeaders {
	return sign.ReadSignedHeaders(n.header.Get)
}

// failingStorage is a storage whose locks fail, as an unreachable Redis.
type failingStorage struct{ certmagic.Storage }

func (failingStorage) Lock(context.Context, string) error { return errors.New("storage unreachable") }
