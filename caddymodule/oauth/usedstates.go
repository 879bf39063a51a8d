package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
)

// How usedStates uses the storage.
const (
	// storageTimeout bounds a claim (lock, read, write, unlock) and the
	// writing of an answer. A contended lock costs up to a second on the
	// file system and Redis storages (both poll once a second), which only
	// a repeated callback meets.
	storageTimeout = 5 * time.Second
	// repeatWait bounds how long a repeated callback waits for the first
	// one's answer: its claim, its code exchange and the recording of its
	// answer.
	repeatWait = storageTimeout + exchangeTimeout + storageTimeout
	// awaitPoll is how often a repeat on another instance than the first
	// callback's reads the record for the answer.
	awaitPoll = 200 * time.Millisecond
	// bucketSpan groups records by when their state expires, so that
	// pruning lists a few buckets and deletes the expired ones whole.
	bucketSpan = time.Minute
	// pruneEvery is how often an instance prunes, at most.
	pruneEvery = time.Minute
	// pruneSlack is how long past its state's expiry a record is kept: the
	// room left for the clocks of the instances to differ.
	pruneSlack = 5 * time.Minute
	// pruneTimeout bounds one pruning.
	pruneTimeout = time.Minute
)

// errNoAnswer is await's error when the first callback's answer does not
// come in time (its instance stopped, or could not record it).
var errNoAnswer = errors.New("the first callback's answer was not recorded in time")

// usedStates is the cluster-wide record of the states whose callback has
// come, in Caddy's storage (the one the cookie key lives in), so that a
// state is used once by all the instances that share the storage, and a
// repeated callback can be answered by any of them.
//
// A state's record lives at
// wechat_oauth/<app_id>/used_states/<bucket>/<state>, where bucket is the
// minute the state expires in (Unix time / 60): the state's expiry is in
// its sealed cookie, so every instance finds the same key for it. The
// record, sealed with the cookie key, holds when the first callback came,
// the SHA-256 of its code, and, once there is one, its answer. The
// storage holds no openid, unionid, code or token in clear.
//
// Single use rests on the storage's lock: a claim takes the lock named
// wechat_oauth/<app_id>/used_states/<state>, reads the record, writes one
// when there is none, and lets go. Of two instances claiming one state at
// the same moment, the second takes the lock after the first has written
// its record, and finds it. The guarantee is the lock's: on the file
// system and Redis storages a lock is taken away from a holder that stops
// refreshing it (10 s and 5 s), so an instance frozen inside a claim for
// that long could let a second one in.
type usedStates struct {
	storage certmagic.Storage
	dir     string
	sealer  *sealer

	poll      time.Duration // await's polling interval
	lastPrune atomic.Int64  // Unix seconds of the last pruning started
	pruning   sync.WaitGroup
}

func newUsedStates(st certmagic.Storage, appID string, s *sealer) *usedStates {
	return &usedStates{storage: st, dir: "wechat_oauth/" + appID + "/used_states", sealer: s, poll: awaitPoll}
}

// usedRecord is what the storage keeps of a used state, sealed.
type usedRecord struct {
	// ID is the state's, binding the record to its key.
	ID string `json:"id"`
	// At is when the state's first callback came, in Unix milliseconds.
	At int64 `json:"at"`
	// Code is the SHA-256 of the code that callback brought.
	Code []byte `json:"code"`
	// Answer is its answer, once made.
	Answer *answer `json:"answer,omitempty"`
}

// repeatOf reports whether a callback with the code digest at now is a
// repeat of the one that made r.
func (r usedRecord) repeatOf(digest codeDigest, now time.Time) bool {
	return r.ID != "" && subtle.ConstantTimeCompare(r.Code, digest[:]) == 1 && now.Before(time.UnixMilli(r.At).Add(repeatWindow))
}

// key is where the record of state id, which expires at exp, lives.
func (u *usedStates) key(id stateID, exp time.Time) string {
	return u.dir + "/" + strconv.FormatInt(exp.Unix()/int64(bucketSpan/time.Second), 10) + "/" + id.param()
}

// lockName is the name of the lock of state id's record.
func (u *usedStates) lockName(id stateID) string { return u.dir + "/" + id.param() }

// claim marks state id, which expires at exp, as used by a callback with
// the code whose digest is digest, at now, unless another callback has.
// claimed says whether this call made the mark; when not, rec is the
// record found (a zero record when it does not open: refuse the callback).
// err is a storage failure: with claimed false, nothing is known of the
// state and the callback must be refused; with claimed true, the mark is
// made and only letting go of the lock failed.
func (u *usedStates) claim(ctx context.Context, id stateID, exp time.Time, digest codeDigest, now time.Time) (claimed bool, rec usedRecord, err error) {
	ctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	lock := u.lockName(id)
	if err := u.storage.Lock(ctx, lock); err != nil {
		return false, usedRecord{}, fmt.Errorf("locking %s in storage: %w", lock, err)
	}
	defer func() {
		// a fresh context: the lock must go even when ctx has ended
		uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), storageTimeout)
		defer ucancel()
		if uerr := u.storage.Unlock(uctx, lock); uerr != nil && err == nil {
			err = fmt.Errorf("unlocking %s in storage: %w", lock, uerr)
		}
	}()
	key := u.key(id, exp)
	b, err := u.storage.Load(ctx, key)
	switch {
	case err == nil:
		rec, _ = u.open(b, id)
		return false, rec, nil
	case !errors.Is(err, fs.ErrNotExist):
		return false, usedRecord{}, fmt.Errorf("reading %s from storage: %w", key, err)
	}
	rec = usedRecord{ID: id.param(), At: now.UnixMilli(), Code: digest[:]}
	if err := u.store(ctx, key, rec); err != nil {
		return false, usedRecord{}, err
	}
	u.maybePrune(now)
	return true, rec, nil
}

// finish records a, the answer of the callback that claimed rec's state.
// Only that callback writes the record after its claim, so no lock is
// needed: the storages' Store replaces a value whole.
func (u *usedStates) finish(ctx context.Context, id stateID, exp time.Time, rec usedRecord, a answer) error {
	ctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	rec.Answer = &a
	return u.store(ctx, u.key(id, exp), rec)
}

// await reads state id's record until it holds an answer, and returns it;
// it gives up after limit (errNoAnswer, or the last storage error) or when
// ctx ends.
func (u *usedStates) await(ctx context.Context, id stateID, exp time.Time, limit time.Duration) (answer, error) {
	key := u.key(id, exp)
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	var lastErr error
	for {
		b, err := u.storage.Load(ctx, key)
		if err == nil {
			if rec, ok := u.open(b, id); ok && rec.Answer != nil {
				return *rec.Answer, nil
			}
		} else if ctx.Err() == nil {
			lastErr = fmt.Errorf("reading %s from storage: %w", key, err)
		}
		t := time.NewTimer(u.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return answer{}, ctx.Err()
		case <-deadline.C:
			t.Stop()
			if lastErr != nil {
				return answer{}, lastErr
			}
			return answer{}, errNoAnswer
		case <-t.C:
		}
	}
}

// store seals rec and writes it at key.
func (u *usedStates) store(ctx context.Context, key string, rec usedRecord) error {
	plain, err := json.Marshal(rec)
	if err != nil {
		return err // cannot happen: the record is strings and numbers
	}
	if err := u.storage.Store(ctx, key, []byte(u.sealer.seal(purposeUsedState, plain))); err != nil {
		return fmt.Errorf("writing %s to storage: %w", key, err)
	}
	return nil
}

// open unseals a record read for state id. One that does not open, or is
// another state's (moved from its key), is no record.
func (u *usedStates) open(b []byte, id stateID) (usedRecord, bool) {
	plain, ok := u.sealer.open(purposeUsedState, string(b))
	if !ok {
		return usedRecord{}, false
	}
	var rec usedRecord
	if json.Unmarshal(plain, &rec) != nil || rec.ID != id.param() {
		return usedRecord{}, false
	}
	return rec, true
}

// maybePrune starts a pruning in the background when this instance has
// not started one for pruneEvery.
func (u *usedStates) maybePrune(now time.Time) {
	last := u.lastPrune.Load()
	if now.Unix()-last < int64(pruneEvery/time.Second) || !u.lastPrune.CompareAndSwap(last, now.Unix()) {
		return
	}
	u.pruning.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), pruneTimeout)
		defer cancel()
		_ = u.prune(ctx, now) // what is left is pruned next time
	})
}

// prune deletes the buckets of records whose states expired pruneSlack
// before now, key by key (a Delete of a directory takes its keys with it
// on the file system, not in Redis), then the bucket. Instances pruning
// together delete the same keys, which is no error. It returns the first
// error and goes on past it.
func (u *usedStates) prune(ctx context.Context, now time.Time) error {
	buckets, err := u.storage.List(ctx, u.dir, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing %s in storage: %w", u.dir, err)
	}
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	span := int64(bucketSpan / time.Second)
	for _, b := range buckets {
		n, err := strconv.ParseInt(path.Base(b), 10, 64)
		if err != nil || path.Dir(b) != u.dir {
			continue // not a bucket
		}
		if end := time.Unix((n+1)*span, 0); now.Before(end.Add(pruneSlack)) {
			continue
		}
		keys, err := u.storage.List(ctx, b, false)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			keep(fmt.Errorf("listing %s in storage: %w", b, err))
			continue
		}
		for _, k := range keys {
			if err := u.storage.Delete(ctx, k); err != nil {
				keep(fmt.Errorf("deleting %s from storage: %w", k, err))
			}
		}
		if err := u.storage.Delete(ctx, b); err != nil {
			keep(fmt.Errorf("deleting %s from storage: %w", b, err))
		}
	}
	return first
}
