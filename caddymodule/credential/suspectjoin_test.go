package credential

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// retryAll sends n retries at once and returns a channel that yields each
// one's error when it returns.
func retryAll(h *harness, n int) <-chan error {
	out := make(chan error, n)
	for range n {
		go func() { out <- h.store.RefreshTicket(context.Background()) }()
	}
	return out
}

// wantNoneYet fails when a retry returned while the refetch it should wait
// for is still held: a retry that does not wait returns at once.
func wantNoneYet(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("a retry returned (%v) while the refetch was still running", err)
	case <-time.After(50 * time.Millisecond):
	}
}

// Issue #12: five pages signed with a ticket rotated behind our back
// report it together. Every retry waits for the one refetch and then signs
// with the new ticket; WeChat gets one ticket call.
func TestRefreshTicketRetriesJoinTheRefetch(t *testing.T) {
	h := newHarness(t, nil)
	h.mustTicket(t, "TICKET-1-4b8e2d")

	gate, started := make(chan struct{}), make(chan string, 1)
	h.src.setGate(gate, started)
	first := retryAll(h, 1)
	if call := <-started; call != "ticket" {
		t.Fatalf("the refetch called %q first, want the ticket", call)
	}
	h.src.setGate(gate, nil)

	// The suspect ticket is no longer handed out, to pages either.
	if v, ok := h.store.Cached(); ok {
		t.Fatalf("Cached = %q during the refetch, want nothing", v)
	}
	others := retryAll(h, 4)
	wantNoneYet(t, first)
	wantNoneYet(t, others)

	close(gate)
	for i, ch := range []<-chan error{first, others, others, others, others} {
		if err := <-ch; err != nil {
			t.Errorf("retry %d: %v, want nil (it waited for the refetch)", i+1, err)
		}
		if v, ok := h.store.Cached(); !ok || v != "TICKET-2-4b8e2d" {
			t.Errorf("retry %d then signs with %q, %v; want the new ticket", i+1, v, ok)
		}
	}
	h.src.wantCalls(t, 1, 2, 0)

	// A retry right after the refetch: no call, and the new ticket.
	h.clock.Advance(time.Second)
	var le *RefreshLimitedError
	if err := h.store.RefreshTicket(context.Background()); !errors.As(err, &le) {
		t.Fatalf("a retry after the refetch: %v, want refused", err)
	}
	h.mustTicket(t, "TICKET-2-4b8e2d")
	h.src.wantCalls(t, 1, 2, 0)
}

// A retry waits for the refetch only as long as its context allows; the
// refetch goes on and its ticket is there for the next caller.
func TestRefreshTicketRetryWaitBounded(t *testing.T) {
	h := newHarness(t, nil)
	h.mustTicket(t, "TICKET-1-4b8e2d")
	gate, started := make(chan struct{}), make(chan string, 1)
	h.src.setGate(gate, started)
	first := retryAll(h, 1)
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := h.store.RefreshTicket(ctx)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a retry whose context ends: %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	h.mustTicket(t, "TICKET-2-4b8e2d")
	h.src.wantCalls(t, 1, 2, 0)
}

// A retry while a refetch runs but the store already holds another ticket
// than the suspect one (the refetch has put it in place) returns at once:
// the caller signs with that ticket.
func TestRefreshTicketNotTheSuspectTicket(t *testing.T) {
	h := newHarness(t, nil)
	h.mustTicket(t, "TICKET-1-4b8e2d")
	h.clock.Advance(refreshAfter)
	h.mustTicket(t, "TICKET-1-4b8e2d") // refresh ahead
	h.idle()
	h.mustTicket(t, "TICKET-2-4b8e2d")

	// A refetch of TICKET-1 still running, as seen by a late retry.
	r := &suspectRun{ticket: "TICKET-1-4b8e2d", done: make(chan struct{})}
	h.store.mu.Lock()
	h.store.suspecting = r
	h.store.mu.Unlock()
	if err := h.store.RefreshTicket(context.Background()); err != nil {
		t.Fatalf("retry with TICKET-2 in place: %v, want nil at once", err)
	}
	h.mustTicket(t, "TICKET-2-4b8e2d")
	h.src.wantCalls(t, 1, 2, 0)

	// The same retry while the store still holds TICKET-1 waits for r.
	h.store.cache.Del(keyTicket)
	h.store.put(keyTicket, newEntry(twoHours("TICKET-1-4b8e2d"), h.clock.Now()), time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := h.store.RefreshTicket(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("retry with TICKET-1 held: %v, want it to wait for the refetch", err)
	}
	h.src.wantCalls(t, 1, 2, 0)
	h.store.mu.Lock()
	h.store.suspecting = nil
	h.store.mu.Unlock()
}

// A page's own flight that was already fetching when the report came in
// replaces the suspect ticket: the refetch takes that ticket and makes no
// call of its own.
func TestRefreshTicketTakesTicketFetchedMeanwhile(t *testing.T) {
	h := newHarness(t, nil)
	h.mustTicket(t, "TICKET-1-4b8e2d")
	h.clock.Advance(refreshAfter)
	gate, started := make(chan struct{}), make(chan string, 1)
	h.src.setGate(gate, started)
	h.mustTicket(t, "TICKET-1-4b8e2d") // starts the refresh ahead
	<-started                          // which is calling for a ticket
	h.src.setGate(gate, nil)

	h.clock.Advance(time.Second)
	retry := retryAll(h, 1)
	wantNoneYet(t, retry)
	close(gate)
	if err := <-retry; err != nil {
		t.Fatal(err)
	}
	h.idle()
	h.mustTicket(t, "TICKET-2-4b8e2d")
	h.src.wantCalls(t, 1, 2, 0)
}

// Per ticket, not per report: past the floor, retries for the refetched
// ticket (it may be a second rotation) refetch it once more, all of them
// together; WeChat hands the same ticket back, and retries for it are then
// refused for 30 s.
func TestRefreshTicketLimitPerTicket(t *testing.T) {
	h := newHarness(t, &fakeSource{ticket: func(n int, _ string) (wechat.Credential, error) {
		if n == 1 {
			return twoHours("TICKET-1"), nil
		}
		return twoHours("TICKET-2"), nil // WeChat thinks it valid
	}})
	h.mustTicket(t, "TICKET-1")
	if err := h.store.RefreshTicket(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.mustTicket(t, "TICKET-2")
	h.src.wantCalls(t, 1, 2, 0)

	h.clock.Advance(suspectFloor)
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.store.RefreshTicket(context.Background()); err != nil && !errors.Is(err, ErrRefreshLimited) {
				t.Errorf("RefreshTicket: %v", err)
			}
		}()
	}
	wg.Wait()
	h.src.wantCalls(t, 1, 3, 0)
	h.mustTicket(t, "TICKET-2")

	h.clock.Advance(suspectFloor)
	var le *RefreshLimitedError
	if err := h.store.RefreshTicket(context.Background()); !errors.As(err, &le) || le.RetryAfter != suspectInterval-suspectFloor {
		t.Fatalf("TICKET-2, handed back, reported again: %v, want refused for %s", err, suspectInterval-suspectFloor)
	}
	h.mustTicket(t, "TICKET-2")
	h.src.wantCalls(t, 1, 3, 0)
}

// twoHours is a credential valued v that lives two hours.
func twoHours(v string) wechat.Credential { return wechat.Credential{Value: v, ExpiresIn: lifetime} }

// Two instances sharing an L2. The one whose pages report first refetches;
// the other's retries take the ticket it wrote to the L2, without a WeChat
// call, whether they come while it is refetching (they wait for the lock)
// or after.
func TestSharedRefreshTicketTakesOtherInstancesRefetch(t *testing.T) {
	for _, during := range []bool{true, false} {
		name := "after"
		if during {
			name = "during"
		}
		t.Run(name, func(t *testing.T) {
			clock, sh := newClock(), newFakeShared()
			a := newInstance(t, clock, sh, nil, 0)
			b := newInstance(t, clock, sh, nil, 0)
			a.mustTicket(t, "TICKET-1-4b8e2d")
			b.mustTicket(t, "TICKET-1-4b8e2d") // from the L2
			b.src.wantCalls(t, 0, 0, 0)
			clock.Advance(time.Second)

			if !during {
				if err := a.store.RefreshTicket(context.Background()); err != nil {
					t.Fatal(err)
				}
				if err := <-retryAll(b, 1); err != nil {
					t.Fatal(err)
				}
			} else {
				gate, started := make(chan struct{}), make(chan string, 1)
				a.src.setGate(gate, started)
				ra := retryAll(a, 1)
				<-started // a holds the lock and calls WeChat
				waiting := make(chan string, 1)
				sh.setWaiting(waiting)
				rb := retryAll(b, 3)
				<-waiting // b's refetch waits for a's lock
				sh.setWaiting(nil)
				close(gate)
				if err := <-ra; err != nil {
					t.Fatal(err)
				}
				for range 3 {
					if err := <-rb; err != nil {
						t.Fatalf("b's retry: %v", err)
					}
				}
			}
			a.mustTicket(t, "TICKET-2-4b8e2d")
			b.mustTicket(t, "TICKET-2-4b8e2d")
			a.src.wantCalls(t, 1, 2, 0)
			b.src.wantCalls(t, 0, 0, 0)
		})
	}
}

// While a reported ticket is being refetched, a page's flight that runs
// first does not take it back from the L2 (where it still is): it would
// sign pages with it again.
func TestSharedSuspectNotReadoptedFromL2(t *testing.T) {
	clock, sh := newClock(), newFakeShared()
	a := newInstance(t, clock, sh, nil, 0)
	a.mustTicket(t, "TICKET-1-4b8e2d")
	clock.Advance(time.Second)

	a.store.fetchMu.Lock() // the refetch waits behind a flight
	retry := retryAll(a, 1)
	for {
		a.store.mu.Lock()
		r := a.store.suspecting
		a.store.mu.Unlock()
		if r != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if e, fresh := a.store.adoptShared(clock.Now()); e.value != "" || fresh {
		t.Errorf("a flight took %q (fresh %v) from the L2 during its refetch", e.value, fresh)
	}
	if v, ok := a.store.Cached(); ok {
		t.Errorf("Cached = %q during the refetch, want nothing", v)
	}
	a.store.fetchMu.Unlock()
	if err := <-retry; err != nil {
		t.Fatal(err)
	}
	a.mustTicket(t, "TICKET-2-4b8e2d")
	a.src.wantCalls(t, 1, 2, 0)
	// Once it is over, the L2 is read as before.
	if e, _ := a.store.adoptShared(clock.Now()); e.value != "TICKET-2-4b8e2d" {
		t.Errorf("after the refetch the L2 gives %q", e.value)
	}
}
