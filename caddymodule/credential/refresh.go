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

// flightRefresh names the singleflight call of a forced refresh (and
// appears in the error of a caller that stops waiting for it).
const flightRefresh = "forced refresh"

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
	return s.limitedFlight(ctx, flightRefresh, s.reserveForce, func() error {
		if s.budget > 0 {
			if wait := s.budgetWait(s.now()); wait > 0 {
				return s.refusedByBudget(s.budget, wait)
			}
		}
		if s.token != nil {
			// A shared token is fetched again (WeCom's gettoken has no
			// force: it hands back the token while it is valid).
			if _, err := s.token.get(s.ctx, "", true); err != nil {
				return err
			}
		} else {
			s.cache.Del(keyToken)
			if _, err := s.fetchToken(true); err != nil {
				return err
			}
		}
		_, err := s.fetchTicket()
		return err
	})
}

// limitedFlight runs work as the one flight named name, when reserve grants
// a slot for it now; otherwise it is refused with a *RefreshLimitedError.
// The flight holds fetchMu and the shared lock, and when another instance
// refreshed after the caller asked it takes that credential instead of
// running work. The caller waits until the flight ends or ctx is done; the
// flight goes on regardless.
func (s *Store) limitedFlight(ctx context.Context, name string, reserve func(time.Time) time.Duration, work func() error) error {
	if s.closed.Load() {
		return errClosed
	}
	asked := s.now()
	if wait := reserve(asked); wait > 0 {
		return &RefreshLimitedError{RetryAfter: wait}
	}
	ch := s.group.DoChan(name, func() (any, error) { return nil, s.refreshFlight(asked, work) })
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return fmt.Errorf("%w: gave up waiting for the %s: %w", ErrUnavailable, name, ctx.Err())
	}
}

// refreshFlight is the upstream side of limitedFlight, asked for at the
// instant asked.
func (s *Store) refreshFlight(asked time.Time, work func() error) error {
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
		// Another instance refreshed after the caller asked: take it.
		if e, ok := s.loadShared(keyTicket, s.now()); ok && !e.obtainedAt.Before(asked) {
			s.keep(keyTicket, e)
			s.recovered()
			return nil
		}
	}
	if err := work(); err != nil {
		return s.failed(err)
	}
	s.recovered()
	return nil
}
