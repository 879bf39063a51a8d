package oauth

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
)

// List and Delete make memStorage a whole storage. List lists the direct
// children of prefix, as the file system and Redis storages do. Delete
// deletes key and, like the file system storage, every key under it,
// unless flat, like Redis, which deletes the key alone.
func (m *memStorage) List(_ context.Context, prefix string, recursive bool) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	for k := range m.data {
		rest, ok := strings.CutPrefix(k, prefix+"/")
		if !ok {
			continue
		}
		if !recursive {
			rest, _, _ = strings.Cut(rest, "/")
		}
		seen[path.Join(prefix, rest)] = true
	}
	if len(seen) == 0 {
		return nil, fs.ErrNotExist
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

func (m *memStorage) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.data, key)
	if !m.flat {
		for k := range m.data {
			if strings.HasPrefix(k, key+"/") {
				delete(m.data, k)
			}
		}
	}
	return nil
}

func (m *memStorage) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// flakyStorage is a memStorage whose methods fail on demand: fail[method]
// is the error, returned once skip[method] calls have gone through.
type flakyStorage struct {
	*memStorage
	mu    sync.Mutex
	fail  map[string]error
	skip  map[string]int
	calls map[string]int
}

func newFlakyStorage() *flakyStorage {
	return &flakyStorage{memStorage: newMemStorage(), fail: map[string]error{}, skip: map[string]int{}, calls: map[string]int{}}
}

// failOn makes method fail with err after the next skip calls.
func (f *flakyStorage) failOn(method string, skip int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method], f.skip[method] = err, skip
}

func (f *flakyStorage) err(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	if f.fail[method] == nil {
		return nil
	}
	if f.skip[method] > 0 {
		f.skip[method]--
		return nil
	}
	return f.fail[method]
}

func (f *flakyStorage) Lock(ctx context.Context, name string) error {
	if err := f.err("Lock"); err != nil {
		return err
	}
	return f.memStorage.Lock(ctx, name)
}

func (f *flakyStorage) Unlock(ctx context.Context, name string) error {
	err := f.memStorage.Unlock(ctx, name)
	if ferr := f.err("Unlock"); ferr != nil {
		return ferr
	}
	return err
}

func (f *flakyStorage) Load(ctx context.Context, key string) ([]byte, error) {
	if err := f.err("Load"); err != nil {
		return nil, err
	}
	return f.memStorage.Load(ctx, key)
}

func (f *flakyStorage) Store(ctx context.Context, key string, v []byte) error {
	if err := f.err("Store"); err != nil {
		return err
	}
	return f.memStorage.Store(ctx, key, v)
}

func (f *flakyStorage) List(ctx context.Context, prefix string, recursive bool) ([]string, error) {
	if err := f.err("List"); err != nil {
		return nil, err
	}
	return f.memStorage.List(ctx, prefix, recursive)
}

func (f *flakyStorage) Delete(ctx context.Context, key string) error {
	if err := f.err("Delete"); err != nil {
		return err
	}
	return f.memStorage.Delete(ctx, key)
}

// hangingStorage's Lock blocks until its context ends, like a storage that
// does not answer.
type hangingStorage struct{ *memStorage }

func (hangingStorage) Lock(ctx context.Context, _ string) error {
	<-ctx.Done()
	return ctx.Err()
}

var errStorageDown = errors.New("storage: connection refused")

func testUsedStates(t *testing.T, st certmagic.Storage) *usedStates {
	t.Helper()
	u := newUsedStates(st, testAppID, testSealer(t, testAppID))
	u.poll = time.Millisecond
	u.lastPrune.Store(testNow.Unix()) // no pruning unless a test asks
	return u
}

// TestUsedStatesClaim: the storage-backed mark, step by step, on a storage
// that works and on one that fails in each of the ways it can.
func TestUsedStatesClaim(t *testing.T) {
	exp := testNow.Add(stateTTL)
	code, other := digestCode("code-1"), digestCode("code-2")
	type step struct {
		fail    string // the storage method that fails during this step
		skip    int    // calls to it that go through first
		code    codeDigest
		at      time.Duration // after testNow
		claimed bool
		err     bool
		repeat  bool // the record found is the claim's: a repeat of it
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first use", []step{{code: code, claimed: true}}},
		{"second use, another code", []step{{code: code, claimed: true}, {code: other, at: time.Second}}},
		{"second use, the same code: a repeat", []step{{code: code, claimed: true}, {code: code, at: 29 * time.Second, repeat: true}}},
		{"the same code after the window", []step{{code: code, claimed: true}, {code: code, at: repeatWindow}}},
		{"lock fails: nothing known", []step{{fail: "Lock", code: code, err: true}}},
		{"read fails: nothing known", []step{{fail: "Load", code: code, err: true}}},
		{"write fails: not claimed", []step{{fail: "Store", code: code, err: true}, {code: code, claimed: true}}},
		{"unlock fails: claimed all the same", []step{{fail: "Unlock", code: code, claimed: true, err: true}, {code: other}}},
		{"read fails, then works: the mark is there", []step{{code: code, claimed: true}, {fail: "Load", code: other, err: true}, {code: other}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFlakyStorage()
			u := testUsedStates(t, st)
			id := newStateID()
			for i, s := range tt.steps {
				st.failOn("Lock", 0, nil)
				st.failOn("Load", 0, nil)
				st.failOn("Store", 0, nil)
				st.failOn("Unlock", 0, nil)
				if s.fail != "" {
					st.failOn(s.fail, s.skip, errStorageDown)
				}
				claimed, rec, err := u.claim(t.Context(), id, exp, s.code, testNow.Add(s.at))
				if claimed != s.claimed || (err != nil) != s.err {
					t.Fatalf("step %d: claimed %v err %v, want %v and error %v", i, claimed, err, s.claimed, s.err)
				}
				if err != nil && !errors.Is(err, errStorageDown) {
					t.Errorf("step %d: %v does not wrap the storage's error", i, err)
				}
				if !claimed && err == nil && rec.repeatOf(s.code, testNow.Add(s.at)) != s.repeat {
					t.Errorf("step %d: repeat %v, want %v", i, !s.repeat, s.repeat)
				}
			}
			if held := st.held.Load(); held != 0 {
				t.Errorf("%d locks left held", held)
			}
		})
	}
}

// A hanging storage fails the claim within storageTimeout.
func TestUsedStatesClaimTimesOut(t *testing.T) {
	u := testUsedStates(t, hangingStorage{newMemStorage()})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond) // storageTimeout itself in production
	defer cancel()
	claimed, _, err := u.claim(ctx, newStateID(), testNow.Add(stateTTL), digestCode("c"), testNow)
	if claimed || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("claimed %v err %v", claimed, err)
	}
}

// Instances claiming one state at the same moment: exactly one claims it,
// and every other finds its record.
func TestUsedStatesClaimRace(t *testing.T) {
	st := newMemStorage()
	id, exp := newStateID(), testNow.Add(stateTTL)
	var wins, repeats atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		u := testUsedStates(t, st) // one per instance
		wg.Go(func() {
			claimed, rec, err := u.claim(t.Context(), id, exp, digestCode("c"), testNow)
			switch {
			case err != nil:
				t.Error(err)
			case claimed:
				wins.Add(1)
			case rec.repeatOf(digestCode("c"), testNow):
				repeats.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || repeats.Load() != 15 {
		t.Errorf("%d claims, %d found the record; want 1 and 15", wins.Load(), repeats.Load())
	}
	if st.maxHeld.Load() != 1 {
		t.Errorf("the lock was held %d times at once", st.maxHeld.Load())
	}
}

func TestUsedStatesAnswer(t *testing.T) {
	st := newFlakyStorage()
	u := testUsedStates(t, st)
	id, exp := newStateID(), testNow.Add(stateTTL)
	_, rec, err := u.claim(t.Context(), id, exp, digestCode("code-secret-canary"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	// no answer yet: await gives up at its deadline
	if _, err := u.await(t.Context(), id, exp, 20*time.Millisecond); !errors.Is(err, errNoAnswer) {
		t.Errorf("await without an answer: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := u.await(ctx, id, exp, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("await after the context ended: %v", err)
	}
	// the answer, written while another instance waits
	session := testSealer(t, testAppID).seal(purposeSession, encodeSession(session{Expires: testNow.Add(time.Hour), OpenID: testOpenID, UnionID: testUnion}))
	want := answer{Status: http.StatusFound, Session: session, Expires: testNow.Add(time.Hour).Unix(), Location: "/pay?order=<&>\"'"}
	var got answer
	var werr error
	var wg sync.WaitGroup
	wg.Go(func() { got, werr = u.await(t.Context(), id, exp, 10*time.Second) })
	time.Sleep(10 * time.Millisecond)
	if err := u.finish(t.Context(), id, exp, rec, want); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if werr != nil || got != want {
		t.Errorf("await: %+v %v, want %+v", got, werr, want)
	}
	// what the storage holds is sealed: no id, code, session or target in clear
	keys := st.keys()
	if len(keys) != 1 || keys[0] != u.key(id, exp) || !strings.HasPrefix(keys[0], "wechat_oauth/"+testAppID+"/used_states/") {
		t.Fatalf("storage keys %v", keys)
	}
	raw, _ := st.memStorage.Load(t.Context(), keys[0])
	for _, s := range []string{testOpenID, testUnion, "code-secret-canary", session, "/pay", `"status"`} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the stored record shows %q", s)
		}
	}
	// a record that does not open, or is another state's, is no record
	other := newStateID()
	if err := st.memStorage.Store(t.Context(), u.key(other, exp), raw); err != nil {
		t.Fatal(err)
	}
	if claimed, rec, err := u.claim(t.Context(), other, exp, digestCode("code-secret-canary"), testNow); claimed || err != nil || rec.ID != "" {
		t.Errorf("a record moved from another state: claimed %v, %+v, %v", claimed, rec, err)
	}
	if _, err := u.await(t.Context(), other, exp, 10*time.Millisecond); !errors.Is(err, errNoAnswer) {
		t.Errorf("await on a moved record: %v", err)
	}
	// reading fails while waiting: the storage's error, at the deadline
	st.failOn("Load", 0, errStorageDown)
	if _, err := u.await(t.Context(), newStateID(), exp, 10*time.Millisecond); !errors.Is(err, errStorageDown) {
		t.Errorf("await with the storage down: %v", err)
	}
}

// A return target at its longest, in characters JSON escapes, still makes
// a record that opens.
func TestUsedStatesLongAnswer(t *testing.T) {
	u := testUsedStates(t, newMemStorage())
	id, exp := newStateID(), testNow.Add(stateTTL)
	_, rec, _ := u.claim(t.Context(), id, exp, digestCode("c"), testNow)
	want := answer{Status: http.StatusFound, Location: "/" + strings.Repeat("<", maxReturn-1)}
	if err := u.finish(t.Context(), id, exp, rec, want); err != nil {
		t.Fatal(err)
	}
	if got, err := u.await(t.Context(), id, exp, time.Millisecond); err != nil || got != want {
		t.Errorf("await: %v", err)
	}
}

// Records are pruned by bucket once their states have expired and the
// slack has passed, on a storage whose Delete takes a directory's keys
// (file system) and on one whose Delete does not (Redis).
func TestUsedStatesPrune(t *testing.T) {
	for _, flat := range []bool{false, true} {
		t.Run(map[bool]string{false: "file system", true: "redis"}[flat], func(t *testing.T) {
			st := newFlakyStorage()
			st.flat = flat
			u := testUsedStates(t, st)
			old := testNow.Add(-pruneSlack - bucketSpan)
			kept := []time.Time{testNow.Add(stateTTL), testNow.Add(-pruneSlack)} // live; expired within the slack
			for _, exp := range append([]time.Time{old, old}, kept...) {
				if claimed, _, err := u.claim(t.Context(), newStateID(), exp, digestCode("c"), testNow); !claimed || err != nil {
					t.Fatal(claimed, err)
				}
			}
			// not a bucket: left alone
			if err := st.memStorage.Store(t.Context(), u.dir+"/README", []byte("x")); err != nil {
				t.Fatal(err)
			}
			if err := u.prune(t.Context(), testNow); err != nil {
				t.Fatal(err)
			}
			left := strings.Join(st.keys(), " ")
			if strings.Contains(left, "/"+bucketOfTest(old)+"/") || !strings.Contains(left, u.dir+"/README") ||
				!strings.Contains(left, "/"+bucketOfTest(kept[0])+"/") || !strings.Contains(left, "/"+bucketOfTest(kept[1])+"/") || len(st.keys()) != 3 {
				t.Errorf("left after pruning: %v", left)
			}
			// nothing to prune, or nothing stored yet: no error
			if err := u.prune(t.Context(), testNow); err != nil {
				t.Error(err)
			}
			if err := testUsedStates(t, newMemStorage()).prune(t.Context(), testNow); err != nil {
				t.Errorf("pruning an empty storage: %v", err)
			}
		})
	}
}

func bucketOfTest(exp time.Time) string {
	return strings.Split(strings.TrimPrefix((&usedStates{}).key(stateID{}, exp), "/"), "/")[0]
}

func TestUsedStatesPruneFailures(t *testing.T) {
	for _, method := range []string{"List", "Delete"} {
		t.Run(method, func(t *testing.T) {
			st := newFlakyStorage()
			u := testUsedStates(t, st)
			for range 2 {
				u.claim(t.Context(), newStateID(), testNow.Add(-time.Hour), digestCode("c"), testNow)
			}
			st.failOn(method, 0, errStorageDown)
			if err := u.prune(t.Context(), testNow); !errors.Is(err, errStorageDown) {
				t.Errorf("prune: %v", err)
			}
			st.failOn(method, 0, nil)
			if err := u.prune(t.Context(), testNow); err != nil || len(st.keys()) != 0 {
				t.Errorf("prune once the storage is back: %v, left %v", err, st.keys())
			}
		})
	}
}

// A claim prunes in the background, once per pruneEvery.
func TestUsedStatesPrunesInBackground(t *testing.T) {
	st := newFlakyStorage()
	u := testUsedStates(t, st)
	u.claim(t.Context(), newStateID(), testNow.Add(-time.Hour), digestCode("c"), testNow)
	u.pruning.Wait()
	if len(st.keys()) != 1 {
		t.Fatalf("pruned within pruneEvery of the last: %v", st.keys())
	}
	now := testNow.Add(pruneEvery)
	u.claim(t.Context(), newStateID(), now.Add(stateTTL), digestCode("c"), now)
	u.pruning.Wait()
	if keys := st.keys(); len(keys) != 1 || strings.Contains(keys[0], "/"+bucketOfTest(testNow.Add(-time.Hour))+"/") {
		t.Errorf("after pruneEvery: %v", keys)
	}
	lists := st.calls["List"]
	u.claim(t.Context(), newStateID(), now.Add(stateTTL), digestCode("c"), now.Add(pruneEvery-time.Second))
	u.pruning.Wait()
	if lists == 0 || st.calls["List"] != lists {
		t.Errorf("%d listings, then %d: want some, then no more within pruneEvery", lists, st.calls["List"])
	}
}

// The handler with a storage that fails: the callback is refused (fail
// closed) when the state cannot be marked, with one log line above debug;
// a sign-in that has been marked goes through when only what follows
// fails.
func TestCallbackStorageFailures(t *testing.T) {
	tests := []struct {
		name   string
		method string
		skip   int
		status int
		body   string
		calls  int    // code exchanges
		level  string // of the first log line about it
	}{
		{"lock fails", "Lock", 0, http.StatusServiceUnavailable, msgStorage, 0, "error"},
		{"read fails", "Load", 0, http.StatusServiceUnavailable, msgStorage, 0, "error"},
		{"marking fails", "Store", 0, http.StatusServiceUnavailable, msgStorage, 0, "error"},
		{"unlock fails", "Unlock", 0, http.StatusFound, "", 1, "warn"},
		{"recording the answer fails", "Store", 1, http.StatusFound, "", 1, "warn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFlakyStorage()
			f := newFixture(t, func(h *Handler) { h.storage = st })
			var statuses []int
			for range 2 {
				at := f.start(t, "/p")
				st.failOn(tt.method, tt.skip, errStorageDown)
				rec := f.callback(t, at, "code-base", true)
				st.failOn(tt.method, 0, nil)
				statuses = append(statuses, rec.Code)
				if rec.Code != tt.status || (tt.body != "" && rec.Body.String() != tt.body) {
					t.Fatalf("callback: %d %q, want %d %q", rec.Code, rec.Body.String(), tt.status, tt.body)
				}
				if (cookie(rec, "__Host-wechat_oauth") != nil) != (tt.status == http.StatusFound) {
					t.Errorf("session cookie %v with %d", cookie(rec, "__Host-wechat_oauth"), rec.Code)
				}
			}
			if n := f.wechat.calls(); n != 2*tt.calls {
				t.Errorf("%d code exchanges, want %d", n, 2*tt.calls)
			}
			var above []string
			for _, e := range f.logs.All() {
				if strings.Contains(e.Message, "storage") && e.Level.String() != "debug" {
					above = append(above, e.Level.String())
				}
			}
			if len(above) != 1 || above[0] != tt.level {
				t.Errorf("logged above debug: %v, want one %s", above, tt.level)
			}
			if strings.Contains(allLogs(f.logs), "code-base") {
				t.Error("the logs show the code")
			}
		})
	}
}

// The record of a sign-in could not be written: a repeat on another
// instance waits for it, then is refused; the state stays used.
func TestRepeatWhenAnswerNotRecorded(t *testing.T) {
	st := newFlakyStorage()
	a := newFixture(t, func(h *Handler) { h.storage = st })
	b := a.peer(t)
	at := a.start(t, "/p")
	st.failOn("Store", 1, errStorageDown)
	if rec := a.callback(t, at, "code-base", true); rec.Code != http.StatusFound {
		t.Fatalf("first: %d", rec.Code)
	}
	st.failOn("Store", 0, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond) // the browser gives up first
	defer cancel()
	if rec := b.callbackCtx(t, ctx, at, "code-base", true); rec.Code != http.StatusBadRequest || rec.Body.String() != msgState {
		t.Errorf("repeat: %d %q", rec.Code, rec.Body.String())
	}
	if n := a.wechat.calls(); n != 1 {
		t.Errorf("%d code exchanges, want 1", n)
	}
}
