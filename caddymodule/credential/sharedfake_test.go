package credential

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// fakeShared is an in-memory Shared. Its lock is held until Unlock or until
// a test expires it (what a storage does to a crashed holder's lock), and
// every operation can be made to fail.
type fakeShared struct {
	mu    sync.Mutex
	data  map[string][]byte
	locks map[string]chan struct{} // closed when the lock is released
	fail  map[string]error         // by op
	// waiting, when set, receives the name of a lock each time a Lock call
	// finds it held and starts waiting.
	waiting chan string
}

func newFakeShared() *fakeShared {
	return &fakeShared{data: map[string][]byte{}, locks: map[string]chan struct{}{}, fail: map[string]error{}}
}

func (f *fakeShared) failing(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail[op]
}

func (f *fakeShared) setFail(op string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[op] = err
}

func (f *fakeShared) Load(_ context.Context, key string) ([]byte, error) {
	if err := f.failing(OpLoad); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.data[key]
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, fs.ErrNotExist)
	}
	return v, nil
}

func (f *fakeShared) Store(_ context.Context, key string, value []byte) error {
	if err := f.failing(OpStore); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data[key] = value
	return nil
}

func (f *fakeShared) Lock(ctx context.Context, name string) error {
	for {
		if err := f.failing(OpLock); err != nil {
			return err
		}
		f.mu.Lock()
		held, ok := f.locks[name]
		if !ok {
			f.locks[name] = make(chan struct{})
			f.mu.Unlock()
			return nil
		}
		waiting := f.waiting
		f.mu.Unlock()
		if waiting != nil {
			waiting <- name
		}
		select {
		case <-held:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (f *fakeShared) Unlock(_ context.Context, name string) error {
	if err := f.failing(OpUnlock); err != nil {
		return err
	}
	f.expire(name)
	return nil
}

// expire releases the lock whoever holds it.
func (f *fakeShared) expire(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch, ok := f.locks[name]; ok {
		close(ch)
		delete(f.locks, name)
	}
}

func (f *fakeShared) isLocked(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.locks[name]
	return ok
}

func (f *fakeShared) setWaiting(ch chan string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waiting = ch
}

func (f *fakeShared) snapshot() map[string][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.data)
}

const (
	testPrefix = "wechat_jssdk/wx0123456789abcdef/ns"
	lockName   = testPrefix + "/refresh"
)

// newInstance is one instance of the app: its own store and source, on a
// shared clock and L2. lockWait zero means the default.
func newInstance(t *testing.T, clock *fakeClock, sh Shared, src *fakeSource, lockWait time.Duration) *harness {
	t.Helper()
	if src == nil {
		src = &fakeSource{}
	}
	core, logs := observer.New(zapcore.DebugLevel)
	s, err := New(Config{Source: src, Now: clock.Now, Logger: zap.New(core),
		Shared: sh, SharedPrefix: testPrefix, LockWait: lockWait})
	if err != nil {
		t.Fatal(err)
	}
	s.jitter = func(d time.Duration) time.Duration { return d }
	t.Cleanup(s.Close)
	return &harness{store: s, src: src, clock: clock, logs: logs}
}
