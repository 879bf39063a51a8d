package credential

import (
	"context"
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

func TestNewWeComValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  WeComConfig
	}{
		{"no source", WeComConfig{}},
		{"shared without prefix", WeComConfig{Source: &fakeWeCom{}, Shared: newFakeShared()}},
		{"negative corp budget", WeComConfig{Source: &fakeWeCom{}, CorpTicketBudget: -1}},
		{"negative agent budget", WeComConfig{Source: &fakeWeCom{}, AgentTicketBudget: -1}},
		{"negative timeout", WeComConfig{Source: &fakeWeCom{}, FetchTimeout: -time.Second}},
		{"negative lock wait", WeComConfig{Source: &fakeWeCom{}, LockWait: -time.Second}},
	}
	for _, tt := range tests {
		if w, err := NewWeCom(tt.cfg); err == nil {
			w.Close()
			t.Errorf("%s: NewWeCom succeeded", tt.name)
		}
	}
	w, err := NewWeCom(WeComConfig{Source: &fakeWeCom{}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got := w.Corp.Stats().TicketBudget; got != DefaultCorpTicketBudget {
		t.Errorf("corp budget %d, want the default %d", got, DefaultCorpTicketBudget)
	}
	if got := w.Agent.Stats().TicketBudget; got != DefaultAgentTicketBudget {
		t.Errorf("agent budget %d, want the default %d", got, DefaultAgentTicketBudget)
	}
}

// burst starts n callers that each ask for both tickets (half of them the
// agent ticket first), and returns a function that waits for them and
// checks that every one got want.
func burst(t *testing.T, h *weComHarness, n int) (wait func(wantCorp, wantAgent string)) {
	t.Helper()
	var started, done sync.WaitGroup
	type result struct {
		corp, agent string
		err         error
	}
	results := make([]result, n)
	started.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			started.Done()
			ctx := context.Background()
			r := &results[i]
			if i%2 == 0 {
				r.corp, r.agent, r.err = h.tickets(ctx)
				return
			}
			if r.agent, r.err = h.w.Agent.Ticket(ctx); r.err == nil {
				r.corp, r.err = h.w.Corp.Ticket(ctx)
			}
		}()
	}
	started.Wait()
	return func(wantCorp, wantAgent string) {
		t.Helper()
		done.Wait()
		for i, r := range results {
			if r.err != nil || r.corp != wantCorp || r.agent != wantAgent {
				t.Fatalf("caller %d: corp %q, agent %q, %v; want %q and %q", i, r.corp, r.agent, r.err, wantCorp, wantAgent)
			}
		}
	}
}

// TestWeComColdBurstOneCallEach: 1,000 cold requests for both tickets make
// one token call, one corp ticket call and one agent ticket call: one token
// serves both tickets.
func TestWeComColdBurstOneCallEach(t *testing.T) {
	h := newWeComHarness(t, nil, nil, WeComConfig{})
	gate, started := make(chan struct{}), make(chan string, 8)
	h.src.setGates(gate, nil, started)

	wait := burst(t, h, 1000)
	if got := <-started; got != "token" {
		t.Fatalf("first call %q, want the token", got)
	}
	close(gate)
	wait("corp-TICKET-1-d4e5f6", "agent-TICKET-1-d4e5f6")
	wantWeComCalls(t, 1, 1, 1, h.src)

	h.src.mu.Lock()
	corpTokens, agentTokens := slices.Clone(h.src.corpTokens), slices.Clone(h.src.agentTokens)
	h.src.mu.Unlock()
	if want := []string{"TOKEN-1-a1b2c3"}; !slices.Equal(corpTokens, want) || !slices.Equal(agentTokens, want) {
		t.Errorf("ticket calls made with %v and %v, want the one token", corpTokens, agentTokens)
	}
	ts := h.w.TokenStats()
	if ts.Fetches != 1 || ts.Calls[wechat.ClassOK] != 1 || !ts.ExpiresAt.Equal(h.clock.Now().Add(lifetime)) || ts.Shared != nil {
		t.Errorf("TokenStats = %+v, want one successful fetch and no L2", ts)
	}
	for name, s := range map[string]*Store{"corp": h.w.Corp, "agent": h.w.Agent} {
		st := s.Stats()
		if st.TokenFetches != 0 || st.TicketFetches != 1 || st.TicketCallsLastHour != 1 || st.TokenExpiresAt != ts.ExpiresAt {
			t.Errorf("%s Stats: %d token fetches, %d ticket fetches, %d in the last hour, token expiry %v; want 0, 1, 1, %v",
				name, st.TokenFetches, st.TicketFetches, st.TicketCallsLastHour, st.TokenExpiresAt, ts.ExpiresAt)
		}
	}
}

// TestWeComTwoInstancesOneCallEach: two instances of the app (two WeComs,
// their own sources and caches) on one L2, cold, with many callers each,
// still make one call of each kind between them.
func TestWeComTwoInstancesOneCallEach(t *testing.T) {
	clock, sh := newClock(), newFakeShared()
	cfg := WeComConfig{Shared: sh, SharedPrefix: weComAppPrefix, CorpSharedPrefix: weComCorpPrefix}
	a := newWeComHarness(t, clock, nil, cfg)
	b := newWeComHarness(t, clock, nil, cfg)
	gate, started := make(chan struct{}), make(chan string, 8)
	a.src.setGates(gate, nil, started)
	b.src.setGates(gate, nil, started)
	waiting := make(chan string, 4096) // Lock must never block on it
	sh.setWaiting(waiting)

	waitA := burst(t, a, 500)
	waitB := burst(t, b, 500)
	<-started // one instance fetches the token…
	<-waiting // …and a flight of the other, or of the same, waits for a lock
	close(gate)
	waitA("corp-TICKET-1-d4e5f6", "agent-TICKET-1-d4e5f6")
	waitB("corp-TICKET-1-d4e5f6", "agent-TICKET-1-d4e5f6")
	wantWeComCalls(t, 1, 1, 1, a.src, b.src)

	got := sh.snapshot()
	for _, key := range []string{
		weComAppPrefix + "/wecom_token", weComAppPrefix + "/wecom_agent_ticket", weComCorpPrefix + "/wecom_corp_ticket",
	} {
		if _, ok := got[key]; !ok {
			t.Errorf("L2 has no %s; it has %v", key, slices.Sorted(mapsKeys(got)))
		}
	}
	if len(got) != 3 {
		t.Errorf("L2 holds %v, want the token and the two tickets", slices.Sorted(mapsKeys(got)))
	}
	for _, name := range []string{
		weComAppPrefix + "/wecom_token_refresh", weComAppPrefix + "/wecom_agent_ticket_refresh", weComCorpPrefix + "/wecom_corp_ticket_refresh",
	} {
		if sh.isLocked(name) {
			t.Errorf("lock %s still held", name)
		}
	}
}

func mapsKeys(m map[string][]byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestWeComRestartReadsL2: an instance started later takes the token and
// both tickets from the L2 without calling WeChat.
func TestWeComRestartReadsL2(t *testing.T) {
	clock, sh := newClock(), newFakeShared()
	cfg := WeComConfig{Shared: sh, SharedPrefix: weComAppPrefix}
	a := newWeComHarness(t, clock, nil, cfg)
	if _, _, err := a.tickets(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Minute)
	b := newWeComHarness(t, clock, nil, cfg)
	corp, agent, err := b.tickets(context.Background())
	if err != nil || corp != "corp-TICKET-1-d4e5f6" || agent != "agent-TICKET-1-d4e5f6" {
		t.Fatalf("tickets %q, %q, %v; want the first instance's", corp, agent, err)
	}
	wantWeComCalls(t, 0, 0, 0, b.src)
	// The token is read only when a ticket must be fetched with it.
	tok, err := b.w.AccessToken(context.Background(), "")
	if err != nil || tok != "TOKEN-1-a1b2c3" {
		t.Fatalf("AccessToken = %q, %v; want the first instance's token", tok, err)
	}
	wantWeComCalls(t, 0, 0, 0, b.src)
}

// TestWeComCorpTicketSharedAcrossApps: two apps of one corp, with their own
// tokens, share the corp ticket through a corp-wide prefix; each fetches
// its own agent ticket.
func TestWeComCorpTicketSharedAcrossApps(t *testing.T) {
	clock, sh := newClock(), newFakeShared()
	one := newWeComHarness(t, clock, nil, WeComConfig{Shared: sh, SharedPrefix: weComAppPrefix, CorpSharedPrefix: weComCorpPrefix})
	two := newWeComHarness(t, clock, nil, WeComConfig{Shared: sh, SharedPrefix: weComAppPrefix + "-other-app", CorpSharedPrefix: weComCorpPrefix})
	if _, _, err := one.tickets(context.Background()); err != nil {
		t.Fatal(err)
	}
	corp, agent, err := two.tickets(context.Background())
	if err != nil || corp != "corp-TICKET-1-d4e5f6" || agent != "agent-TICKET-1-d4e5f6" {
		t.Fatalf("second app: %q, %q, %v", corp, agent, err)
	}
	wantWeComCalls(t, 1, 1, 1, one.src)
	wantWeComCalls(t, 1, 0, 1, two.src) // its own token and agent ticket; the corp's ticket
}

// rejectFirstToken makes a ticket kind answer errcode to the first token.
func rejectFirstToken(code int, endpoint string) func(int, string) (wechat.Credential, error) {
	return func(n int, tok string) (wechat.Credential, error) {
		if tok == "TOKEN-1-a1b2c3" {
			return wechat.Credential{}, apiErr(endpoint, code)
		}
		return wechat.Credential{Value: "TICKET-with-" + tok, ExpiresIn: lifetime}, nil
	}
}

// TestWeComInvalidTokenOneRefetch: a ticket call that answers the token is
// invalid costs one token refetch, whichever ticket says so, and also when
// both say so at once.
func TestWeComInvalidTokenOneRefetch(t *testing.T) {
	tests := []struct {
		name                  string
		corp, agent           func(int, string) (wechat.Credential, error)
		wantCorp, wantAgent   string
		corpCalls, agentCalls int
	}{
		{
			name: "40014 on the corp ticket",
			corp: rejectFirstToken(40014, wechat.PathWeComCorpTicket),
			// The agent ticket was fetched with the first token, which it took.
			wantCorp: "TICKET-with-TOKEN-2-a1b2c3", wantAgent: "agent-TICKET-1-d4e5f6",
			corpCalls: 2, agentCalls: 1,
		},
		{
			name:     "40014 on the agent ticket",
			agent:    rejectFirstToken(40014, wechat.PathWeComAgentTicket),
			wantCorp: "corp-TICKET-1-d4e5f6", wantAgent: "TICKET-with-TOKEN-2-a1b2c3",
			corpCalls: 1, agentCalls: 2,
		},
		{
			name:     "42001 on the agent ticket",
			agent:    rejectFirstToken(42001, wechat.PathWeComAgentTicket),
			wantCorp: "corp-TICKET-1-d4e5f6", wantAgent: "TICKET-with-TOKEN-2-a1b2c3",
			corpCalls: 1, agentCalls: 2,
		},
		{
			name:     "40001 on both tickets at once",
			corp:     rejectFirstToken(40001, wechat.PathWeComCorpTicket),
			agent:    rejectFirstToken(40001, wechat.PathWeComAgentTicket),
			wantCorp: "TICKET-with-TOKEN-2-a1b2c3", wantAgent: "TICKET-with-TOKEN-2-a1b2c3",
			corpCalls: 2, agentCalls: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newWeComHarness(t, nil, &fakeWeCom{corp: tt.corp, agent: tt.agent}, WeComConfig{})
			// Both first ticket calls are held until both are in flight,
			// so that both are made with the first token.
			gate, started := make(chan struct{}), make(chan string, 16)
			h.src.setGates(nil, gate, started)
			wait := burst(t, h, 100)
			kinds := map[string]bool{}
			for len(kinds) < 2 {
				if k := <-started; k != "token" {
					kinds[k] = true
				}
			}
			h.src.setGates(nil, nil, nil)
			close(gate)
			wait(tt.wantCorp, tt.wantAgent)
			wantWeComCalls(t, 2, tt.corpCalls, tt.agentCalls, h.src)
			if st := h.w.TokenStats(); st.Fetches != 2 {
				t.Errorf("TokenStats.Fetches = %d, want 2", st.Fetches)
			}
			// Nothing more later: the new token serves both.
			h.clock.Advance(time.Hour)
			if _, _, err := h.tickets(context.Background()); err != nil {
				t.Fatal(err)
			}
			h.idle()
			wantWeComCalls(t, 2, tt.corpCalls, tt.agentCalls, h.src)
			assertNoWeComSecretsLogged(t, h)
		})
	}
}

// assertNoWeComSecretsLogged looks for every value the source handed out in
// every log line, at every level.
func assertNoWeComSecretsLogged(t *testing.T, h *weComHarness) {
	t.Helper()
	for _, e := range h.logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += " " + k + "=" + fmt.Sprint(v)
		}
		for _, secret := range h.src.values() {
			if strings.Contains(line, secret) {
				t.Errorf("log line %q holds %q", line, secret)
			}
		}
	}
}

// TestWeComRejectedTwiceBacksOff: a token WeCom hands back and rejects
// again is not forced (gettoken has no force): the store backs off, and
// the next attempt starts from a new token.
func TestWeComRejectedTwiceBacksOff(t *testing.T) {
	src := &fakeWeCom{
		token: func(n int) (wechat.Credential, error) {
			if n <= 2 {
				return wechat.Credential{Value: "TOKEN-SAME", ExpiresIn: lifetime}, nil
			}
			return wechat.Credential{Value: "TOKEN-NEW", ExpiresIn: lifetime}, nil
		},
		corp: func(n int, tok string) (wechat.Credential, error) {
			if tok == "TOKEN-SAME" {
				return wechat.Credential{}, apiErr(wechat.PathWeComCorpTicket, 40014)
			}
			return wechat.Credential{Value: "CORP-OK", ExpiresIn: lifetime}, nil
		},
	}
	h := newWeComHarness(t, nil, src, WeComConfig{})
	if _, err := h.w.Corp.Ticket(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	wantWeComCalls(t, 2, 2, 0, src)
	h.clock.Advance(2 * time.Second) // past the first backoff step
	if got, err := h.w.Corp.Ticket(context.Background()); err != nil || got != "CORP-OK" {
		t.Fatalf("Ticket = %q, %v", got, err)
	}
	wantWeComCalls(t, 3, 3, 0, src)
}

// TestWeComTokenFailureOneCall: a token WeCom refuses (40001 at gettoken:
// a wrong secret) is one call for both tickets, classified as a
// configuration error, and not retried before its backoff.
func TestWeComTokenFailureOneCall(t *testing.T) {
	src := &fakeWeCom{token: func(int) (wechat.Credential, error) {
		return wechat.Credential{}, apiErr(wechat.PathWeComToken, 40001)
	}}
	h := newWeComHarness(t, nil, src, WeComConfig{})
	gate, started := make(chan struct{}), make(chan string, 8)
	src.setGates(gate, nil, started)
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_, errs[i] = h.w.Corp.Ticket(context.Background())
			} else {
				_, errs[i] = h.w.Agent.Ticket(context.Background())
			}
		}()
	}
	<-started
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrUnavailable) || wechat.Classify(err) != wechat.ClassConfig {
			t.Fatalf("caller %d: %v, want ErrUnavailable with a config error", i, err)
		}
	}
	// Both stores may have flown (one after the other's failure): the
	// holder answered the second from memory.
	h.clock.Advance(time.Minute)
	for _, s := range []*Store{h.w.Corp, h.w.Agent} {
		_, _ = s.Ticket(context.Background())
	}
	wantWeComCalls(t, 1, 0, 0, src)
	ts := h.w.TokenStats()
	if ts.Fetches != 1 || ts.Failures[wechat.ClassConfig] != 1 || ts.Calls[wechat.ClassConfig] != 1 {
		t.Errorf("TokenStats = %+v, want one config failure", ts)
	}
	for _, s := range []*Store{h.w.Corp, h.w.Agent} {
		if st := s.Stats(); st.LastErrorClass != wechat.ClassConfig || st.BackoffUntil.IsZero() {
			t.Errorf("store Stats: class %v, backoff until %v; want config, backing off", st.LastErrorClass, st.BackoffUntil)
		}
	}
	// After the configuration backoff, one more call.
	h.clock.Advance(configDelay)
	_, _ = h.w.Corp.Ticket(context.Background())
	_, _ = h.w.Agent.Ticket(context.Background())
	wantWeComCalls(t, 2, 0, 0, src)
}

// TestWeComAccessToken: the token for getuserinfo is the tickets' token;
// a rejection reported by many callers costs one fetch.
func TestWeComAccessToken(t *testing.T) {
	h := newWeComHarness(t, nil, nil, WeComConfig{})
	if _, _, err := h.tickets(context.Background()); err != nil {
		t.Fatal(err)
	}
	tok, err := h.w.AccessToken(context.Background(), "")
	if err != nil || tok != "TOKEN-1-a1b2c3" {
		t.Fatalf("AccessToken = %q, %v", tok, err)
	}
	var wg sync.WaitGroup
	got := make([]string, 50)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = h.w.AccessToken(context.Background(), tok)
		}()
	}
	wg.Wait()
	for i, v := range got {
		if v != "TOKEN-2-a1b2c3" {
			t.Fatalf("caller %d got %q, want the one new token", i, v)
		}
	}
	wantWeComCalls(t, 2, 1, 1, h.src)
	// A stale report (the token was replaced since) costs nothing.
	if v, err := h.w.AccessToken(context.Background(), tok); err != nil || v != "TOKEN-2-a1b2c3" {
		t.Fatalf("AccessToken = %q, %v", v, err)
	}
	wantWeComCalls(t, 2, 1, 1, h.src)
}

// TestWeComBudgetServesCachedTicket: a refresh over the budget makes no
// call, is counted and logged once, and pages keep the cached ticket, then
// the stale one while WeCom accepts it; the next call comes when the
// budget has room.
func TestWeComBudgetServesCachedTicket(t *testing.T) {
	src := &fakeWeCom{agent: func(n int, _ string) (wechat.Credential, error) {
		return wechat.Credential{Value: "AGENT-" + string(rune('0'+n)), ExpiresIn: 10 * time.Minute}, nil
	}}
	h := newWeComHarness(t, nil, src, WeComConfig{AgentTicketBudget: 2})
	agent := h.w.Agent
	mustAgent := func(want string) {
		t.Helper()
		got, err := agent.Ticket(context.Background())
		if err != nil || got != want {
			t.Fatalf("Ticket = %q, %v; want %q", got, err, want)
		}
		h.idle()
	}
	// 10 min tickets: usable for 9 min, refreshed ahead after 6 min 45 s.
	mustAgent("AGENT-1")
	h.clock.Advance(7 * time.Minute)
	mustAgent("AGENT-1") // starts the refresh: the second call
	mustAgent("AGENT-2")
	h.clock.Advance(7 * time.Minute) // the second is due: a third call would exceed 2 an hour
	mustAgent("AGENT-2")
	mustAgent("AGENT-2")
	wantWeComCalls(t, 1, 0, 2, src)
	st := agent.Stats()
	if st.BudgetRefusals != 1 || st.TicketCallsLastHour != 2 || st.TicketFetches != 2 || st.LastErrorClass != wechat.ClassQuota {
		t.Errorf("Stats: %d refusals, %d calls in the hour, %d fetches, class %v; want 1, 2, 2, quota",
			st.BudgetRefusals, st.TicketCallsLastHour, st.TicketFetches, st.LastErrorClass)
	}
	if want := h.clock.Now().Add(46 * time.Minute); !st.BackoffUntil.Equal(want) {
		t.Errorf("backing off until %v, want %v (when the first call leaves the hour)", st.BackoffUntil, want)
	}
	// Past its margin, before WeCom's expiry: served stale, no call.
	h.clock.Advance(2*time.Minute + 30*time.Second)
	mustAgent("AGENT-2")
	if st := agent.Stats(); st.ServedStale != 1 {
		t.Errorf("ServedStale = %d, want 1", st.ServedStale)
	}
	// Expired: nothing to serve, still no call.
	h.clock.Advance(time.Minute)
	if _, err := agent.Ticket(context.Background()); !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("err = %v, want ErrUnavailable and ErrBudgetExhausted", err)
	}
	wantWeComCalls(t, 1, 0, 2, src)
	if n := h.logs.FilterMessageSnippet("budget is used up").FilterLevelExact(zapcore.WarnLevel).Len(); n != 1 {
		t.Errorf("%d budget warnings, want 1", n)
	}
	if n := h.logs.FilterLevelExact(zapcore.ErrorLevel).Len(); n != 0 {
		t.Errorf("%d error lines, want none: a budget refusal is a warning", n)
	}
	// An hour after the first call, there is room again.
	h.clock.Advance(time.Hour - 17*time.Minute - 30*time.Second)
	mustAgent("AGENT-3")
	wantWeComCalls(t, 1, 0, 3, src)
	if n := h.logs.FilterMessageSnippet("available again").Len(); n != 1 {
		t.Errorf("%d recovery lines, want 1", n)
	}
	// The corp ticket has its own budget, untouched.
	if st := h.w.Corp.Stats(); st.BudgetRefusals != 0 || st.TicketBudget != DefaultCorpTicketBudget {
		t.Errorf("corp Stats: %d refusals, budget %d", st.BudgetRefusals, st.TicketBudget)
	}
}

// TestWeComBudgetCountsCures: the ticket call an invalid-token cure makes
// counts against the budget, and one the budget refuses is not made.
func TestWeComBudgetCountsCures(t *testing.T) {
	src := &fakeWeCom{corp: rejectFirstToken(40014, wechat.PathWeComCorpTicket)}
	h := newWeComHarness(t, nil, src, WeComConfig{CorpTicketBudget: 1})
	_, err := h.w.Corp.Ticket(context.Background())
	if !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("err = %v, want the cure's second call refused by the budget", err)
	}
	wantWeComCalls(t, 2, 1, 0, src)
	if st := h.w.Corp.Stats(); st.BudgetRefusals != 1 || st.TicketCallsLastHour != 1 {
		t.Errorf("Stats: %d refusals, %d calls; want 1, 1", st.BudgetRefusals, st.TicketCallsLastHour)
	}
}

// TestWeComSuspectRefetchRespectsBudget: RefreshTicket may use half the
// budget; past that it is refused, makes no call, and the ticket stays.
func TestWeComSuspectRefetchRespectsBudget(t *testing.T) {
	h := newWeComHarness(t, nil, nil, WeComConfig{CorpTicketBudget: 4})
	corp := h.w.Corp
	if _, err := corp.Ticket(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := corp.RefreshTicket(context.Background()); err != nil {
		t.Fatalf("first RefreshTicket: %v", err)
	}
	wantWeComCalls(t, 1, 2, 0, h.src)
	h.clock.Advance(suspectInterval + time.Second)
	err := corp.RefreshTicket(context.Background())
	var be *BudgetError
	if !errors.As(err, &be) || !errors.Is(err, ErrBudgetExhausted) || be.Budget != 2 || be.RetryAfter <= 0 {
		t.Fatalf("second RefreshTicket: %v, want a *BudgetError for half of 4", err)
	}
	wantWeComCalls(t, 1, 2, 0, h.src)
	if got, ok := corp.Cached(); !ok || got != "corp-TICKET-2-d4e5f6" {
		t.Errorf("Cached = %q, %v; the refused refetch must leave the ticket", got, ok)
	}
	if st := corp.Stats(); st.BudgetRefusals != 1 {
		t.Errorf("BudgetRefusals = %d, want 1", st.BudgetRefusals)
	}
	// The rest of the budget is the regular refreshes': Refresh still works.
	h.clock.Advance(forceInterval)
	if err := corp.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	wantWeComCalls(t, 2, 3, 0, h.src)
}

// TestWeComRefreshAheadSharesToken: each ticket refreshes ahead on its own
// schedule, with the token held while it lasts.
func TestWeComRefreshAheadSharesToken(t *testing.T) {
	h := newWeComHarness(t, nil, nil, WeComConfig{})
	if _, _, err := h.tickets(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(90 * time.Minute) // both due, the token still good
	if _, _, err := h.tickets(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.idle()
	wantWeComCalls(t, 1, 2, 2, h.src)
	h.clock.Advance(90 * time.Minute) // both due again; the token is past its use
	if _, _, err := h.tickets(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.idle()
	wantWeComCalls(t, 2, 3, 3, h.src)
}

// TestWeComCloseWhileTokenHangs: Close ends a token call in flight and
// returns.
func TestWeComCloseWhileTokenHangs(t *testing.T) {
	src := &fakeWeCom{}
	core := newWeComHarness(t, nil, src, WeComConfig{})
	gate, started := make(chan struct{}), make(chan string, 4)
	defer close(gate)
	src.setGates(gate, nil, started)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := core.w.Agent.Ticket(ctx)
		errc <- err
	}()
	<-started
	if err := <-errc; !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	done := make(chan struct{})
	go func() {
		core.w.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if _, err := core.w.AccessToken(context.Background(), ""); !errors.Is(err, ErrClosed) {
		t.Errorf("AccessToken after Close: %v, want ErrClosed", err)
	}
	if n := core.logs.FilterLevelExact(zapcore.ErrorLevel).Len(); n != 0 {
		t.Errorf("%d error lines, want none on close", n)
	}
}
