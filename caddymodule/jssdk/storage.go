package jssdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"

	"github.com/caddy-wechat/jssdk/caddymodule/credential"
)

// sharedKeyRoot is the storage folder every app's credential lives under.
const sharedKeyRoot = "wechat_jssdk"

// sharedPrefix is where one credential store keeps its L2 records:
// wechat_jssdk/<app_id>/<namespace>. The namespace is a fingerprint of
// where the credential comes from (API origin, token service, secret), so
// that instances share exactly when they hold the same credential: a
// staging instance pointed at a mock API, or one with a wrong secret,
// neither uses nor spoils the production credential. The fingerprint is a
// truncated SHA-256 with a fixed prefix; a 32-character AppSecret cannot be
// recovered from 48 bits of it.
func sharedPrefix(p storeParams) string {
	h := sha256.New()
	for _, part := range []string{"wechat_jssdk L2 v1", p.appID, p.apiBase, p.serviceURL, p.secret, p.serviceHeaderValue} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return sharedKeyRoot + "/" + p.appID + "/" + hex.EncodeToString(h.Sum(nil)[:6])
}

// contextStorage returns the storage the config was loaded with (the
// `storage` global option, the file system by default), or nil for a
// context that has no config, as in unit tests.
func contextStorage(ctx caddy.Context) (st certmagic.Storage) {
	defer func() {
		if recover() != nil {
			st = nil
		}
	}()
	return ctx.Storage()
}

// directiveStorage loads the directive's own `storage` module, if any; it
// lives as long as the config that loaded it.
func (h *Handler) directiveStorage(ctx caddy.Context) (certmagic.Storage, error) {
	if h.StorageRaw == nil {
		return contextStorage(ctx), nil
	}
	mod, err := ctx.LoadModule(h, "StorageRaw")
	if err != nil {
		return nil, fmt.Errorf("wechat_jssdk: storage: %v", err)
	}
	conv, ok := mod.(caddy.StorageConverter)
	if !ok {
		return nil, fmt.Errorf("wechat_jssdk: storage: module %T is not a storage", mod)
	}
	st, err := conv.CertMagicStorage()
	if err != nil {
		return nil, fmt.Errorf("wechat_jssdk: storage: %v", err)
	}
	return st, nil
}

// errNoStorage is what the L2 answers when no config attaches a storage
// any more; the store then works alone.
var errNoStorage = errors.New("no storage attached")

// sharedStorage is the credential.Shared of one pooled store. The store
// outlives configs (a reload keeps it), while each config brings its own
// storage instance, so the configs attach their storage and detach it at
// cleanup, and the newest one still attached serves. A lock is released on
// the storage that took it.
type sharedStorage struct {
	mu       sync.Mutex
	attached []*attachment // oldest first
	held     map[string]certmagic.Storage
}

// attachment is one config's storage, compared by identity.
type attachment struct{ st certmagic.Storage }

func newSharedStorage() *sharedStorage {
	return &sharedStorage{held: make(map[string]certmagic.Storage)}
}

// attach makes st the storage in use until it is detached or another is
// attached.
func (s *sharedStorage) attach(st certmagic.Storage) (detach func()) {
	a := &attachment{st: st}
	s.mu.Lock()
	s.attached = append(s.attached, a)
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			for i, b := range s.attached {
				if b == a {
					s.attached = append(s.attached[:i], s.attached[i+1:]...)
					break
				}
			}
		})
	}
}

func (s *sharedStorage) current() (certmagic.Storage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.attached) == 0 {
		return nil, errNoStorage
	}
	return s.attached[len(s.attached)-1].st, nil
}

// kind names the storage in use for the admin API: its Go type, never its
// configuration, which may hold a password.
func (s *sharedStorage) kind() string {
	st, err := s.current()
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%T", st)
}

// Load implements credential.Shared.
func (s *sharedStorage) Load(ctx context.Context, key string) ([]byte, error) {
	st, err := s.current()
	if err != nil {
		return nil, err
	}
	return st.Load(ctx, key)
}

// Store implements credential.Shared.
func (s *sharedStorage) Store(ctx context.Context, key string, value []byte) error {
	st, err := s.current()
	if err != nil {
		return err
	}
	return st.Store(ctx, key, value)
}

// Lock implements credential.Shared.
func (s *sharedStorage) Lock(ctx context.Context, name string) error {
	st, err := s.current()
	if err != nil {
		return err
	}
	if err := st.Lock(ctx, name); err != nil {
		return err
	}
	s.mu.Lock()
	s.held[name] = st
	s.mu.Unlock()
	return nil
}

// Unlock implements credential.Shared.
func (s *sharedStorage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	st, ok := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("lock %q is not held", name)
	}
	return st.Unlock(ctx, name)
}

var _ credential.Shared = (*sharedStorage)(nil)
