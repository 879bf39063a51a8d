package jssdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/credential"
	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// This file wires the credential store to Caddy: one pooled store per app
// (shared by every site and every reload), Caddy's storage as its L2, and
// the bounded wait a page or the endpoint makes for a ticket.

// stores holds one credential store per WeChat app for the whole process.
// A reload provisions the new config before the old one is cleaned up, so
// the new handlers find the store the old ones filled and no token is
// fetched again: the token API has a daily quota, and a classic token call
// invalidates the token every other service of the app holds.
var stores = caddy.NewUsagePool()

type storeParams struct {
	appID   string
	secret  string
	apiBase string
	classic bool
	// serviceURL, when set, is the central token service (token_source
	// url); serviceHeader and serviceHeaderValue authenticate to it.
	serviceURL         string
	serviceHeader      string
	serviceHeaderValue string
	timeout            time.Duration
	logger             *zap.Logger
	// storage is the L2 this config brings; nil for none.
	storage certmagic.Storage
}

// source is the token source's name, as the admin API shows it.
func (p storeParams) source() string {
	switch {
	case p.serviceURL != "":
		return tokenSourceURL
	case p.classic:
		return tokenSourceClassic
	default:
		return tokenSourceStable
	}
}

// key identifies what makes two stores interchangeable. It carries a hash of
// the secrets, never the secrets: a changed secret must get a fresh store,
// and pool keys can end up in debug output.
func (p storeParams) key() string {
	sum := sha256.Sum256([]byte(p.appID + "\x00" + p.secret + "\x00" + p.serviceHeader + "\x00" + p.serviceHeaderValue))
	return p.appID + "|" + p.apiBase + "|" + p.source() + "|" + p.serviceURL + "|" + hex.EncodeToString(sum[:8])
}

// storeEntry is a pooled store with what the admin API and the metrics say
// about it. The usage pool closes the store when its last user goes.
type storeEntry struct {
	store  *credential.Store
	appID  string
	source string
	// tokenEndpoint labels the token calls in metrics: "stable_token",
	// "token" or "token_service".
	tokenEndpoint string
	// service is the token service's URL without query, for display.
	service string
	// shared is the L2 the configs attach their storage to; nil when the
	// store was created without one.
	shared *sharedStorage
}

// Destruct implements caddy.Destructor.
func (e *storeEntry) Destruct() error {
	e.store.Close()
	return nil
}

// acquireStore returns the app's store, creating it on first use, and
// attaches the config's storage to it. The caller releases both with
// releaseStore(key, detach).
func acquireStore(p storeParams) (*storeEntry, string, func(), error) {
	key := p.key()
	v, _, err := stores.LoadOrNew(key, func() (caddy.Destructor, error) {
		return newStoreEntry(p)
	})
	if err != nil {
		return nil, "", nil, err
	}
	e := v.(*storeEntry)
	detach := func() {}
	if e.shared != nil && p.storage != nil {
		detach = e.shared.attach(p.storage)
	}
	return e, key, detach, nil
}

// releaseStore undoes acquireStore.
func releaseStore(key string, detach func()) error {
	if detach != nil {
		detach()
	}
	_, err := stores.Delete(key)
	return err
}

func newStoreEntry(p storeParams) (*storeEntry, error) {
	client := &wechat.Client{
		BaseURL: p.apiBase,
		HTTP:    &http.Client{Timeout: p.timeout},
	}
	app := &wechat.App{Client: client, AppID: p.appID, Secret: p.secret, Classic: p.classic}
	e := &storeEntry{appID: p.appID, source: p.source(), tokenEndpoint: "stable_token"}
	switch {
	case p.serviceURL != "":
		app.Service = &wechat.TokenService{
			URL:         p.serviceURL,
			Header:      p.serviceHeader,
			HeaderValue: p.serviceHeaderValue,
			HTTP:        &http.Client{Timeout: p.timeout},
		}
		e.tokenEndpoint, e.service = "token_service", app.Service.Endpoint()
	case p.classic:
		e.tokenEndpoint = "token"
	}
	cfg := credential.Config{
		Source:       app,
		Logger:       p.logger.With(zap.String("app_id", p.appID)),
		FetchTimeout: p.timeout,
	}
	if p.storage != nil {
		e.shared = newSharedStorage()
		cfg.Shared, cfg.SharedPrefix = e.shared, sharedPrefix(p)
	}
	s, err := credential.New(cfg)
	if err != nil {
		return nil, err
	}
	e.store = s
	return e, nil
}

// liveStores returns the stores in use, for the admin API and the metrics.
func liveStores() []*storeEntry {
	var out []*storeEntry
	stores.Range(func(_, v any) bool {
		if e, ok := v.(*storeEntry); ok {
			out = append(out, e)
		}
		return true
	})
	return out
}

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
func directiveStorage(ctx caddy.Context, h *Handler) (certmagic.Storage, error) {
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

// tickets returns what a page is signed with: the jsapi_ticket, and in
// WeCom mode the agent_config ticket too (else ""), bounded by the
// configured timeout.
func (p *pageSigner) tickets(ctx context.Context) (ticket, agentTicket string, err error) {
	if p.agent == nil {
		ticket, err = p.ticket(ctx)
		return ticket, "", err
	}
	ticket, ok := p.store.Cached()
	agentTicket, agentOK := p.agent.Cached()
	if ok && agentOK {
		return ticket, agentTicket, nil
	}
	return p.weComTicketsSlow(ctx, ticket, ok, agentTicket, agentOK)
}

// weComTicketsSlow waits for the WeCom tickets not cached. When neither is,
// the two are waited for side by side: the stores share one token fetch,
// and neither ticket waits for the other's call. (A function of its own:
// the goroutine's closure would otherwise cost every page an allocation.)
func (p *pageSigner) weComTicketsSlow(ctx context.Context, ticket string, ok bool, agentTicket string, agentOK bool) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var err, agentErr error
	var done chan struct{}
	switch {
	case agentOK:
	case ok:
		agentTicket, agentErr = p.agent.Ticket(ctx)
	default:
		done = make(chan struct{})
		go func() {
			defer close(done)
			agentTicket, agentErr = p.agent.Ticket(ctx)
		}()
	}
	if !ok {
		ticket, err = p.store.Ticket(ctx)
	}
	if done != nil {
		<-done
	}
	switch {
	case err != nil:
		return "", "", &weComTicketError{what: weComCorpTicket, err: err}
	case agentErr != nil:
		return "", "", &weComTicketError{what: weComAgentTicket, err: agentErr}
	}
	return ticket, agentTicket, nil
}

// What a WeCom ticket is called in errors.
const (
	weComCorpTicket  = "the corp jsapi_ticket (wx.config)"
	weComAgentTicket = "the agent_config ticket (wx.agentConfig)"
)

// weComTicketError is a WeCom ticket that could not be had: which one,
// and the store's error.
type weComTicketError struct {
	what string
	err  error
}

func (e *weComTicketError) Error() string { return e.what + ": " + e.err.Error() }
func (e *weComTicketError) Unwrap() error { return e.err }

// ticket bounds the wait for WeChat by the configured timeout.
func (p *pageSigner) ticket(ctx context.Context) (string, error) {
	if t, ok := p.store.Cached(); ok {
		return t, nil // the common case, without a timer per page
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	return p.store.Ticket(ctx)
}

// resolveTokenHeader expands the token service header's placeholders. Its
// errors name the option, never the value.
func resolveTokenHeader(hd *TokenHeader) (name, value string, err error) {
	if hd == nil {
		return "", "", nil
	}
	v, err := caddy.NewReplacer().ReplaceOrErr(hd.Value, true, true)
	if err != nil {
		return "", "", fmt.Errorf("wechat_jssdk: token_header: %v", err)
	}
	v = strings.TrimSpace(v)
	if v == "" || strings.ContainsAny(v, "\r\n") {
		return "", "", errors.New("wechat_jssdk: token_header: the value resolves to an empty or multi-line string")
	}
	return hd.Name, v, nil
}
