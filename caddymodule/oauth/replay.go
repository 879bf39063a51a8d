package oauth

import (
	"sync"
	"time"
)

// maxConsumed bounds the states remembered as used. Filling it takes that
// many completed sign-ins within stateTTL; past it the oldest is forgotten,
// which only reopens a replay to the browser that holds its state cookie.
const maxConsumed = 1 << 16

// consumedStates is shared by every handler and survives config reloads:
// state ids are random, so handlers of different apps never collide.
var consumedStates = newReplayCache(maxConsumed)

// replayCache remembers the states whose callback has run, until they
// expire, so that each state is used once. It is per process: in a
// cluster, replaying on another instance still needs the browser's state
// cookie, which the callback clears, and a code WeChat has not yet seen.
type replayCache struct {
	mu    sync.Mutex
	limit int
	seen  map[stateID]time.Time
	order []consumed // in the order consumed, for pruning
}

type consumed struct {
	id  stateID
	exp time.Time
}

func newReplayCache(limit int) *replayCache {
	return &replayCache{limit: limit, seen: make(map[stateID]time.Time)}
}

// consume records id as used until exp and reports whether this was the
// first use.
func (c *replayCache) consume(id stateID, exp, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, used := c.seen[id]; used {
		return false
	}
	c.prune(now)
	c.seen[id] = exp
	c.order = append(c.order, consumed{id, exp})
	return true
}

// prune forgets the expired entries at the front, and the oldest ones
// beyond the limit. Expiries are near enough in consumption order that what is
// left behind a later-expiring entry is dropped soon after; an expired
// state is refused before it is looked up anyway. The caller holds c.mu.
func (c *replayCache) prune(now time.Time) {
	drop := 0
	for drop < len(c.order) && (!now.Before(c.order[drop].exp) || len(c.order)-drop >= c.limit) {
		delete(c.seen, c.order[drop].id)
		drop++
	}
	// Re-slicing, not copying: append moves the live entries to a new
	// array when this one is full, so the dropped ones cost O(1) each.
	c.order = c.order[drop:]
}

// len is the number of states remembered.
func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
