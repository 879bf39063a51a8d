package credential

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no source", Config{}},
		{"negative timeout", Config{Source: &fakeSource{}, FetchTimeout: -time.Second}},
	}
	for _, tt := range tests {
		if s, err := New(tt.cfg); err == nil {
			s.Close()
			t.Errorf("%s: New succeeded", tt.name)
		}
	}
}

func TestColdCacheSingleFlight(t *testing.T) {
	h := newHarness(t, nil)
	gate := make(chan struct{})
	h.src.setGate(gate, nil)

	const callers = 200
	var started, done sync.WaitGroup
	results := make([]string, callers)
	errs := make([]error, callers)
	started.Add(callers)
	done.Add(callers)
	for i := range callers {
		go func() {
			defer done.Done()
			started.Done()
			results[i], errs[i] = h.store.Ticket(context.Background())
		}()
	}
	started.Wait()
	close(gate)
	done.Wait()

	for i := range callers {
		if errs[i] != nil || results[i] != results[0] {
			t.Fatalf("caller %d: %q, %v; caller 0 got %q", i, results[i], errs[i], results[0])
		}
	}
	h.src.wantCalls(t, 1, 1, 0)
	if st := h.store.Stats(); st.TokenFetches != 1 || st.TicketFetches != 1 {
		t.Errorf("Stats = %+v, want 1 token and 1 ticket fetch", st)
	}
}

// TestCallerGivesUpFetchGoesOn: a caller stops waiting at its own deadline;
// the shared fetch is not cancelled and fills the cache.
func TestCallerGivesUpFetchGoesOn(t *testing.T) {
	h := newHarness(t, nil)
	gate, started := make(chan struct{}), make(chan string, 4)
	h.src.setGate(gate, started)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := h.store.Ticket(ctx)
		errc <- err
	}()
	<-started // the token call is in flight
	cancel()
	err := <-errc
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrUnavailable wrapping context.Canceled", err)
	}

	close(gate)
	<-started // the ticket call
	h.idle()
	h.src.setGate(nil, nil)
	h.mustTicket(t, "TICKET-1-4b8e2d")
	h.src.wantCalls(t, 1, 1, 0)
	for i, e := range h.src.ctxErrs {
		if e != nil {
			t.Errorf("upstream call %d saw its context end: %v", i, e)
		}
	}
}

func TestFetchTimeoutBoundsEachCall(t *testing.T) {
	src := &fakeSource{}
	src.setGate(make(chan struct{}), nil) // never opens
	s, err := New(Config{Source: src, FetchTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Ticket(context.Background())
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrUnavailable wrapping DeadlineExceeded", err)
	}
	if got := s.Stats().Failures[wechat.ClassRetryable]; got != 1 {
		t.Errorf("retryable failures = %d, want 1", got)
	}
}

func TestHitMakesNoCall(t *testing.T) {
	h := newHarness(t, nil)
	h.mustTicket(t, "TICKET-1-4b8e2d")
	for range 100 {
		h.mustTicket(t, "TICKET-1-4b8e2d")
	}
	h.clock.Advance(time.Hour) // still before refreshAt
	h.mustTicket(t, "TICKET-1-4b8e2d")
	h.idle()
	h.src.wantCalls(t, 1, 1, 0)
	if got, want := h.store.Stats().TicketExpiresAt, newClock().Now().Add(lifetime); !got.Equal(want) {
		t.Errorf("TicketExpiresAt = %v, want %v", got, want)
	}
}

func TestHitDoesNotAllocate(t *testing.T) {
	h := newHarness(t, nil)
	h.mustTicket(t, "")
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := h.store.Ticket(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a cache hit allocates %v times", allocs)
	}
}

func TestEntryLife(t *testing.T) {
	t0 := newClock().Now()
	tests := []struct {
		expiresIn, margin time.Duration
	}{
		{7200 * time.Second, 5 * time.Minute},
		{3000 * time.Second, 5 * time.Minute},
		{1000 * time.Second, 100 * time.Second},
		{300 * time.Second, 30 * time.Second},
	}
	for _, tt := range tests {
		e := newEntry(wechat.Credential{Value: "v", ExpiresIn: tt.expiresIn}, t0)
		usable := tt.expiresIn - tt.margin
		if !e.expiresAt.Equal(t0.Add(tt.expiresIn)) || !e.usableUntil.Equal(t0.Add(usable)) ||
			!e.refreshAt.Equal(t0.Add(usable*3/4)) || !e.obtainedAt.Equal(t0) {
			t.Errorf("expires_in %v: %v / refresh %v usable %v", tt.expiresIn, e, e.refreshAt.Sub(t0), e.usableUntil.Sub(t0))
		}
	}
}

// TestMarginEndsUse: a ticket is handed out until its margin, and past it a
// new one is fetched while the caller waits.
func TestMarginEndsUse(t *testing.T) {
	short := func(n int, _ string) (wechat.Credential, error) {
		return wechat.Credential{Value: fmt.Sprintf("SHORT-%d", n), ExpiresIn: 300 * time.Second}, nil
	}
	t.Run("before", func(t *testing.T) {
		h := newHarness(t, &fakeSource{ticket: short})
		h.mustTicket(t, "SHORT-1")
		h.clock.Advance(270*time.Second - time.Nanosecond) // the margin is 30 s
		h.mustTicket(t, "SHORT-1")
	})
	t.Run("at", func(t *testing.T) {
		h := newHarness(t, &fakeSource{ticket: short})
		h.mustTicket(t, "SHORT-1")
		h.clock.Advance(270 * time.Second)
		h.mustTicket(t, "SHORT-2")
		h.src.wantCalls(t, 1, 2, 0)
	})
}

func TestCachedNeverWaits(t *testing.T) {
	h := newHarness(t, nil)
	if v, ok := h.store.Cached(); ok || v != "" {
		t.Fatalf("cold store: Cached() = %q, %v", v, ok)
	}
	h.src.wantCalls(t, 0, 0, 0) // Cached asks nobody
	h.mustTicket(t, "TICKET-1-4b8e2d")
	if v, ok := h.store.Cached(); !ok || v != "TICKET-1-4b8e2d" {
		t.Errorf("warm store: Cached() = %q, %v", v, ok)
	}
	h.clock.Advance(lifetime) // past the margin: not usable
	if _, ok := h.store.Cached(); ok {
		t.Error("Cached() returns a ticket past its usable life")
	}
	h.store.Close()
	if _, ok := h.store.Cached(); ok {
		t.Error("Cached() after Close")
	}
}
