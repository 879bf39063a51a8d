package credential

import (
	"context"
	"time"
)

// suspectInterval spaces the ticket refetches pages may ask for: whatever
// the number of browsers reporting an invalid signature, one app costs at
// most one ticket call (plus a token call if that one says so) per 30 s.
const suspectInterval = 30 * time.Second

// flightSuspect names the singleflight call of RefreshTicket.
const flightSuspect = "ticket refetch"

// RefreshTicket treats the cached ticket as suspect — a page reported that
// WeChat rejected a signature made with it, as happens when another service
// of the same account rotated the credentials without telling us — and
// fetches a new one through the usual path: one flight, the shared lock
// (taking another instance's newer ticket instead of fetching again), and
// the invalid-token cure, which refetches the token only if the ticket
// call rejects it. Unlike Refresh it never forces a token, so it spends none
// of stable_token's 20 forced refreshes a day. Within suspectInterval of the
// last such refetch it is refused with a *RefreshLimitedError; callers then
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lastSuspect.IsZero() {
		if wait := suspectInterval - now.Sub(s.lastSuspect); wait > 0 {
			return wait
		}
	}
	s.lastSuspect = now
	return 0
}
