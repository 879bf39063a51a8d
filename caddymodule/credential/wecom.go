package credential

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// WeComSource fetches a WeCom app's credentials: the app's access token and
// the two tickets fetched with it. *wechat.WeComApp is one. Its errors must
// not contain the secret or a credential.
type WeComSource interface {
	// AccessToken fetches the app's token (gettoken).
	AccessToken(ctx context.Context) (wechat.Credential, error)
	// CorpTicket fetches the corp jsapi_ticket, which signs wx.config.
	CorpTicket(ctx context.Context, accessToken string) (wechat.Credential, error)
	// AgentTicket fetches the app's jsapi_ticket (type=agent_config), which
	// signs wx.agentConfig.
	AgentTicket(ctx context.Context, accessToken string) (wechat.Credential, error)
}

var _ WeComSource = (*wechat.WeComApp)(nil)

// Default hourly ticket budgets of a WeCom app's stores (see WeComConfig).
// WeCom allows about 400 corp-ticket calls an hour per corp, of which at
// most 100 per app, and 100 agent-ticket calls an hour per app; a healthy
// store makes about one call per ticket every 80 minutes.
const (
	// DefaultCorpTicketBudget is a fifth of the per-app limit on the corp
	// ticket, and a twentieth of the corp's: five instances of this app
	// that each use up their budget stay at the app's limit, and the
	// corp's other apps (and other software of the corp) keep the rest.
	DefaultCorpTicketBudget = 20
	// DefaultAgentTicketBudget is under a third of the app's own limit,
	// which no other app shares: three instances that each use it up stay
	// under the limit.
	DefaultAgentTicketBudget = 30
)

// L2 record names of a WeCom app, under WeComConfig's prefixes. They are
// not the Official Account's ("token", "ticket"), so that no store can read
// the other kind's record.
const (
	weComTokenName       = "wecom_token"
	weComAgentTicketName = "wecom_agent_ticket"
	weComCorpTicketName  = "wecom_corp_ticket"
)

// WeComConfig configures the stores of one WeCom app.
type WeComConfig struct {
	// Source is where the app's credentials come from. Required.
	Source WeComSource
	// Now, Logger and FetchTimeout are as in Config. Each store's lines
	// carry a "ticket" field: "corp" or "agent".
	Now          func() time.Time
	Logger       *zap.Logger
	FetchTimeout time.Duration

	// Shared, when set, is the L2 the app's instances share (see Config).
	Shared Shared
	// SharedPrefix names the app's records in Shared: the token
	// (SharedPrefix+"/wecom_token") and the agent ticket
	// (SharedPrefix+"/wecom_agent_ticket"), each with its lock (the name
	// plus "_refresh"). It must identify the app: corp, agent and secret.
	// Required with Shared.
	SharedPrefix string
	// CorpSharedPrefix names the corp ticket's record and lock
	// (CorpSharedPrefix+"/wecom_corp_ticket"). The corp ticket belongs to
	// the corp, not the app: a prefix naming the corp alone lets the
	// corp's apps share it. Empty means SharedPrefix.
	CorpSharedPrefix string
	// LockWait is as in Config, for each of the three locks.
	LockWait time.Duration

	// CorpTicketBudget and AgentTicketBudget are the most corp-ticket and
	// agent-ticket calls the stores make in any hour (Config.TicketBudget);
	// zero means DefaultCorpTicketBudget and DefaultAgentTicketBudget.
	// There is no unlimited setting: WeCom's own limits are hourly and
	// shared with the rest of the corp.
	CorpTicketBudget  int
	AgentTicketBudget int
}

// WeCom holds the credentials of one WeCom app: one access token and the
// two tickets fetched with it, each ticket in a Store of its own with its
// own cache entry, L2 record, lock, refresh, backoff, suspect refetch and
// budget, the token shared by both (see the package documentation).
type WeCom struct {
	// Corp is the store of the corp jsapi_ticket, for wx.config.
	Corp *Store
	// Agent is the store of the app's agent_config ticket, for
	// wx.agentConfig.
	Agent *Store

	token     *tokenHolder
	closeOnce sync.Once
}

// NewWeCom returns the stores of a WeCom app. Nothing is fetched until a
// ticket is asked for.
func NewWeCom(cfg WeComConfig) (*WeCom, error) {
	if cfg.Source == nil {
		return nil, errors.New("credential: WeComConfig.Source is nil")
	}
	if cfg.Shared != nil && cfg.SharedPrefix == "" {
		return nil, errors.New("credential: WeComConfig.SharedPrefix is empty")
	}
	if cfg.CorpTicketBudget < 0 || cfg.AgentTicketBudget < 0 {
		return nil, errors.New("credential: a WeComConfig ticket budget is negative")
	}
	if cfg.FetchTimeout < 0 {
		return nil, errors.New("credential: WeComConfig.FetchTimeout is negative")
	}
	if cfg.LockWait < 0 {
		return nil, errors.New("credential: WeComConfig.LockWait is negative")
	}
	now, log, timeout, wait := cfg.Now, cfg.Logger, cfg.FetchTimeout, cfg.LockWait
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	if timeout == 0 {
		timeout = DefaultFetchTimeout
	}
	if wait == 0 {
		wait = DefaultLockWait
	}
	corpBudget, agentBudget := cfg.CorpTicketBudget, cfg.AgentTicketBudget
	if corpBudget == 0 {
		corpBudget = DefaultCorpTicketBudget
	}
	if agentBudget == 0 {
		agentBudget = DefaultAgentTicketBudget
	}
	appPrefix, corpPrefix := cfg.SharedPrefix, cfg.CorpSharedPrefix
	if corpPrefix == "" {
		corpPrefix = appPrefix
	}

	h := newTokenHolder(cfg.Source.AccessToken, now, log.With(zap.String("credential", "access_token")), timeout)
	if cfg.Shared != nil {
		h.shared = newSharedL2(cfg.Shared, sharedKeys{
			token: appPrefix + "/" + weComTokenName,
			lock:  appPrefix + "/" + weComTokenName + "_refresh",
		}, wait, h.ctx, timeout, h.log, now)
	}
	newKind := func(kind, prefix, name string, budget int, fetch func(context.Context, string) (wechat.Credential, error)) (*Store, error) {
		return newStore(Config{
			Source:       weComTicketSource(fetch),
			Now:          now,
			Logger:       log.With(zap.String("ticket", kind)),
			FetchTimeout: timeout,
			Shared:       cfg.Shared,
			SharedPrefix: prefix,
			LockWait:     wait,
			TicketBudget: budget,
		}, storeOptions{
			keys:  sharedKeys{ticket: prefix + "/" + name, lock: prefix + "/" + name + "_refresh"},
			token: h,
		})
	}
	corp, err := newKind("corp", corpPrefix, weComCorpTicketName, corpBudget, cfg.Source.CorpTicket)
	if err != nil {
		h.close()
		return nil, err
	}
	agent, err := newKind("agent", appPrefix, weComAgentTicketName, agentBudget, cfg.Source.AgentTicket)
	if err != nil {
		corp.Close()
		h.close()
		return nil, err
	}
	return &WeCom{Corp: corp, Agent: agent, token: h}, nil
}

// Close closes both stores and the token; see Store.Close. It must not
// race with Ticket calls still in progress. It is idempotent.
func (w *WeCom) Close() {
	w.closeOnce.Do(func() {
		// The stores first: their flights stop waiting for the token as
		// their context ends, and end without logging a failure.
		w.Corp.Close()
		w.Agent.Close()
		w.token.close()
	})
}

// AccessToken returns the app's access token, for the other WeCom APIs the
// app calls with it (getuserinfo): the one the tickets use, fetched only
// when none is held, one fetch however many callers. rejected, when not
// empty, is a token such a call was just refused with (errcode 40001, 40014
// or 42001): it is not handed out again, and one fetch replaces it for
// every caller and both tickets. Errors wrap ErrUnavailable and the cause;
// a failed fetch is answered from memory for a moment (1 s when transient,
// 5 min for a configuration error) instead of calling again.
func (w *WeCom) AccessToken(ctx context.Context, rejected string) (string, error) {
	e, err := w.token.get(ctx, rejected, false)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			return "", err
		}
		return "", joinUnavailable(err)
	}
	return e.value, nil
}

// TokenStats counts the calls of a WeCom app's shared access token. Its
// stores' Stats count only their own ticket calls.
type TokenStats struct {
	// Fetches counts gettoken calls made upstream, failed or not.
	Fetches uint64
	// Calls counts them by result, as Stats.TokenCalls; every class has a
	// key.
	Calls map[wechat.Class]uint64
	// Failures counts the failed ones by class; every class but ClassOK
	// has a key.
	Failures map[wechat.Class]uint64
	// ExpiresAt is when the last token held expires, on the store's clock;
	// zero before the first.
	ExpiresAt time.Time
	// Shared holds the counters of the token's L2 record and lock; nil
	// without an L2.
	Shared *SharedStats
}

// TokenStats returns the counts of the app's token.
func (w *WeCom) TokenStats() TokenStats {
	h := w.token
	st := TokenStats{
		Fetches:   h.fetches.Load(),
		Calls:     make(map[wechat.Class]uint64),
		Failures:  make(map[wechat.Class]uint64),
		ExpiresAt: h.expiresAt(),
	}
	for _, class := range wechat.Classes() {
		st.Calls[class] = h.calls[classIndex(class)].Load()
		if class != wechat.ClassOK {
			st.Failures[class] = h.failures[classIndex(class)].Load()
		}
	}
	if h.shared != nil {
		st.Shared = h.shared.stats()
	}
	return st
}

// weComTicketSource is the Source of one WeCom ticket store: tickets from
// fetch; never a token, which the store takes from its holder.
type weComTicketSource func(ctx context.Context, accessToken string) (wechat.Credential, error)

// errNoOwnToken would be the answer if a store with a token holder ever
// asked its Source for a token; none does.
var errNoOwnToken = errors.New("credential: a WeCom ticket store takes its token from the app's holder")

func (f weComTicketSource) AccessToken(context.Context, bool) (wechat.Credential, error) {
	return wechat.Credential{}, errNoOwnToken
}

func (f weComTicketSource) Ticket(ctx context.Context, accessToken string) (wechat.Credential, error) {
	return f(ctx, accessToken)
}

// CanForce implements Forcer: gettoken has no force, and the stores never
// ask for one.
func (f weComTicketSource) CanForce() bool { return false }
