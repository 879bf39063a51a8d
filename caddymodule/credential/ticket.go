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
		return s.fallback(now, s.backoffError(now))
	}
	ch := s.group.DoChan(flightTicket, s.flight)
	select {
	case r := <-ch:
		now := s.now()
		if r.Err != nil {
			return s.fallback(now, r.Err)
		}
		// Judged now, not when the flight read or fetched it: a flight
		// can wait seconds for the shared lock and for WeChat, longer than
		// a short-lived ticket lasts.
		if e := r.Val.(entry); now.Before(e.usableUntil) {
			return e.value, nil
		}
		return s.fallback(now, errTooLate)
	case <-ctx.Done():
		// The flight goes on without us and fills the cache for the next
		// caller.
		return s.fallback(s.now(), fmt.Errorf("%w: gave up waiting for WeChat: %w", ErrUnavailable, ctx.Err()))
	}
}

// errTooLate is the cause when the ticket a flight got was no longer
// usable by the time the flight ended.
var errTooLate = fmt.Errorf("%w: the ticket fetched was past its safety margin when the fetch ended", ErrUnavailable)

// staleGuard is how long before WeChat's expiry a stale ticket stops being
// served: a page takes time to load and run wx.config, and WeChat checks the
// signature then. (Found by the chaos harness: a page served in the last
// milliseconds of a ticket failed verification.)
const staleGuard = 10 * time.Second

// fallback is what a caller gets when its flight failed, it stopped
// waiting, or the store is backing off: the cached ticket if it is usable
// at now (another flight may have filled the cache, and a flight that
// fails leaves a usable but due ticket there), else one past its margin
// that WeChat still accepts, counted as served stale, else err.
func (s *Store) fallback(now time.Time, err error) (string, error) {
	if s.closed.Load() {
		return "", err
	}
	e, ok := s.cache.Get(keyTicket)
	switch {
	case !ok:
	case now.Before(e.usableUntil):
		return e.value, nil
	// Not to the last second: the page is checked by the browser after it
	// arrives, and a ticket that has expired by then signs nothing.
	case now.Before(e.expiresAt.Add(-staleGuard)):
		s.counts.servedStale.Add(1)
		return e.value, nil
	}
	return "", err
}
