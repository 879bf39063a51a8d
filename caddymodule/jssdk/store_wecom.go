package jssdk

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/credential"
	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// This file wires a WeCom app's credentials to Caddy the way store.go
// wires an Official Account's: one pooled credential.WeCom per app (its
// token and its two ticket stores), shared by every site and every reload,
// with Caddy's storage as its L2, attached and detached by the configs.

// weComStores holds one credential.WeCom per WeCom app for the process; a
// pool of its own, so that the Official Account code that ranges over
// stores never meets a WeCom entry.
var weComStores = caddy.NewUsagePool()

// weComKeyMarker starts the pool key of a WeCom app, so that a key says
// which pool it belongs to (Cleanup) and can never equal an Official
// Account's, whatever the IDs.
const weComKeyMarker = "wecom|"

func isWeComKey(key string) bool { return strings.HasPrefix(key, weComKeyMarker) }

type weComParams struct {
	corpID, agentID string
	secret          string
	apiBase         string
	// corpBudget and agentBudget are the hourly ticket budgets; 0 means the
	// credential library's defaults.
	corpBudget, agentBudget int
	timeout                 time.Duration
	logger                  *zap.Logger
	// storage is the L2 this config brings; nil for none.
	storage certmagic.Storage
}

// key identifies what makes two WeCom stores interchangeable: the app, the
// API origin, the secret (as a hash: pool keys can end up in debug output)
// and the budgets, which a store is built with — a reload that changes a
// budget gets a store with the new one.
func (p weComParams) key() string {
	sum := sha256.Sum256([]byte("wechat_jssdk WeCom pool\x00" + p.corpID + "\x00" + p.agentID + "\x00" + p.secret))
	return weComKeyMarker + p.corpID + "|" + p.agentID + "|" + p.apiBase + "|" + hex.EncodeToString(sum[:8]) +
		"|" + strconv.Itoa(p.corpBudget) + "/" + strconv.Itoa(p.agentBudget)
}

// weComEntry is a pooled WeCom app with what the admin API and the metrics
// say about it. The usage pool closes it when its last user goes.
type weComEntry struct {
	wecom   *credential.WeCom
	corpID  string
	agentID string
	// shared is the L2 the configs attach their storage to; nil when the
	// entry was created without one.
	shared *sharedStorage
}

// Destruct implements caddy.Destructor.
func (e *weComEntry) Destruct() error {
	e.wecom.Close()
	return nil
}

// label is the app's metrics label: corp ID and agent ID.
func (e *weComEntry) label() string { return e.corpID + "/" + e.agentID }

// acquireWeCom returns the app's stores, creating them on first use, and
// attaches the config's storage. The caller releases both with
// releaseWeCom(key, detach).
func acquireWeCom(p weComParams) (*weComEntry, string, func(), error) {
	key := p.key()
	v, _, err := weComStores.LoadOrNew(key, func() (caddy.Destructor, error) {
		return newWeComEntry(p)
	})
	if err != nil {
		return nil, "", nil, err
	}
	e := v.(*weComEntry)
	detach := func() {}
	if e.shared != nil && p.storage != nil {
		detach = e.shared.attach(p.storage)
	}
	return e, key, detach, nil
}

// releaseWeCom undoes acquireWeCom.
func releaseWeCom(key string, detach func()) error {
	if detach != nil {
		detach()
	}
	_, err := weComStores.Delete(key)
	return err
}

func newWeComEntry(p weComParams) (*weComEntry, error) {
	app := &wechat.WeComApp{
		Client:  &wechat.Client{BaseURL: p.apiBase, HTTP: &http.Client{Timeout: p.timeout}},
		CorpID:  p.corpID,
		AgentID: p.agentID,
		Secret:  p.secret,
	}
	e := &weComEntry{corpID: p.corpID, agentID: p.agentID}
	cfg := credential.WeComConfig{
		Source:            app,
		Logger:            p.logger.With(zap.String("corp_id", p.corpID), zap.String("agent_id", p.agentID)),
		FetchTimeout:      p.timeout,
		CorpTicketBudget:  p.corpBudget,
		AgentTicketBudget: p.agentBudget,
	}
	if p.storage != nil {
		e.shared = newSharedStorage()
		cfg.Shared = e.shared
		cfg.SharedPrefix, cfg.CorpSharedPrefix = weComSharedPrefix(p), weComCorpSharedPrefix(p)
	}
	w, err := credential.NewWeCom(cfg)
	if err != nil {
		return nil, err
	}
	e.wecom = w
	return e, nil
}

// liveWeComs returns the WeCom apps in use, for the admin API and metrics.
func liveWeComs() []*weComEntry {
	var out []*weComEntry
	weComStores.Range(func(_, v any) bool {
		if e, ok := v.(*weComEntry); ok {
			out = append(out, e)
		}
		return true
	})
	return out
}

// weComFingerprint is a truncated SHA-256 of parts with a fixed prefix, as
// sharedPrefix makes for an Official Account: 48 bits, from which a secret
// cannot be recovered.
func weComFingerprint(parts ...string) string {
	h := sha256.New()
	for _, part := range append([]string{"wechat_jssdk WeCom L2 v1"}, parts...) {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// weComSharedPrefix is where the app's own records live (its token and its
// agent_config ticket): wechat_jssdk/<corp_id>/<agent_id>/<fingerprint of
// api_base and secret>, so that instances share exactly when they hold the
// same app's credential: a staging instance pointed at a mock API, or one
// with a wrong secret, neither uses nor spoils production's.
func weComSharedPrefix(p weComParams) string {
	return sharedKeyRoot + "/" + p.corpID + "/" + p.agentID + "/" + weComFingerprint(p.apiBase, p.secret)
}

// weComCorpSharedPrefix is where the corp's jsapi_ticket lives:
// wechat_jssdk/<corp_id>/corp/<fingerprint of api_base>. The ticket is the
// corp's, whichever app's token fetched it, so the corp's apps share it
// (no secret in the fingerprint: each app has its own). "corp" cannot be an
// agent ID, which is digits.
func weComCorpSharedPrefix(p weComParams) string {
	return sharedKeyRoot + "/" + p.corpID + "/corp/" + weComFingerprint(p.apiBase)
}
