package credential

import "time"

// sharedFlight is the flight of a store with an L2. Another instance may
// have refreshed already, so the L2 is read first, without the lock; only
// when it has nothing fresh does the store take the lock, read the L2 again
// (the holder it waited for has probably refreshed), and only then call
// upstream, writing what it gets to the L2 before it releases the lock.
//
// A crashed holder cannot wedge the others: its lock expires by the
// storage's own rule, and the wait here is bounded by LockWait. A wait that
// runs out fails this flight like any transient failure (backoff, then a
// new attempt); it does not fetch without the lock, which would defeat the
// lock whenever a refresh is merely slow.
func (s *Store) sharedFlight(now time.Time) (any, error) {
	// A usable ticket that is due for refresh goes into the cache: while it
	// stays usable, the callers get it even when the refresh fails (see
	// Store.fallback). It is not handed back from here: the flight may end
	// long after it stopped being usable.
	if e, fresh := s.adoptShared(now); fresh {
		s.recovered()
		return e, nil
	}
	unlock, err := s.lockShared()
	if err != nil {
		if e, fresh := s.adoptShared(s.now()); fresh {
			s.recovered()
			return e, nil
		}
		return nil, s.failed(err)
	}
	defer unlock()
	if e, fresh := s.adoptShared(s.now()); fresh {
		s.recovered()
		return e, nil
	}
	if s.token == nil {
		// A shared token's holder reads the L2 itself, when it needs to.
		s.adoptSharedToken(s.now())
	}
	e, err := s.fetchTicket()
	if err != nil {
		return nil, s.failed(err)
	}
	s.recovered()
	return e, nil
}

// adoptShared reads the ticket from the L2. When it is usable it goes into
// the cache (unless the cache has one at least as recent) and is returned,
// with whether it is fresh, that is not yet due for refresh. The ticket a
// page reported (RefreshTicket) is not taken back while it is being
// refetched: pages would be signed with it again.
func (s *Store) adoptShared(now time.Time) (e entry, fresh bool) {
	e, ok := s.loadShared(keyTicket, now)
	if !ok || s.underSuspicion(e) {
		return entry{}, false
	}
	if cur, ok := s.cache.Get(keyTicket); !ok || e.obtainedAt.After(cur.obtainedAt) {
		s.keep(keyTicket, e)
	}
	return e, now.Before(e.refreshAt)
}

// adoptSharedToken takes the token from the L2 when it is usable and newer
// than the cached one: another instance fetched it, and with the classic
// token endpoint, fetching one more would invalidate theirs.
func (s *Store) adoptSharedToken(now time.Time) {
	e, ok := s.loadShared(keyToken, now)
	if !ok || e.value == s.rejectedToken {
		return
	}
	if cur, ok := s.cache.Get(keyToken); !ok || e.obtainedAt.After(cur.obtainedAt) {
		s.keep(keyToken, e)
	}
}
