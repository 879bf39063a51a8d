package credential

import (
	"sync/atomic"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// Stats is a snapshot of a store's counters, for metrics and the admin API.
// Counts only grow.
type Stats struct {
	// TokenFetches counts access_token calls made upstream, failed or not.
	TokenFetches uint64
	// TicketFetches counts jsapi_ticket calls made upstream, failed or not.
	TicketFetches uint64
	// Failures counts failed upstream calls by class. Every class but
	// ClassOK has a key, so metric labels are stable from the start.
	Failures map[wechat.Class]uint64
	// ServedStale counts tickets served past their safety margin (but
	// before WeChat's expiry) because no fresh one could be had.
	ServedStale uint64
	// TicketExpiresAt is when the cached ticket expires by WeChat's
	// expires_in, on the store's clock; zero before the first ticket.
	TicketExpiresAt time.Time
	// BackoffUntil is the end of the backoff window of the last failure,
	// kept (possibly in the past) until a fetch succeeds; zero when the
	// last fetch succeeded.
	BackoffUntil time.Time
}

// counters are the atomic counts behind Stats.
type counters struct {
	tokenFetches  atomic.Uint64
	ticketFetches atomic.Uint64
	servedStale   atomic.Uint64
	failures      [8]atomic.Uint64 // indexed by wechat.Class
}

func (c *counters) failure(class wechat.Class) {
	if int(class) < 0 || int(class) >= len(c.failures) {
		class = wechat.ClassUnknown
	}
	c.failures[class].Add(1)
}

// Stats returns the current counts.
func (s *Store) Stats() Stats {
	st := Stats{
		TokenFetches:  s.counts.tokenFetches.Load(),
		TicketFetches: s.counts.ticketFetches.Load(),
		ServedStale:   s.counts.servedStale.Load(),
		Failures:      make(map[wechat.Class]uint64),
	}
	for _, class := range wechat.Classes() {
		if class != wechat.ClassOK {
			st.Failures[class] = s.counts.failures[class].Load()
		}
	}
	s.mu.Lock()
	st.TicketExpiresAt = s.ticketExpiresAt
	if s.fail.active {
		st.BackoffUntil = s.fail.until
	}
	s.mu.Unlock()
	return st
}
