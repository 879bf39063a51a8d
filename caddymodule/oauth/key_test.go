package oauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/certmagic"
)

func TestKeyCreatedOnceUnderLock(t *testing.T) {
	shared := newMemStorage()
	const n = 8
	keys := make([][]byte, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], created[i], errs[i] = loadOrCreateKey(t.Context(), shared, testAppID) })
	}
	wg.Wait()
	creators := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if created[i] {
			creators++
		}
		if !bytes.Equal(keys[i], keys[0]) || len(keys[i]) != keySize {
			t.Fatalf("instances got different keys")
		}
	}
	if creators != 1 {
		t.Errorf("%d instances created the key, want 1", creators)
	}
	if shared.maxHeld.Load() != 1 {
		t.Errorf("the lock was held %d times at once", shared.maxHeld.Load())
	}
}

func TestKeyInFileStorage(t *testing.T) {
	dir := t.TempDir()
	key, created, err := loadOrCreateKey(t.Context(), &certmagic.FileStorage{Path: dir}, testAppID)
	if err != nil || !created {
		t.Fatalf("created %v err %v", created, err)
	}
	// another process: another storage value on the same directory
	again, created, err := loadOrCreateKey(t.Context(), &certmagic.FileStorage{Path: dir}, testAppID)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("second instance: created %v err %v, same key %v", created, err, bytes.Equal(again, key))
	}
	stored, err := (&certmagic.FileStorage{Path: dir}).Load(t.Context(), "wechat_oauth/"+testAppID+"/cookie_key")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(stored))); !bytes.Equal(got, key) {
		t.Error("the stored key is not the key in use, in base64")
	}
	// per app
	other, _, err := loadOrCreateKey(t.Context(), &certmagic.FileStorage{Path: dir}, "wx1")
	if err != nil || bytes.Equal(other, key) {
		t.Errorf("another app shares the key (err %v)", err)
	}
}

func TestKeyWrittenByOperator(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	want := bytes.Repeat([]byte{7}, keySize)
	if err := st.Store(t.Context(), keyStorageKey(testAppID), []byte(" "+base64.StdEncoding.EncodeToString(want)+"\r\n")); err != nil {
		t.Fatal(err)
	}
	got, created, err := loadOrCreateKey(t.Context(), st, testAppID)
	if err != nil || created || !bytes.Equal(got, want) {
		t.Errorf("got %x created %v err %v", got, created, err)
	}
}

func TestBadStoredKeyRefused(t *testing.T) {
	for name, stored := range map[string]string{
		"short":      base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"long":       base64.StdEncoding.EncodeToString(make([]byte, 33)),
		"not base64": strings.Repeat("!", 44),
		"raw bytes":  string(bytes.Repeat([]byte{0xff}, keySize)),
	} {
		t.Run(name, func(t *testing.T) {
			st := &certmagic.FileStorage{Path: t.TempDir()}
			if err := st.Store(t.Context(), keyStorageKey(testAppID), []byte(stored)); err != nil {
				t.Fatal(err)
			}
			h := &Handler{AppID: testAppID, AppSecret: testSecret, storage: st}
			err := provision(t, h)
			if err == nil || !strings.Contains(err.Error(), "wechat_oauth/"+testAppID+"/cookie_key") {
				t.Fatalf("Provision: %v, want an error naming the storage key", err)
			}
			if strings.Contains(err.Error(), stored) {
				t.Error("the error quotes the stored value")
			}
			// and it was left alone, not replaced
			if b, _ := st.Load(t.Context(), keyStorageKey(testAppID)); string(b) != stored {
				t.Error("the bad key was replaced")
			}
		})
	}
}

// failingStorage fails every call with err.
type failingStorage struct {
	certmagic.Storage
	err error
}

func (f failingStorage) Load(context.Context, string) ([]byte, error) { return nil, f.err }
func (f failingStorage) Lock(context.Context, string) error           { return f.err }

func TestStorageErrors(t *testing.T) {
	for name, st := range map[string]certmagic.Storage{
		"load fails": failingStorage{err: errors.New("redis: connection refused")},
		"lock fails": failingStorage{err: fs.ErrNotExist},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := loadOrCreateKey(t.Context(), st, testAppID)
			if err == nil || !strings.Contains(err.Error(), "wechat_oauth: ") {
				t.Errorf("err = %v", err)
			}
		})
	}
	if err := provision(t, &Handler{AppID: testAppID, AppSecret: testSecret}); err == nil || !strings.Contains(err.Error(), "storage") {
		t.Errorf("Provision without any storage: %v", err)
	}
}

// Instances sharing the storage accept each other's cookies, and a new
// handler (a restart, a reload) keeps the sessions.
func TestSessionsSurviveAcrossInstances(t *testing.T) {
	a := newFixture(t, nil)
	session, _ := a.signIn(t, "/", "code-union", true)
	b := newFixture(t, func(h *Handler) { h.storage = a.storage })
	_, next := b.do(t, request{target: "/", ua: wechatUA, https: true, cookies: []*http.Cookie{session}})
	if !next.called || next.header.Get("X-WeChat-OpenID") != testOpenID || next.header.Get("X-WeChat-UnionID") != testUnion {
		t.Errorf("the other instance: passed %v, headers %v", next.called, next.header)
	}
	// and the other way round: a sign-in started on b completes on a
	start, _ := b.do(t, request{target: "/back", ua: wechatUA, https: true})
	cb, _ := a.do(t, request{target: DefaultCallbackPath + "?code=code-base&state=" + stateParam(t, start.Header().Get("Location")),
		https: true, cookies: []*http.Cookie{cookie(start, "__Host-wechat_oauth_state")}})
	if cb.Code != http.StatusFound || cb.Header().Get("Location") != "/back" {
		t.Errorf("callback on the other instance: %d %q", cb.Code, cb.Header().Get("Location"))
	}
}

// memStorage is an in-memory storage whose Lock is a real mutual
// exclusion, without the file storage's one-second polling. It counts how
// many holders a lock had at once.
type memStorage struct {
	certmagic.Storage
	mu      sync.Mutex
	data    map[string][]byte
	locks   map[string]chan struct{}
	held    atomic.Int32
	maxHeld atomic.Int32
	flat    bool // Delete as Redis does (usedstates_test.go)
}

func newMemStorage() *memStorage {
	return &memStorage{data: map[string][]byte{}, locks: map[string]chan struct{}{}}
}

func (m *memStorage) Load(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.data[key]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return bytes.Clone(v), nil
}

func (m *memStorage) Store(_ context.Context, key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[key] = bytes.Clone(value)
	return nil
}

func (m *memStorage) lockChan(name string) chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.locks[name]
	if !ok {
		c = make(chan struct{}, 1)
		m.locks[name] = c
	}
	return c
}

func (m *memStorage) Lock(ctx context.Context, name string) error {
	select {
	case m.lockChan(name) <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	n := m.held.Add(1)
	for {
		old := m.maxHeld.Load()
		if n <= old || m.maxHeld.CompareAndSwap(old, n) {
			break
		}
	}
	return nil
}

func (m *memStorage) Unlock(_ context.Context, name string) error {
	m.held.Add(-1)
	<-m.lockChan(name)
	return nil
}
