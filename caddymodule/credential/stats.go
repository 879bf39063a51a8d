package credential

import (
	"sync/atomic"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// Stats is a snapshot of a store's counters, for metrics and the admin API.
// Counts only grow. Nothing in it is secret: no credential value, and
// error texts that come from the Source, which keeps secrets out of them.
type Stats struct {
	// TokenFetches counts access_token calls made upstream, failed or not.
	// A store whose token is shared (the two stores of a WeCom) makes
	// none: its token's calls are in WeCom.TokenStats, once.
	TokenFetches uint64
	// TicketFetches counts jsapi_ticket calls made upstream, failed or not.
	TicketFetches uint64
	// TokenCalls counts access_token calls by result: ClassOK for the
	// successes, the failure's class otherwise. Calls cancelled because the
	// store was closing are not in it. Every class has a key.
	TokenCalls map[wechat.Class]uint64
	// TicketCalls is TokenCalls for jsapi_ticket calls.
	TicketCalls map[wechat.Class]uint64
	// Failures counts failed upstream calls by class. Every class but
	// ClassOK has a key, so metric labels are stable from the start.
	Failures map[wechat.Class]uint64
	// ServedStale counts tickets served past their safety margin (but
	// before WeChat's expiry) because no fresh one could be had.
	ServedStale uint64
	// TicketBudget is Config.TicketBudget: the most ticket calls allowed
	// in any hour, 0 for no budget.
	TicketBudget int
	// TicketCallsLastHour counts the ticket calls made upstream in the
	// last hour, on the store's clock, budget or not.
	TicketCallsLastHour int
	// BudgetRefusals counts the ticket calls and RefreshTicket refetches
	// refused because they would have exceeded the budget. None of them
	// reached WeChat.
	BudgetRefusals uint64
	// TicketExpiresAt is when the cached ticket expires by WeChat's
	// expires_in, on the store's clock; zero before the first ticket.
	TicketExpiresAt time.Time
	// TokenExpiresAt is TicketExpiresAt for the access token.
	TokenExpiresAt time.Time
	// BackoffUntil is the end of the backoff window of the last failure,
	// kept (possibly in the past) until a fetch succeeds; zero when the
	// last fetch succeeded.
	BackoffUntil time.Time
	// LastError describes the last failed refresh, kept after recovery;
	// empty when none failed. LastErrorAt is when it failed, on the
	// store's clock, and LastErrorClass its class.
	LastError      string
	LastErrorAt    time.Time
	LastErrorClass wechat.Class
	// Shared holds the L2's counters; nil when the store has no L2.
	Shared *SharedStats
}

// SharedStats counts what a store did with its L2.
type SharedStats struct {
	// Hits counts reads that found a usable credential; Misses reads that
	// found none (absent, expired or unreadable). Failed reads are in
	// Errors.
	Hits, Misses uint64
	// LocksAcquired counts the times the refresh lock was taken, and
	// LockTimeouts the waits for it that ran out (Config.LockWait).
	LocksAcquired, LockTimeouts uint64
	// LockWait is the total time spent waiting for the lock.
	LockWait time.Duration
	// Errors counts failed storage operations by OpLoad, OpStore, OpLock
	// and OpUnlock (every one has a key). After each, the store went on
	// with its own cache and fetched by itself.
	Errors map[string]uint64
	// LastError describes the last failed operation, LastErrorAt when.
	LastError   string
	LastErrorAt time.Time
}

// callKind says which upstream call is counted.
type callKind int

const (
	callToken callKind = iota
	callTicket
)

// recordedError is an error kept for display: its text and time.
type recordedError struct {
	msg   string
	at    time.Time
	class wechat.Class
}

// counters are the atomic counts behind Stats.
type counters struct {
	tokenFetches  atomic.Uint64
	ticketFetches atomic.Uint64
	servedStale   atomic.Uint64
	// budgetRefusals counts calls refused by the ticket budget.
	budgetRefusals atomic.Uint64
	failures       [8]atomic.Uint64    // indexed by wechat.Class
	calls          [2][8]atomic.Uint64 // by callKind, then wechat.Class
}

func classIndex(class wechat.Class) int {
	if int(class) < 0 || int(class) >= 8 {
		return int(wechat.ClassUnknown)
	}
	return int(class)
}

func (c *counters) failure(class wechat.Class) { c.failures[classIndex(class)].Add(1) }

func (c *counters) call(kind callKind, class wechat.Class) { c.calls[kind][classIndex(class)].Add(1) }

// Stats returns the current counts.
func (s *Store) Stats() Stats {
	st := Stats{
		TokenFetches:   s.counts.tokenFetches.Load(),
		TicketFetches:  s.counts.ticketFetches.Load(),
		ServedStale:    s.counts.servedStale.Load(),
		TicketBudget:   s.budget,
		BudgetRefusals: s.counts.budgetRefusals.Load(),
		Failures:       make(map[wechat.Class]uint64),
		TokenCalls:     make(map[wechat.Class]uint64),
		TicketCalls:    make(map[wechat.Class]uint64),
	}
	for _, class := range wechat.Classes() {
		if class != wechat.ClassOK {
			st.Failures[class] = s.counts.failures[class].Load()
		}
		st.TokenCalls[class] = s.counts.calls[callToken][class].Load()
		st.TicketCalls[class] = s.counts.calls[callTicket][class].Load()
	}
	s.mu.Lock()
	st.TicketExpiresAt = s.ticketExpiresAt
	st.TokenExpiresAt = s.tokenExpiresAt
	s.budgetWaitLocked(s.now(), 0) // drops the calls that left the window
	st.TicketCallsLastHour = len(s.ticketCallTimes)
	if s.fail.active {
		st.BackoffUntil = s.fail.until
	}
	st.LastError, st.LastErrorAt, st.LastErrorClass = s.lastErr.msg, s.lastErr.at, s.lastErr.class
	s.mu.Unlock()
	if s.token != nil {
		st.TokenExpiresAt = s.token.expiresAt()
	}
	if s.shared != nil {
		st.Shared = s.shared.stats()
	}
	return st
}

// stats returns the L2's counters.
func (l *sharedL2) stats() *SharedStats {
	sh := &SharedStats{
		Hits:          l.hits.Load(),
		Misses:        l.misses.Load(),
		LocksAcquired: l.lockAcquired.Load(),
		LockTimeouts:  l.lockTimed.Load(),
		LockWait:      time.Duration(l.lockWaitNanos.Load()),
		Errors:        make(map[string]uint64, len(sharedOps)),
	}
	for i, op := range sharedOps {
		sh.Errors[op] = l.errs[i].Load()
	}
	l.mu.Lock()
	sh.LastError, sh.LastErrorAt = l.lastErr.msg, l.lastErr.at
	l.mu.Unlock()
	return sh
}
