package jssdk

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/credential"
	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

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
