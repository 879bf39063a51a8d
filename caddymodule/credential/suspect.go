package credential

import (
	"context"
	"time"
)

// A page that reports an invalid signature gets its ticket refetched once
// per ticket: a ticket already suspected once (WeChat handed back the same
// one, so it thinks it valid) is not refetched again for suspectInterval,
// whatever the number of browsers reporting. Rotations can come more often
// than that (another service refreshing), and each brings a ticket not yet
// suspected, which is refetched once suspectFloor has passed.
const (
	suspectInterval = 30 * time.Second
	suspectFloor    = 5 * time.Second
)

// flightSuspect names the singleflight call of RefreshTicket.
const flightSuspect = "ticket refetch"

// RefreshTicket treats the cached ticket as suspect — a page reported that
// WeChat rejected a signature made with it, as happens when another service
// of the same account rotated the credentials without telling us — and
// fetches a new one through the usual path: one flight, the shared lock
// (taking another instance's newer ticket instead of fetching again), and
// the invalid-token cure, which refetches the token only if the ticket
// call rejects it. Unlike Refresh it never forces a token, so it spends none
// of stable_token's 20 forced refreshes a day. It is refused with a
// *RefreshLimitedError within suspectFloor of the last refetch, and within
// suspectInterval of it for a ticket already suspected once; callers then
// sign with what the store holds, which is by then the refetched ticket.
func (s *Store) RefreshTicket(ctx context.Context) error {
	return s.limitedFlight(ctx, flightSuspect, s.reserveSuspect, func() error {
		s.log.Info("a page reported an invalid signature; fetching a new jsapi_ticket")
		s.cache.Del(keyTicket)
		_, err := s.fetchTicket()
		return err
	})
}

// reserveSuspect takes the slot for one refetch, or says how long until
// the next one is allowed.
func (s *Store) reserveSuspect(now time.Time) time.Duration {
	current, _ := s.cached(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lastSuspect.IsZero() {
		since := now.Sub(s.lastSuspect)
		fresh := current != "" && current != s.suspected
		if wait := suspectFloor - since; wait > 0 {
			return wait
		}
		if wait := suspectInterval - since; wait > 0 && !fresh {
			return wait
		}
	}
	s.lastSuspect, s.suspected = now, current
	return 0
}
