package credential

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// fakeClock is the injected clock: time moves only when a test says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeSource counts calls and answers from the functions a test sets. By
// default every token and ticket is new and lives two hours.
type fakeSource struct {
	// token answers the n-th token call (from 1); nil means a new token.
	token func(n int, force bool) (wechat.Credential, error)
	// ticket answers the n-th ticket call; nil means a new ticket.
	ticket func(n int, accessToken string) (wechat.Credential, error)
	// gate, when set, holds every call until it is closed or the call's
	// context ends. A test sets it before the calls it wants to hold.
	gate chan struct{}
	// started, when set, receives the name of each call as it starts.
	started chan string
	// cannotForce makes it a Source that must never be forced, like a
	// central token service.
	cannotForce bool

	mu           sync.Mutex
	tokenCalls   int
	forcedCalls  int
	ticketCalls  int
	ticketTokens []string // the access token of each ticket call
	issued       []string // every value handed out, to look for in logs
	ctxErrs      []error  // each call's context error when it returned
}

const lifetime = 2 * time.Hour

func (f *fakeSource) AccessToken(ctx context.Context, force bool) (wechat.Credential, error) {
	f.mu.Lock()
	f.tokenCalls++
	if force {
		f.forcedCalls++
	}
	n, answer := f.tokenCalls, f.token
	f.mu.Unlock()
	if err := f.hold(ctx, "token"); err != nil {
		return wechat.Credential{}, err
	}
	c, err := wechat.Credential{Value: fmt.Sprintf("TOKEN-%d-7f3a9c", n), ExpiresIn: lifetime}, error(nil)
	if answer != nil {
		c, err = answer(n, force)
	}
	f.record(ctx, c)
	return c, err
}

func (f *fakeSource) Ticket(ctx context.Context, accessToken string) (wechat.Credential, error) {
	f.mu.Lock()
	f.ticketCalls++
	f.ticketTokens = append(f.ticketTokens, accessToken)
	n, answer := f.ticketCalls, f.ticket
	f.mu.Unlock()
	if err := f.hold(ctx, "ticket"); err != nil {
		return wechat.Credential{}, err
	}
	c, err := wechat.Credential{Value: fmt.Sprintf("TICKET-%d-4b8e2d", n), ExpiresIn: lifetime}, error(nil)
	if answer != nil {
		c, err = answer(n, accessToken)
	}
	f.record(ctx, c)
	return c, err
}

// CanForce implements Forcer.
func (f *fakeSource) CanForce() bool { return !f.cannotForce }

func (f *fakeSource) hold(ctx context.Context, name string) error {
	f.mu.Lock()
	gate, started := f.gate, f.started
	f.mu.Unlock()
	if started != nil {
		started <- name
	}
	if gate == nil {
		return nil
	}
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		f.record(ctx, wechat.Credential{})
		return &wechat.RequestError{Endpoint: "/fake", Err: ctx.Err()}
	}
}

func (f *fakeSource) record(ctx context.Context, c wechat.Credential) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.Value != "" {
		f.issued = append(f.issued, c.Value)
	}
	f.ctxErrs = append(f.ctxErrs, ctx.Err())
}

func (f *fakeSource) setGate(gate chan struct{}, started chan string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate, f.started = gate, started
}

// calls returns (token calls, ticket calls, forced token calls).
func (f *fakeSource) calls() (tokens, tickets, forced int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCalls, f.ticketCalls, f.forcedCalls
}

func (f *fakeSource) wantCalls(t *testing.T, tokens, tickets, forced int) {
	t.Helper()
	gotTok, gotTick, gotForced := f.calls()
	if gotTok != tokens || gotTick != tickets || gotForced != forced {
		t.Fatalf("calls: %d token, %d ticket, %d forced; want %d, %d, %d", gotTok, gotTick, gotForced, tokens, tickets, forced)
	}
}

// apiErr is what the wechat client returns for an errcode.
func apiErr(endpoint string, code int) error {
	return &wechat.APIError{Endpoint: endpoint, Code: code, Msg: "fake reason"}
}

type harness struct {
	store *Store
	src   *fakeSource
	clock *fakeClock
	logs  *observer.ObservedLogs
}

// newHarness builds a store on a fake source and clock, logging everything
// to an observer, with jitter off so that backoff windows are exact.
func newHarness(t *testing.T, src *fakeSource) *harness {
	t.Helper()
	if src == nil {
		src = &fakeSource{}
	}
	core, logs := observer.New(zapcore.DebugLevel)
	clock := newClock()
	s, err := New(Config{Source: src, Now: clock.Now, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	s.jitter = func(d time.Duration) time.Duration { return d }
	t.Cleanup(s.Close)
	return &harness{store: s, src: src, clock: clock, logs: logs}
}

// ticket calls Ticket with a background context.
func (h *harness) ticket(t *testing.T) (string, error) {
	t.Helper()
	return h.store.Ticket(context.Background())
}

// mustTicket calls Ticket and fails the test on error.
func (h *harness) mustTicket(t *testing.T, want string) {
	t.Helper()
	got, err := h.store.Ticket(context.Background())
	if err != nil {
		t.Fatalf("Ticket: %v", err)
	}
	if want != "" && got != want {
		t.Fatalf("Ticket = %q, want %q", got, want)
	}
}

// idle waits until no background work is left. Only call it when no Ticket
// call is running.
func (h *harness) idle() { h.store.wg.Wait() }
