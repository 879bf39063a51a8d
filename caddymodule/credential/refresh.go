package credential

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrRefreshLimited is matched (errors.Is) by the *RefreshLimitedError
// Refresh returns when a forced refresh comes too soon.
var ErrRefreshLimited = errors.New("credential: forced refresh rate-limited")

// RefreshLimitedError is a forced refresh refused by the limits WeChat puts
// on stable_token's force_refresh (30 s apart, 20 a day).
type RefreshLimitedError struct {
	// RetryAfter is how long until the next forced refresh is allowed.
	RetryAfter time.Duration
}

// Error says when to try again.
func (e *RefreshLimitedError) Error() string {
	return fmt.Sprintf("%v: the next one is allowed in %s", ErrRefreshLimited, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrRefreshLimited) hold.
func (e *RefreshLimitedError) Is(target error) bool { return target == ErrRefreshLimited }

// flightRefresh names the singleflight call of a forced refresh.
const flightRefresh = "refresh"

// Refresh fetches a new token and ticket now, whatever is cached: the
// operator's cure for a token another service invalidated. It takes the
// same path as any refresh (the shared lock, the L2, the invalid-token
// cure), ignores a backoff window in progress, and asks stable_token for a
// forced token when the Source can force one. It shares WeChat's limits on
// forcing with the store's own cure, and is refused with a
// *RefreshLimitedError when they would be exceeded, whatever the Source.
// When the store has an L2 and another instance refreshed since Refresh was
// called, that credential is taken instead of fetching again. It returns
// when the refresh ends or ctx is done; the refresh goes on regardless.
// Unlike Ticket, it may race with Close (the admin API calls it on stores
// a reload may be closing): it then fails with ErrClosed.
func (s *Store) Refresh(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	asked := s.now()
	if wait := s.reserveForce(asked); wait > 0 {
		return &RefreshLimitedError{RetryAfter: wait}
	}
	ch := s.group.DoChan(flightRefresh, func() (any, error) { return nil, s.refreshFlight(asked) })
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return fmt.Errorf("%w: gave up waiting for the forced refresh: %w", ErrUnavailable, ctx.Err())
	}
}

// refreshFlight is Refresh's upstream work, asked for at the instant asked.
func (s *Store) refreshFlight(asked time.Time) error {
	if !s.enter() {
		return errClosed
	}
	defer s.wg.Done()
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()

	if s.shared != nil {
		unlock, err := s.lockShared()
		if err != nil {
			return joinUnavailable(err)
		}
		defer unlock()
		// Another instance refreshed after the operator asked: take it.
		if e, ok := s.loadShared(keyTicket, s.now()); ok && !e.obtainedAt.Before(asked) {
			s.keep(keyTicket, e)
			s.recovered()
			return nil
		}
	}
	s.cache.Del(keyToken)
	if _, err := s.fetchToken(true); err != nil {
		return s.failed(err)
	}
	if _, err := s.fetchTicket(); err != nil {
		return s.failed(err)
	}
	s.recovered()
	return nil
}
