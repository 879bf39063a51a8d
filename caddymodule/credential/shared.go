package credential

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Shared is a storage several instances of the app share: the L2 behind
// the store's own cache. Its methods are the subset of certmagic.Storage
// the store needs, so that Caddy's configured storage (file system, Redis…)
// fills it as is.
type Shared interface {
	// Load returns the value stored under key, or an error wrapping
	// fs.ErrNotExist when there is none.
	Load(ctx context.Context, key string) ([]byte, error)
	// Store puts value under key.
	Store(ctx context.Context, key string, value []byte) error
	// Lock takes the lock called name, blocking until it is held or ctx is
	// done. A lock whose holder died must expire by itself: the store only
	// bounds its own wait (Config.LockWait).
	Lock(ctx context.Context, name string) error
	// Unlock releases the lock called name, taken with Lock.
	Unlock(ctx context.Context, name string) error
}

// sharedRecord is what the store writes to the L2: the credential with its
// absolute life, so that every instance computes the same refresh instant
// from it. The app secret is never stored.
type sharedRecord struct {
	Value      string    `json:"value"`
	ObtainedAt time.Time `json:"obtained_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Storage operations, as named in Stats.SharedErrors and in logs.
const (
	OpLoad   = "load"
	OpStore  = "store"
	OpLock   = "lock"
	OpUnlock = "unlock"
)

// maxLoggedCauses bounds the set of causes logged per operation during one
// outage.
const maxLoggedCauses = 16

// errLockWait is the cause of a flight that gave up waiting for the shared
// lock. It wraps context.DeadlineExceeded so that it is classified (and
// backed off) as a transient failure.
type errLockWait struct{ wait time.Duration }

func (e errLockWait) Error() string {
	return fmt.Sprintf("credential: another instance held the shared refresh lock for more than %s", e.wait)
}

func (e errLockWait) Unwrap() error { return context.DeadlineExceeded }

// sharedL2 is the store's link to its Shared storage, with its counters.
// A WeCom token holder has one of its own (see token.go).
type sharedL2 struct {
	st                  Shared
	tokenKey, ticketKey string
	lockName            string
	lockWait            time.Duration
	// ctx is the owner's: cancelled when it closes. timeout bounds one
	// storage operation; log and now are the owner's logger and clock.
	ctx     context.Context
	timeout time.Duration
	log     *zap.Logger
	now     func() time.Time

	hits, misses            atomic.Uint64
	lockAcquired, lockTimed atomic.Uint64
	lockWaitNanos           atomic.Int64
	errs                    [4]atomic.Uint64 // by op, in sharedOps order

	mu sync.Mutex // guards the fields below
	// logged holds the causes logged during the current outage, by op; an
	// op that works again ends its part of the outage.
	logged  map[string]map[string]bool
	lastErr recordedError
}

var sharedOps = [...]string{OpLoad, OpStore, OpLock, OpUnlock}

// sharedKeys names a store's records and lock in the L2.
type sharedKeys struct {
	token, ticket, lock string
}

// officialKeys are the names of an Official Account store's records.
func officialKeys(prefix string) sharedKeys {
	return sharedKeys{token: prefix + "/token", ticket: prefix + "/ticket", lock: prefix + "/refresh"}
}

// newSharedL2 links to st for the store s (or a token holder with the same
// context, timeout, logger and clock).
func (s *Store) newSharedL2(st Shared, keys sharedKeys, wait time.Duration) *sharedL2 {
	return newSharedL2(st, keys, wait, s.ctx, s.fetchTimeout, s.log, s.now)
}

func newSharedL2(st Shared, keys sharedKeys, wait time.Duration, ctx context.Context, timeout time.Duration, log *zap.Logger, now func() time.Time) *sharedL2 {
	return &sharedL2{
		st:        st,
		tokenKey:  keys.token,
		ticketKey: keys.ticket,
		lockName:  keys.lock,
		lockWait:  wait,
		ctx:       ctx,
		timeout:   timeout,
		log:       log,
		now:       now,
		logged:    make(map[string]map[string]bool),
	}
}

func (l *sharedL2) key(k uint64) string {
	if k == keyToken {
		return l.tokenKey
	}
	return l.ticketKey
}

// loadShared reads key from the L2. It returns the entry when there is one
// still usable at now; an absent, expired or unreadable record is a miss,
// and a failing storage is logged and counted and is a miss too.
func (s *Store) loadShared(key uint64, now time.Time) (entry, bool) {
	return s.shared.load(s.shared.key(key), now)
}

// load reads the record called name; see Store.loadShared.
func (l *sharedL2) load(name string, now time.Time) (entry, bool) {
	ctx, cancel := context.WithTimeout(l.ctx, l.timeout)
	defer cancel()
	raw, err := l.st.Load(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		l.misses.Add(1)
		l.ok(OpLoad)
		return entry{}, false
	}
	if err != nil {
		l.failed(OpLoad, err)
		return entry{}, false
	}
	l.ok(OpLoad)
	var rec sharedRecord
	if err := json.Unmarshal(raw, &rec); err != nil || rec.Value == "" || !rec.ExpiresAt.After(rec.ObtainedAt) {
		// Not ours or damaged: the next fetch overwrites it.
		l.misses.Add(1)
		l.log.Debug("ignoring an unreadable shared credential record", zap.String("key", name))
		return entry{}, false
	}
	e := newEntryUntil(rec.Value, rec.ObtainedAt, rec.ExpiresAt)
	if !now.Before(e.usableUntil) {
		l.misses.Add(1)
		return entry{}, false
	}
	l.hits.Add(1)
	return e, true
}

// storeShared writes e under key to the L2; a failure is logged and
// counted, and the credential stays in this instance's cache.
func (s *Store) storeShared(key uint64, e entry) {
	if s.shared == nil {
		return
	}
	s.shared.store(s.shared.key(key), e)
}

// store writes e as the record called name; see Store.storeShared.
func (l *sharedL2) store(name string, e entry) {
	raw, err := json.Marshal(sharedRecord{Value: e.value, ObtainedAt: e.obtainedAt, ExpiresAt: e.expiresAt})
	if err != nil {
		l.failed(OpStore, err)
		return
	}
	ctx, cancel := context.WithTimeout(l.ctx, l.timeout)
	defer cancel()
	if err := l.st.Store(ctx, name, raw); err != nil {
		l.failed(OpStore, err)
		return
	}
	l.ok(OpStore)
}

// lockShared takes the refresh lock, waiting at most LockWait. It returns
// the function that releases it. When the storage fails it logs and counts
// the failure and returns a no-op release: the refresh then goes on without
// the lock, as a lone instance would. It fails only when the wait ran out
// (errLockWait) or the store is closing.
func (s *Store) lockShared() (func(), error) { return s.shared.lock() }

// lock takes the lock; see Store.lockShared.
func (l *sharedL2) lock() (func(), error) {
	ctx, cancel := context.WithTimeout(l.ctx, l.lockWait)
	defer cancel()
	start := time.Now() // operational time, not the store's clock
	err := l.st.Lock(ctx, l.lockName)
	waited := time.Since(start)
	switch {
	case err == nil:
		l.lockAcquired.Add(1)
		l.lockWaitNanos.Add(int64(waited))
		l.ok(OpLock)
		if waited > time.Second {
			l.log.Debug("waited for another instance's refresh", zap.Duration("waited", waited))
		}
		return l.unlock, nil
	case l.ctx.Err() != nil:
		return nil, ErrClosed
	case ctx.Err() != nil:
		l.lockTimed.Add(1)
		l.lockWaitNanos.Add(int64(waited))
		return nil, errLockWait{wait: l.lockWait}
	default:
		l.failed(OpLock, err)
		return func() {}, nil
	}
}

// unlock releases the refresh lock. It does not use the owner's context:
// a store being closed still releases what it holds.
func (l *sharedL2) unlock() {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	if err := l.st.Unlock(ctx, l.lockName); err != nil {
		l.failed(OpUnlock, err)
		return
	}
	l.ok(OpUnlock)
}

// failed counts a storage failure and logs it unless the same cause was
// already logged during this outage.
func (l *sharedL2) failed(op string, err error) {
	if l.ctx.Err() != nil {
		return // closing: the operation was cancelled, nothing failed
	}
	for i, name := range sharedOps {
		if name == op {
			l.errs[i].Add(1)
		}
	}
	cause := op + ": " + err.Error()
	l.mu.Lock()
	l.lastErr = recordedError{msg: "shared storage " + cause, at: l.now()}
	causes := l.logged[op]
	if causes == nil {
		causes = make(map[string]bool)
		l.logged[op] = causes
	}
	first := !causes[cause] && len(causes) < maxLoggedCauses
	if first {
		causes[cause] = true
	}
	l.mu.Unlock()
	if first {
		l.log.Warn("shared credential storage failed; this instance uses its own cache and fetches by itself",
			zap.String("op", op), zap.Error(err))
	} else {
		l.log.Debug("shared credential storage still failing", zap.String("op", op), zap.Error(err))
	}
}

// ok notes that op worked, logging the end of an outage once every
// operation that failed during it has worked again.
func (l *sharedL2) ok(op string) {
	l.mu.Lock()
	_, failed := l.logged[op]
	delete(l.logged, op)
	over := failed && len(l.logged) == 0
	l.mu.Unlock()
	if over {
		l.log.Info("shared credential storage works again")
	}
}
