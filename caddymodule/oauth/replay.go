package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"time"
)

// maxConsumed bounds the states remembered as used. Filling it takes that
// many completed sign-ins within stateTTL; past it the oldest is forgotten
// here, which only sends a replay of it on to the storage's record
// (usedStates), which refuses it.
const maxConsumed = 1 << 16

// repeatWindow is how long after a state's first callback a repeat of that
// callback (the same browser's state cookie, the same state, the same code:
// WeChat's double redirect) gets the first one's answer instead of a
// refusal.
const repeatWindow = 30 * time.Second

// consumedStates is shared by every handler and survives config reloads:
// state ids are random, so handlers of different apps never collide.
var consumedStates = newReplayCache(maxConsumed)

// codeDigest is the SHA-256 of an OAuth code: what is kept of a code to
// tell a repeat of its callback (the same code) from a replay (another
// one), never the code itself.
type codeDigest [sha256.Size]byte

func digestCode(code string) codeDigest { return sha256.Sum256([]byte(code)) }

// same reports whether d and o are digests of the same code.
func (d codeDigest) same(o codeDigest) bool { return subtle.ConstantTimeCompare(d[:], o[:]) == 1 }

// replayCache is the per-process fast path of single use: it remembers the
// states whose callback has run here, until they expire, so that a state
// used on this instance is refused without asking the storage. The
// cluster-wide mark is usedStates'. For repeatWindow after a state's first
// callback it also keeps that callback's answer in the making (a flight),
// for a repeat of it to share.
type replayCache struct {
	mu    sync.Mutex
	limit int
	seen  map[stateID]*usedState
	order []consumed // by state expiry, in the order consumed, for pruning
	// recent is the states consumed within repeatWindow, oldest first,
	// each with the end of its window: their flights are dropped then.
	recent []consumed
}

// usedState is what replayCache keeps of a state whose callback has come.
type usedState struct {
	at     time.Time // when its first callback came
	digest codeDigest
	fl     *flight // nil once repeatWindow has passed
}

type consumed struct {
	id  stateID
	exp time.Time
}

func newReplayCache(limit int) *replayCache {
	return &replayCache{limit: limit, seen: make(map[stateID]*usedState)}
}

// consume records id as used until exp, by a callback with the code whose
// digest is digest, and reports whether this was its first use. The first
// use gets a new flight, which the caller must resolve with its answer. A
// later use gets the first use's flight when it is a repeat of it (the
// same code, within repeatWindow), nil otherwise: a replay.
func (c *replayCache) consume(id stateID, exp time.Time, digest codeDigest, now time.Time) (fl *flight, first bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if u, used := c.seen[id]; used {
		if u.fl != nil && u.digest.same(digest) && now.Before(u.at.Add(repeatWindow)) {
			return u.fl, false
		}
		return nil, false
	}
	c.prune(now)
	fl = newFlight()
	c.seen[id] = &usedState{at: now, digest: digest, fl: fl}
	c.order = append(c.order, consumed{id, exp})
	c.recent = append(c.recent, consumed{id, now.Add(repeatWindow)})
	return fl, true
}

// prune forgets the expired entries at the front, and the oldest ones
// beyond the limit. Expiries are near enough in consumption order that what is
// left behind a later-expiring entry is dropped soon after; an expired
// state is refused before it is looked up anyway. It drops the flights
// whose repeatWindow has passed the same way. The caller holds c.mu.
func (c *replayCache) prune(now time.Time) {
	drop := 0
	for drop < len(c.order) && (!now.Before(c.order[drop].exp) || len(c.order)-drop >= c.limit) {
		delete(c.seen, c.order[drop].id)
		drop++
	}
	// Re-slicing, not copying: append moves the live entries to a new
	// array when this one is full, so the dropped ones cost O(1) each.
	c.order = c.order[drop:]
	drop = 0
	for drop < len(c.recent) && (!now.Before(c.recent[drop].exp) || len(c.recent)-drop >= c.limit) {
		if u, ok := c.seen[c.recent[drop].id]; ok {
			u.fl = nil
		}
		drop++
	}
	c.recent = c.recent[drop:]
}

// len is the number of states remembered.
func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// flights is the number of answers kept for repeats.
func (c *replayCache) flights() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, u := range c.seen {
		if u.fl != nil {
			n++
		}
	}
	return n
}

// answer is what a callback answered, kept so that a repeat of it gets the
// same: a refusal (Status and Body) or a sign-in (302 to Location with the
// session cookie whose sealed value is Session and which ends at
// Expires). Nothing in it is in clear but the return target: Session is
// sealed, and usedStates seals the whole record again in storage.
type answer struct {
	Status   int    `json:"status"`
	Body     string `json:"body,omitempty"`
	Session  string `json:"session,omitempty"`
	Expires  int64  `json:"expires,omitempty"` // Unix seconds
	Location string `json:"location,omitempty"`
}

// flight is a callback's answer in the making, which repeats of the
// callback wait for.
type flight struct {
	once sync.Once
	done chan struct{}
	out  answer
}

func newFlight() *flight { return &flight{done: make(chan struct{})} }

// resolve sets the answer; only the first call counts.
func (f *flight) resolve(a answer) {
	f.once.Do(func() {
		f.out = a
		close(f.done)
	})
}

// wait returns the answer once it is set, or false when ctx ends or limit
// passes first.
func (f *flight) wait(ctx context.Context, limit time.Duration) (answer, bool) {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-f.done:
		return f.out, true
	case <-ctx.Done():
	case <-t.C:
	}
	return answer{}, false
}
