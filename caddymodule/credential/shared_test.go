package credential

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// TestSharedOneFetchForTwoInstances: two instances, cold, with many callers
// each, make one token and one ticket call between them; the one that
// waited for the lock reads what the other wrote.
func TestSharedOneFetchForTwoInstances(t *testing.T) {
	clock, sh, src := newClock(), newFakeShared(), &fakeSource{}
	gate, started := make(chan struct{}), make(chan string, 2)
	src.setGate(gate, started)
	a := newInstance(t, clock, sh, src, 0)
	b := newInstance(t, clock, sh, src, 0)

	const callers = 100
	var wg sync.WaitGroup
	results := make(chan string, 2*callers)
	run := func(h *harness) {
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := h.store.Ticket(context.Background())
				if err != nil {
					v = "error: " + err.Error()
				}
				results <- v
			}()
		}
	}
	run(a)
	<-started // a holds the lock and is fetching the token
	waiting := make(chan string, 1)
	sh.setWaiting(waiting)
	run(b)
	<-waiting // b missed the L2 and waits for a's lock
	sh.setWaiting(nil)
	close(gate)
	wg.Wait()
	close(results)
	for v := range results {
		if v != "TICKET-1-4b8e2d" {
			t.Errorf("a caller got %q", v)
		}
	}
	src.wantCalls(t, 1, 1, 0)
	if st := b.store.Stats().Shared; st.LocksAcquired != 1 || st.Hits != 1 || st.Misses != 1 {
		t.Errorf("waiting instance: %+v, want one lock, one miss before it and one hit after", st)
	}
	if sh.isLocked(lockName) {
		t.Error("the lock is still held")
	}
}

// TestSharedRestartCostsNothing: a new store (a restarted instance) starts
// from the L2: no call for the ticket, and its next refresh uses the token
// from the L2.
func TestSharedRestartCostsNothing(t *testing.T) {
	clock, sh := newClock(), newFakeShared()
	a := newInstance(t, clock, sh, nil, 0)
	a.mustTicket(t, "TICKET-1-4b8e2d")
	a.store.Close()

	clock.Advance(time.Hour)
	c := newInstance(t, clock, sh, nil, 0)
	c.mustTicket(t, "TICKET-1-4b8e2d")
	c.src.wantCalls(t, 0, 0, 0)
	if st := c.store.Stats(); st.TicketExpiresAt != newClock().Now().Add(lifetime) {
		t.Errorf("TicketExpiresAt = %v, want the first instance's", st.TicketExpiresAt)
	}

	clock.Advance(refreshAfter - time.Hour)
	c.mustTicket(t, "TICKET-1-4b8e2d") // starts the refresh ahead
	c.idle()
	c.src.wantCalls(t, 0, 1, 0)
	if tokens := c.src.ticketTokens; len(tokens) != 1 || tokens[0] != "TOKEN-1-7f3a9c" {
		t.Errorf("ticket fetched with %q, want the token from the L2", tokens)
	}
}

// TestSharedRefreshAheadOnce: instances reach refreshAt together (they
// compute it from the same record) and refresh once between them.
func TestSharedRefreshAheadOnce(t *testing.T) {
	clock, sh, src := newClock(), newFakeShared(), &fakeSource{}
	a := newInstance(t, clock, sh, src, 0)
	b := newInstance(t, clock, sh, src, 0)
	a.mustTicket(t, "TICKET-1-4b8e2d")
	b.mustTicket(t, "TICKET-1-4b8e2d")
	src.wantCalls(t, 1, 1, 0)

	clock.Advance(refreshAfter)
	a.mustTicket(t, "TICKET-1-4b8e2d")
	b.mustTicket(t, "TICKET-1-4b8e2d")
	a.idle()
	b.idle()
	src.wantCalls(t, 1, 2, 0)
	a.mustTicket(t, "TICKET-2-4b8e2d")
	b.mustTicket(t, "TICKET-2-4b8e2d")
}

// TestSharedCrashedHolder: an instance stuck upstream while holding the
// lock (as good as crashed) does not stop another from refreshing once the
// storage expires its lock.
func TestSharedCrashedHolder(t *testing.T) {
	clock, sh := newClock(), newFakeShared()
	stuck := &fakeSource{}
	gate, started := make(chan struct{}), make(chan string, 2)
	stuck.setGate(gate, started)
	a := newInstance(t, clock, sh, stuck, 0)
	b := newInstance(t, clock, sh, nil, time.Minute)

	aDone := make(chan error, 1)
	go func() {
		_, err := a.store.Ticket(context.Background())
		aDone <- err
	}()
	<-started // a holds the lock and hangs in the token call
	waiting := make(chan string, 1)
	sh.setWaiting(waiting)
	bDone := make(chan error, 1)
	go func() {
		_, err := b.store.Ticket(context.Background())
		bDone <- err
	}()
	<-waiting
	sh.setWaiting(nil)
	select {
	case err := <-bDone:
		t.Fatalf("b returned while a held the lock: %v", err)
	default:
	}
	sh.expire(lockName) // what the storage does to a dead holder's lock
	if err := <-bDone; err != nil {
		t.Fatalf("b after the lock expired: %v", err)
	}
	b.src.wantCalls(t, 1, 1, 0)
	b.mustTicket(t, "TICKET-1-4b8e2d")

	close(gate)
	<-aDone
}

// TestSharedLockWaitBounded: a lock that never comes free fails the flight
// after LockWait, as a transient failure with backoff, without fetching;
// once the lock is free the next attempt refreshes.
func TestSharedLockWaitBounded(t *testing.T) {
	clock, sh := newClock(), newFakeShared()
	if err := sh.Lock(context.Background(), lockName); err != nil {
		t.Fatal(err)
	}
	b := newInstance(t, clock, sh, nil, 20*time.Millisecond)
	_, err := b.ticket(t)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) ||
		wechat.Classify(err) != wechat.ClassRetryable {
		t.Fatalf("err = %v, want a retryable ErrUnavailable", err)
	}
	b.src.wantCalls(t, 0, 0, 0)
	st := b.store.Stats()
	if st.Shared.LockTimeouts != 1 || st.BackoffUntil != clock.Now().Add(time.Second) {
		t.Errorf("stats %+v / %+v: want one lock timeout and a 1 s backoff", st, st.Shared)
	}
	if !strings.Contains(st.LastError, "shared refresh lock") {
		t.Errorf("LastError = %q", st.LastError)
	}

	sh.expire(lockName)
	clock.Advance(time.Second)
	b.mustTicket(t, "TICKET-1-4b8e2d")
	b.src.wantCalls(t, 1, 1, 0)
}

// TestSharedStorageDown: with every storage operation failing, pages still
// get tickets from the instance's own fetch; each cause is logged once per
// outage, every failure counted, and the recovery logged once.
func TestSharedStorageDown(t *testing.T) {
	clock, sh := newClock(), newFakeShared()
	for _, op := range sharedOps {
		sh.setFail(op, fmt.Errorf("%s: connection refused", op))
	}
	h := newInstance(t, clock, sh, nil, 0)
	for range 3 {
		h.mustTicket(t, "")
		clock.Advance(lifetime) // past everything: the next call fetches
	}
	h.src.wantCalls(t, 3, 3, 0)

	warned := func() []string {
		var ops []string
		for _, e := range h.logs.FilterLevelExact(zapcore.WarnLevel).All() {
			ops = append(ops, e.ContextMap()["op"].(string))
		}
		slices.Sort(ops)
		return ops
	}
	// The lock failed, so there was nothing to unlock.
	if got, want := warned(), []string{OpLoad, OpLock, OpStore}; !slices.Equal(got, want) {
		t.Errorf("warnings for %v, want one per cause %v", got, want)
	}
	st := h.store.Stats().Shared
	// Per flight: two loads (ticket, then ticket again… the lock failed,
	// so the re-read and the token read go on), one lock, two stores.
	if st.Errors[OpLock] != 3 || st.Errors[OpStore] != 6 || st.Errors[OpLoad] < 6 || st.Errors[OpUnlock] != 0 {
		t.Errorf("errors %v", st.Errors)
	}
	if !strings.Contains(st.LastError, "connection refused") || st.LastErrorAt.IsZero() {
		t.Errorf("LastError %q at %v", st.LastError, st.LastErrorAt)
	}

	for _, op := range sharedOps {
		sh.setFail(op, nil)
	}
	h.mustTicket(t, "")
	h.mustTicket(t, "")
	if n := h.logs.FilterMessage("shared credential storage works again").Len(); n != 1 {
		t.Errorf("recovery logged %d times, want 1", n)
	}
	sh.setFail(OpLoad, errors.New("load: connection refused"))
	clock.Advance(lifetime)
	h.mustTicket(t, "")
	if got := warned(); len(got) != 4 {
		t.Errorf("a new outage after recovery logged %v, want the load failure again", got)
	}
}

// TestSharedUsableButDueServedWhenRefreshFails: a ticket from the L2 that
// is due but usable is what callers get when the refresh fails.
func TestSharedUsableButDueServedWhenRefreshFails(t *testing.T) {
	clock, sh := newClock(), newFakeShared()
	a := newInstance(t, clock, sh, nil, 0)
	a.mustTicket(t, "TICKET-1-4b8e2d")
	a.store.Close()
	clock.Advance(refreshAfter + time.Second)

	b := newInstance(t, clock, sh, &fakeSource{ticket: func(int, string) (wechat.Credential, error) {
		return wechat.Credential{}, apiErr(wechat.PathTicket, 45009)
	}}, 0)
	b.mustTicket(t, "TICKET-1-4b8e2d")
	b.src.wantCalls(t, 0, 1, 0)
	st := b.store.Stats()
	if st.LastErrorClass != wechat.ClassQuota || !strings.Contains(st.LastError, "45009") || st.BackoffUntil.IsZero() {
		t.Errorf("LastError %q (%v), backoff until %v", st.LastError, st.LastErrorClass, st.BackoffUntil)
	}
	// During the backoff the cached ticket keeps serving, without a call.
	b.mustTicket(t, "TICKET-1-4b8e2d")
	b.src.wantCalls(t, 0, 1, 0)
}

// TestSharedRecord: the L2 holds exactly the two records, as JSON with the
// value and its absolute life; an unreadable record is a miss that the
// next fetch overwrites.
func TestSharedRecord(t *testing.T) {
	clock, sh := newClock(), newFakeShared()
	sh.data[testPrefix+"/ticket"] = []byte("not json")
	h := newInstance(t, clock, sh, nil, 0)
	h.mustTicket(t, "TICKET-1-4b8e2d")
	h.src.wantCalls(t, 1, 1, 0)

	data := sh.snapshot()
	if len(data) != 2 {
		t.Fatalf("L2 keys %v, want the token and the ticket", slices.Collect(func(yield func(string) bool) {
			for k := range data {
				yield(k)
			}
		}))
	}
	for key, want := range map[string]string{testPrefix + "/token": "TOKEN-1-7f3a9c", testPrefix + "/ticket": "TICKET-1-4b8e2d"} {
		var rec map[string]any
		if err := json.Unmarshal(data[key], &rec); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if len(rec) != 3 || rec["value"] != want {
			t.Errorf("%s = %s", key, data[key])
		}
		var r sharedRecord
		_ = json.Unmarshal(data[key], &r)
		if !r.ObtainedAt.Equal(clock.Now()) || r.ExpiresAt.Sub(r.ObtainedAt) != lifetime {
			t.Errorf("%s: obtained %v, expires %v", key, r.ObtainedAt, r.ExpiresAt)
		}
	}
}

// TestSharedConfigValidation: an L2 needs a key prefix.
func TestSharedConfigValidation(t *testing.T) {
	for _, cfg := range []Config{
		{Source: &fakeSource{}, Shared: newFakeShared()},
		{Source: &fakeSource{}, Shared: newFakeShared(), SharedPrefix: "p", LockWait: -time.Second},
	} {
		if s, err := New(cfg); err == nil {
			s.Close()
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}
