package credential

import (
	"context"
	"errors"
	"fmt"
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

// flightSuspect names the refetch of RefreshTicket in errors.
const flightSuspect = "ticket refetch"

// suspectRun is one refetch of a suspect ticket. Every RefreshTicket call
// made for that ticket while it runs waits for it.
type suspectRun struct {
	ticket   string    // the ticket suspected; "" when none was cached
	obtained time.Time // when it was obtained
	asked    time.Time // when the refetch was asked for
	done     chan struct{}
	err      error // the refetch's result, set before done is closed
}

// replacedBy says whether e, a usable ticket found in the cache or the L2,
// stands for the refetch: it was obtained after the refetch was asked for
// (even if it is the suspect one: WeChat handed it out again since), or it
// is another ticket obtained after the suspect one, the ticket that
// replaced it.
func (r *suspectRun) replacedBy(e entry) bool {
	if !e.obtainedAt.Before(r.asked) {
		return true
	}
	return r.ticket != "" && e.value != r.ticket && e.obtainedAt.After(r.obtained)
}

// underSuspicion says whether e is the ticket a refetch in progress is
// about, as it was before the refetch was asked for.
func (s *Store) underSuspicion(e entry) bool {
	s.mu.Lock()
	r := s.suspecting
	s.mu.Unlock()
	return r != nil && r.ticket != "" && e.value == r.ticket && e.obtainedAt.Before(r.asked)
}

// RefreshTicket treats the ticket the store holds as suspect — a page
// reported that WeChat rejected a signature made with it, as happens when
// another service of the same account rotated the credentials without
// telling us — and makes sure that what the store hands out next is not
// that ticket unless WeChat hands it back again.
//
// The first call for a ticket drops it from the cache at once (pages
// loaded meanwhile wait for its replacement, as on a cold cache) and
// fetches a new one through the usual path: fetchMu, the shared lock, and
// the invalid-token cure, which refetches the token only if the ticket call
// rejects it. Unlike Refresh it never forces a token, so it spends none of
// stable_token's 20 forced refreshes a day. No WeChat call is made when the
// ticket was replaced meanwhile: by a page's own fetch, or by another
// instance (a newer ticket in the L2).
//
// Calls made while that refetch runs — the other pages signed with the same
// ticket — wait for it, until it ends or ctx is done, and return its
// result; they make no call of their own. A call made once the refetch has
// put its ticket in place returns nil at once. Otherwise a new refetch is
// refused with a *RefreshLimitedError within suspectFloor of the last one,
// and within suspectInterval of it for a ticket already suspected once; and
// with a *BudgetError, the ticket kept, when the store has a TicketBudget
// and half of it was used in the last hour (refetches must not leave
// regular refreshes without calls). In every case the caller then signs
// with what the store holds, which is by then the refetched ticket.
func (s *Store) RefreshTicket(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	r, wait, err := s.reserveSuspect(s.now())
	var overBudget *BudgetError
	switch {
	case errors.As(err, &overBudget):
		return s.refusedByBudget(overBudget.Budget, overBudget.RetryAfter)
	case err != nil:
		return err
	case wait > 0:
		return &RefreshLimitedError{RetryAfter: wait}
	case r == nil:
		return nil
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return fmt.Errorf("%w: gave up waiting for the %s: %w", ErrUnavailable, flightSuspect, ctx.Err())
	}
}

// reserveSuspect decides what a report at now leads to: the refetch to wait
// for (one running for the ticket the store holds, or one it starts), nil
// when a refetch already put a new ticket in place, or how long until a
// new refetch is allowed.
func (s *Store) reserveSuspect(now time.Time) (*suspectRun, time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, 0, errClosed
	}
	cur, held := s.cache.Get(keyTicket)
	current := ""
	if held {
		current = cur.value
	}
	if r := s.suspecting; r != nil {
		if current == "" || current == r.ticket {
			return r, 0, nil // the same suspect ticket, dropped or not yet
		}
		return nil, 0, nil // the refetch is ending: its ticket is in place
	}
	if !s.lastSuspect.IsZero() {
		since := now.Sub(s.lastSuspect)
		fresh := current != "" && current != s.suspected
		if wait := suspectFloor - since; wait > 0 {
			return nil, wait, nil
		}
		if wait := suspectInterval - since; wait > 0 && !fresh {
			return nil, wait, nil
		}
	}
	// Checked before the ticket is dropped: a refetch the budget refuses
	// leaves pages the ticket they have.
	if s.budget > 0 {
		share := suspectShare(s.budget)
		if wait := s.budgetWaitLocked(now, share); wait > 0 {
			return nil, 0, &BudgetError{Budget: share, RetryAfter: wait}
		}
	}
	s.lastSuspect, s.suspected = now, current
	r := &suspectRun{ticket: current, obtained: cur.obtainedAt, asked: now, done: make(chan struct{})}
	s.suspecting = r
	// From now on no page is signed with the suspect ticket: it is gone
	// from the cache before any other caller can read it there. (Close
	// cannot have released the cache: it sets closed under s.mu first.)
	if held {
		s.cache.Del(keyTicket)
	}
	go func() {
		err := s.suspectFlight(r)
		s.mu.Lock()
		r.err = err
		s.suspecting = nil
		s.mu.Unlock()
		close(r.done)
	}()
	return r, 0, nil
}

// suspectFlight is the upstream side of RefreshTicket. Like any flight it
// holds fetchMu and, with an L2, the shared lock; before calling WeChat it
// looks for a ticket that replaced the suspect one meanwhile, in the cache
// (a page's flight that got fetchMu first) and then in the L2 (another
// instance refetched it), and takes that instead.
func (s *Store) suspectFlight(r *suspectRun) error {
	if !s.enter() {
		return errClosed
	}
	defer s.wg.Done()
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()

	if e, ok := s.cache.Get(keyTicket); ok && s.now().Before(e.usableUntil) && r.replacedBy(e) {
		return nil
	}
	if s.shared != nil {
		unlock, err := s.lockShared()
		if err != nil {
			return joinUnavailable(err)
		}
		defer unlock()
		if e, ok := s.loadShared(keyTicket, s.now()); ok && r.replacedBy(e) {
			s.keep(keyTicket, e)
			s.recovered()
			return nil
		}
	}
	s.log.Info("a page reported an invalid signature; fetching a new jsapi_ticket")
	if _, err := s.fetchTicket(); err != nil {
		return s.failed(err)
	}
	s.recovered()
	return nil
}
