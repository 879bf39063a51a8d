package credential

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// TestTokenRejectedWhileItsFetchEnds: a flight has fetched the token and
// set it, but has not returned yet (it still writes the L2 and logs); a
// store takes the token, its ticket call is refused, and its report joins
// that same flight. The token it gets back was fetched before the
// rejection: the report must go past it with a fetch of its own, or the
// refusal costs no token refetch at all (seen in CI as "1 gettoken, 2
// agent ticket calls" after a 40014). Upstream hands back the same token,
// as WeCom's gettoken does while a token is valid.
func TestTokenRejectedWhileItsFetchEnds(t *testing.T) {
	var calls atomic.Int32
	fetch := func(context.Context) (wechat.Credential, error) {
		calls.Add(1)
		return wechat.Credential{Value: "TOKEN-SAME", ExpiresIn: 2 * time.Hour}, nil
	}
	fetched, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	core, _ := observer.New(zapcore.DebugLevel)
	hooked := zapcore.RegisterHooks(core, func(e zapcore.Entry) error {
		if e.Message == "fetched access_token" {
			once.Do(func() { close(fetched); <-release }) // the first flight, between set and return
		}
		return nil
	})
	h := newTokenHolder(fetch, time.Now, zap.New(hooked), time.Second)
	t.Cleanup(h.close)
	ctx := context.Background()

	first := make(chan error, 1)
	go func() { _, err := h.get(ctx, "", false); first <- err }()
	<-fetched
	tok, err := h.get(ctx, "", false) // held: handed out at once
	if err != nil || tok.value != "TOKEN-SAME" {
		t.Fatalf("get = %q, %v", tok.value, err)
	}
	reported := make(chan error, 1)
	go func() { _, err := h.get(ctx, tok.value, false); reported <- err }()
	time.Sleep(100 * time.Millisecond) // the report joins the first flight
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-reported; err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d token fetches, want 2: the rejected token was handed back from the fetch made before the rejection", n)
	}
}
