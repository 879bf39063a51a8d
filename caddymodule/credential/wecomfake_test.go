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

// fakeWeCom is a WeComSource that counts its calls. By default every token
// and ticket is new and lives two hours; a test changes an answer with the
// functions, and holds calls with the gates.
type fakeWeCom struct {
	// token answers the n-th token call (from 1); nil means a new token.
	token func(n int) (wechat.Credential, error)
	// corp and agent answer the n-th ticket call of their kind, made with
	// accessToken; nil means a new ticket.
	corp, agent func(n int, accessToken string) (wechat.Credential, error)

	mu sync.Mutex
	// tokenGate and ticketGate, when set, hold those calls until closed or
	// until the call's context ends.
	tokenGate, ticketGate chan struct{}
	// started, when set, receives "token", "corp" or "agent" as a call
	// starts.
	started      chan string
	tokenCalls   int
	corpCalls    int
	agentCalls   int
	corpTokens   []string // the access token of each corp ticket call
	agentTokens  []string
	issued       []string // every value handed out
	lastTokenCtx context.Context
}

func (f *fakeWeCom) AccessToken(ctx context.Context) (wechat.Credential, error) {
	f.mu.Lock()
	f.tokenCalls++
	n, answer, gate := f.tokenCalls, f.token, f.tokenGate
	f.lastTokenCtx = ctx
	f.mu.Unlock()
	if err := f.hold(ctx, gate, "token"); err != nil {
		return wechat.Credential{}, err
	}
	c, err := wechat.Credential{Value: fmt.Sprintf("TOKEN-%d-a1b2c3", n), ExpiresIn: lifetime}, error(nil)
	if answer != nil {
		c, err = answer(n)
	}
	f.record(c)
	return c, err
}

func (f *fakeWeCom) CorpTicket(ctx context.Context, accessToken string) (wechat.Credential, error) {
	f.mu.Lock()
	f.corpCalls++
	f.corpTokens = append(f.corpTokens, accessToken)
	n, answer, gate := f.corpCalls, f.corp, f.ticketGate
	f.mu.Unlock()
	return f.ticket(ctx, gate, "corp", n, accessToken, answer)
}

func (f *fakeWeCom) AgentTicket(ctx context.Context, accessToken string) (wechat.Credential, error) {
	f.mu.Lock()
	f.agentCalls++
	f.agentTokens = append(f.agentTokens, accessToken)
	n, answer, gate := f.agentCalls, f.agent, f.ticketGate
	f.mu.Unlock()
	return f.ticket(ctx, gate, "agent", n, accessToken, answer)
}

func (f *fakeWeCom) ticket(ctx context.Context, gate chan struct{}, kind string, n int, accessToken string,
	answer func(int, string) (wechat.Credential, error)) (wechat.Credential, error) {
	if err := f.hold(ctx, gate, kind); err != nil {
		return wechat.Credential{}, err
	}
	c, err := wechat.Credential{Value: fmt.Sprintf("%s-TICKET-%d-d4e5f6", kind, n), ExpiresIn: lifetime}, error(nil)
	if answer != nil {
		c, err = answer(n, accessToken)
	}
	f.record(c)
	return c, err
}

func (f *fakeWeCom) hold(ctx context.Context, gate chan struct{}, name string) error {
	f.mu.Lock()
	started := f.started
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
		return &wechat.RequestError{Endpoint: "/fake", Err: ctx.Err()}
	}
}

func (f *fakeWeCom) record(c wechat.Credential) {
	if c.Value == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issued = append(f.issued, c.Value)
}

func (f *fakeWeCom) setGates(tokenGate, ticketGate chan struct{}, started chan string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenGate, f.ticketGate, f.started = tokenGate, ticketGate, started
}

// calls returns the token, corp ticket and agent ticket calls so far.
func (f *fakeWeCom) calls() (tokens, corp, agent int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCalls, f.corpCalls, f.agentCalls
}

func (f *fakeWeCom) values() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issued...)
}

// wantWeComCalls checks the calls the sources made between them.
func wantWeComCalls(t *testing.T, tokens, corp, agent int, srcs ...*fakeWeCom) {
	t.Helper()
	var gotTok, gotCorp, gotAgent int
	for _, f := range srcs {
		a, b, c := f.calls()
		gotTok, gotCorp, gotAgent = gotTok+a, gotCorp+b, gotAgent+c
	}
	if gotTok != tokens || gotCorp != corp || gotAgent != agent {
		t.Fatalf("calls: %d token, %d corp ticket, %d agent ticket; want %d, %d, %d",
			gotTok, gotCorp, gotAgent, tokens, corp, agent)
	}
}

// weComHarness is one instance of a WeCom app on a fake source and clock.
type weComHarness struct {
	w     *WeCom
	src   *fakeWeCom
	clock *fakeClock
	logs  *observer.ObservedLogs
}

const (
	weComAppPrefix  = "wechat_jssdk/ww0123456789abcdef/1000002/ns"
	weComCorpPrefix = "wechat_jssdk/ww0123456789abcdef/corp"
)

// newWeComHarness builds a WeCom on src, logging everything to an
// observer, with jitter off. cfg's Source, Now and Logger are filled in; a
// nil clock means a new one.
func newWeComHarness(t *testing.T, clock *fakeClock, src *fakeWeCom, cfg WeComConfig) *weComHarness {
	t.Helper()
	if src == nil {
		src = &fakeWeCom{}
	}
	if clock == nil {
		clock = newClock()
	}
	core, logs := observer.New(zapcore.DebugLevel)
	cfg.Source, cfg.Now, cfg.Logger = src, clock.Now, zap.New(core)
	w, err := NewWeCom(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Store{w.Corp, w.Agent} {
		s.jitter = func(d time.Duration) time.Duration { return d }
	}
	t.Cleanup(w.Close)
	return &weComHarness{w: w, src: src, clock: clock, logs: logs}
}

// tickets asks for both tickets, as a page signing wx.config and
// wx.agentConfig does.
func (h *weComHarness) tickets(ctx context.Context) (corp, agent string, err error) {
	if corp, err = h.w.Corp.Ticket(ctx); err != nil {
		return "", "", err
	}
	if agent, err = h.w.Agent.Ticket(ctx); err != nil {
		return "", "", err
	}
	return corp, agent, nil
}

// idle waits until neither store has background work left.
func (h *weComHarness) idle() {
	h.w.Corp.wg.Wait()
	h.w.Agent.wg.Wait()
}
