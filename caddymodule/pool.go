package caddymodule

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
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
	timeout time.Duration
	logger  *zap.Logger
}

// key identifies what makes two stores interchangeable. It carries a hash of
// the secret, never the secret: a changed secret must get a fresh store, and
// pool keys can end up in debug output.
func (p storeParams) key() string {
	sum := sha256.Sum256([]byte(p.appID + "\x00" + p.secret))
	src := tokenSourceStable
	if p.classic {
		src = tokenSourceClassic
	}
	return p.appID + "|" + p.apiBase + "|" + src + "|" + hex.EncodeToString(sum[:8])
}

// storeEntry lets the usage pool close the store when its last user goes.
type storeEntry struct{ store *credential.Store }

// Destruct implements caddy.Destructor.
func (e storeEntry) Destruct() error {
	e.store.Close()
	return nil
}

func acquireStore(p storeParams) (*credential.Store, string, error) {
	key := p.key()
	v, _, err := stores.LoadOrNew(key, func() (caddy.Destructor, error) {
		client := &wechat.Client{
			BaseURL: p.apiBase,
			HTTP:    &http.Client{Timeout: p.timeout},
		}
		s, err := credential.New(credential.Config{
			Source:       &wechat.App{Client: client, AppID: p.appID, Secret: p.secret, Classic: p.classic},
			Logger:       p.logger.With(zap.String("app_id", p.appID)),
			FetchTimeout: p.timeout,
		})
		if err != nil {
			return nil, err
		}
		return storeEntry{store: s}, nil
	})
	if err != nil {
		return nil, "", err
	}
	return v.(storeEntry).store, key, nil
}
