package credential

import (
	"context"
	"fmt"
	"time"
)

// Ticket returns a jsapi_ticket to sign a page with. It is the hot path,
// called for every injected page: with a usable ticket cached it costs a
// cache read and no allocation, and past refreshAt it also starts one
// background refresh. Otherwise it waits for the shared fetch until ctx is
// done, or fails at once during a backoff window; in both cases it falls back
// to a ticket WeChat still accepts, if there is one. Errors wrap
// ErrUnavailable and their cause.
func (s *Store) Ticket(ctx context.Context) (string, error) {
	if s.closed.Load() {
		return "", errClosed
	}
	now := s.now()
	if t, ok := s.cached(now); ok {
		return t, nil
	}
	return s.ticketSlow(ctx, now)
}

// Cached returns the ticket when one is usable without waiting for WeChat
// (starting a refresh ahead when one is due), so a caller can skip setting
// up a deadline for the common case.
func (s *Store) Cached() (string, bool) {
	if s.closed.Load() {
		return "", false
	}
	return s.cached(s.now())
}

func (s *Store) cached(now time.Time) (string, bool) {
	if e, ok := s.cache.Get(keyTicket); ok && now.Before(e.usableUntil) {
		if !now.Before(e.refreshAt) {
			s.refreshAhead(now)
		}
		return e.value, true
	}
	return "", false
}

// refreshAhead starts a background refresh unless one is running or the
// store is backing off.
func (s *Store) refreshAhead(now time.Time) {
	if s.inBackoff(now) || !s.refreshing.CompareAndSwap(false, true) {
		return
	}
	if !s.enter() {
		s.refreshing.Store(false)
		return
	}
	go func() {
		defer s.wg.Done()
		defer s.refreshing.Store(false)
		// The result lands in the cache; failures are logged and counted
		// by the flight.
		_, _, _ = s.group.Do(flightTicket, s.flight)
	}()
}

// ticketSlow runs when no usable ticket is cached.
func (s *Store) ticketSlow(ctx context.Context, now time.Time) (string, error) {
	if s.inBackoff(now) {
		return s.serveStale(now, s.backoffError(now))
	}
	ch := s.group.DoChan(flightTicket, s.flight)
	select {
	case r := <-ch:
		if r.Err != nil {
			return s.serveStale(s.now(), r.Err)
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		// The flight goes on without us and fills the cache for the next
		// caller.
		return s.serveStale(s.now(), fmt.Errorf("%w: gave up waiting for WeChat: %w", ErrUnavailable, ctx.Err()))
	}
}

// serveStale returns a cached ticket that is past its margin but that
// WeChat still accepts, or err when there is none.
// staleGuard is how long before WeChat's expiry a stale ticket stops being
// served: a page takes time to load and run wx.config, and WeChat checks the
// signature then. (Found by the chaos harness: a page served in the last
// milliseconds of a ticket failed verification.)
const staleGuard = 10 * time.Second

func (s *Store) serveStale(now time.Time, err error) (string, error) {
	if !s.closed.Load() {
		// Not to the last second: the page is checked by the browser after it
		// arrives, and a ticket that has expired by then signs nothing.
		if e, ok := s.cache.Get(keyTicket); ok && now.Before(e.expiresAt.Add(-staleGuard)) {
			s.counts.servedStale.Add(1)
			return e.value, nil
		}
	}
	return "", err
}
