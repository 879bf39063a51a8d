package credential

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

func TestRefreshForcesWithinLimits(t *testing.T) {
	h := newHarness(t, nil)
	h.mustTicket(t, "TICKET-1-4b8e2d")
	ctx := context.Background()
	if err := h.store.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	h.src.wantCalls(t, 2, 2, 1)
	h.mustTicket(t, "TICKET-2-4b8e2d")

	var limited *RefreshLimitedError
	h.clock.Advance(10 * time.Second)
	err := h.store.Refresh(ctx)
	if !errors.Is(err, ErrRefreshLimited) || !errors.As(err, &limited) || limited.RetryAfter != 20*time.Second {
		t.Fatalf("second refresh 10 s later: %v, want limited for 20 s", err)
	}
	h.src.wantCalls(t, 2, 2, 1)

	// 20 a day: the first was at t0, the second is due at t0+30s…
	h.clock.Advance(20 * time.Second)
	for i := 2; i <= forcesPerWindow; i++ {
		if err := h.store.Refresh(ctx); err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		h.clock.Advance(forceInterval)
	}
	err = h.store.Refresh(ctx)
	if !errors.As(err, &limited) || limited.RetryAfter != forceWindow-forcesPerWindow*forceInterval {
		t.Fatalf("refresh %d in a day: %v", forcesPerWindow+1, err)
	}
}

// TestRefreshIgnoresBackoff: the operator's refresh is the cure for a
// failure the store is backing off from.
func TestRefreshIgnoresBackoff(t *testing.T) {
	fail := true
	h := newHarness(t, &fakeSource{token: func(n int, _ bool) (wechat.Credential, error) {
		if fail {
			return wechat.Credential{}, apiErr(wechat.PathStableToken, 40164)
		}
		return wechat.Credential{Value: "TOKEN-FIXED", ExpiresIn: lifetime}, nil
	}})
	if _, err := h.ticket(t); wechat.Classify(err) != wechat.ClassIPWhitelist {
		t.Fatalf("err = %v", err)
	}
	if st := h.store.Stats(); st.BackoffUntil.IsZero() {
		t.Fatal("no backoff")
	}
	fail = false // the operator fixed the whitelist
	if err := h.store.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := h.store.Stats()
	if !st.BackoffUntil.IsZero() || st.LastErrorClass != wechat.ClassIPWhitelist {
		t.Errorf("after refresh: backoff until %v, last error %v", st.BackoffUntil, st.LastErrorClass)
	}
	h.mustTicket(t, "TICKET-1-4b8e2d")
}

// TestNoForceSource: a source that cannot force is never asked to, neither
// by Refresh nor by the invalid-token cure, which re-reads it once.
func TestNoForceSource(t *testing.T) {
	t.Run("refresh", func(t *testing.T) {
		src := &fakeSource{cannotForce: true}
		h := newHarness(t, src)
		h.mustTicket(t, "")
		if err := h.store.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		src.wantCalls(t, 2, 2, 0)
	})
	t.Run("invalid token", func(t *testing.T) {
		src := &fakeSource{
			cannotForce: true,
			token: func(int, bool) (wechat.Credential, error) {
				return wechat.Credential{Value: "SERVICE-TOKEN", ExpiresIn: lifetime}, nil
			},
			ticket: func(int, string) (wechat.Credential, error) {
				return wechat.Credential{}, apiErr(wechat.PathTicket, 40001)
			},
		}
		h := newHarness(t, src)
		if _, err := h.ticket(t); wechat.Classify(err) != wechat.ClassInvalidToken {
			t.Fatalf("err = %v", err)
		}
		src.wantCalls(t, 2, 2, 0)
	})
}

// TestRefreshTakesAnotherInstancesRefresh: with an L2, a refresh that waited
// for the lock while another instance refreshed takes that instance's
// credential instead of fetching again.
func TestRefreshTakesAnotherInstancesRefresh(t *testing.T) {
	clock, sh := newClock(), newFakeShared()
	h := newInstance(t, clock, sh, nil, 0)
	if err := sh.Lock(context.Background(), lockName); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan string, 1)
	sh.setWaiting(waiting)
	done := make(chan error, 1)
	go func() { done <- h.store.Refresh(context.Background()) }()
	<-waiting
	// the other instance writes its fresh ticket and releases the lock
	rec, _ := json.Marshal(sharedRecord{Value: "TICKET-OTHER", ObtainedAt: clock.Now(), ExpiresAt: clock.Now().Add(lifetime)})
	if err := sh.Store(context.Background(), testPrefix+"/ticket", rec); err != nil {
		t.Fatal(err)
	}
	sh.expire(lockName)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	h.src.wantCalls(t, 0, 0, 0)
	h.mustTicket(t, "TICKET-OTHER")
}
