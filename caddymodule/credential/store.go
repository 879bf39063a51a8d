package credential

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// Source fetches fresh credentials from WeChat (or a stand-in). Its errors
// must not contain the secret or a credential; *wechat.App guarantees it.
type Source interface {
	// AccessToken fetches an access token; force asks WeChat for a new one
	// even if the current one is valid (stable_token force_refresh).
	AccessToken(ctx context.Context, force bool) (wechat.Credential, error)
	// Ticket fetches a jsapi_ticket with accessToken.
	Ticket(ctx context.Context, accessToken string) (wechat.Credential, error)
}

var _ Source = (*wechat.App)(nil)

// Forcer is implemented by a Source that knows whether it may be asked for
// a forced token. A central token service cannot force anything: a store
// whose Source says false cures a rejected token with one more ordinary
// fetch and never asks for force. Sources without the method may be
// forced.
type Forcer interface {
	// CanForce says whether AccessToken(ctx, true) means anything.
	CanForce() bool
}

// Config configures a Store.
type Config struct {
	// Source is where credentials come from. Required.
	Source Source
	// Now is the clock validity is judged with; nil means time.Now. Tests
	// inject a fake one to move time without sleeping.
	Now func() time.Time
	// Logger receives failure, recovery and debug lines; nil means none.
	Logger *zap.Logger
	// FetchTimeout bounds one upstream call, and one operation on Shared;
	// zero means 5 s.
	FetchTimeout time.Duration

	// Shared, when set, is the L2: a storage other instances of the app
	// share, through which exactly one of them refreshes and the others read
	// (see the package documentation). Nil means this store works alone.
	Shared Shared
	// SharedPrefix names this store's keys in Shared: SharedPrefix+"/token",
	// SharedPrefix+"/ticket", and the lock SharedPrefix+"/refresh". Stores
	// that may share a credential must use the same prefix. Required with
	// Shared.
	SharedPrefix string
	// LockWait bounds how long a refresh waits for the shared lock; zero
	// means DefaultLockWait.
	LockWait time.Duration

	// TicketBudget, when positive, is the most ticket calls the store makes
	// upstream in any hour (on the store's clock), whatever asks for them:
	// refreshes, invalid-token cures, RefreshTicket, Refresh. A call over
	// it is refused with a *BudgetError and the store backs off until the
	// oldest call leaves the window, serving its cached ticket meanwhile
	// (see the package documentation). Zero means no budget, as for an
	// Official Account; WeCom stores get one by default (WeComConfig).
	TicketBudget int
}

// DefaultFetchTimeout is the FetchTimeout used when Config leaves it zero.
const DefaultFetchTimeout = 5 * time.Second

// DefaultLockWait is the LockWait used when Config leaves it zero. It
// outlasts the lock expiry of Caddy's storages (a file-system lock is stale
// 10 s after its holder stopped refreshing it, a Redis lock expires after
// 5 s), so that a crashed holder's lock expires while the others wait.
const DefaultLockWait = 15 * time.Second

// ErrUnavailable is wrapped by every error Ticket returns: no usable ticket
// could be had. The cause is wrapped too (a *wechat.APIError, a network
// error, context.DeadlineExceeded, ErrClosed…), for errors.Is and errors.As.
var ErrUnavailable = errors.New("credential: jsapi_ticket unavailable")

// ErrClosed is the cause when the store has been closed.
var ErrClosed = errors.New("credential: store closed")

var errClosed = joinUnavailable(ErrClosed)

// Cache keys. Small integers hash without allocating.
const (
	keyToken uint64 = iota + 1
	keyTicket
)

// flightTicket names the one singleflight call the store makes: fetching a
// ticket, and the token it needs.
const flightTicket = "ticket"

// Store caches the credentials of one app. It is safe for concurrent use.
type Store struct {
	src          Source
	now          func() time.Time
	log          *zap.Logger
	fetchTimeout time.Duration
	// canForce is false for sources that must never be asked for a forced
	// token (see Forcer).
	canForce bool
	// jitter spreads a retry delay d; tests replace it to be exact.
	jitter func(d time.Duration) time.Duration

	cache *ristretto.Cache[uint64, entry]
	group singleflight.Group
	// fetchMu serializes the flights that may call upstream: the shared one
	// and a forced Refresh.
	fetchMu sync.Mutex

	// shared is the L2; nil when the store works alone.
	shared *sharedL2
	// rejectedToken is the last token the ticket endpoint rejected for
	// good, never to be taken back from the L2. Only flights, which hold
	// fetchMu, touch it.
	rejectedToken string

	// ctx is the parent of every upstream call: detached from callers so a
	// shared fetch outlives the caller that started it, cancelled by Close.
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup // every goroutine touching cache or src
	closed    atomic.Bool
	closeOnce sync.Once

	// refreshing is set while a refresh-ahead goroutine runs, so that the hot
	// path starts at most one.
	refreshing atomic.Bool
	// backoffUntil mirrors fail.until (UnixNano, 0 for none) for the hot path.
	backoffUntil atomic.Int64

	mu              sync.Mutex // guards the fields below, and wg.Add against Close
	fail            failureState
	forces          []time.Time // forced token fetches of the last 24 h, oldest first
	lastSuspect     time.Time   // when RefreshTicket last started a refetch
	suspected       string      // the ticket it was asked about then
	suspecting      *suspectRun // the refetch in progress, if any
	ticketExpiresAt time.Time
	tokenExpiresAt  time.Time
	lastErr         recordedError
	// budget is Config.TicketBudget; ticketCallTimes are the ticket calls
	// of the last hour, oldest first, and budgetLogged says the current run
	// of refusals was logged.
	budget          int
	ticketCallTimes []time.Time
	budgetLogged    bool

	// token, when set, holds the access token this store shares with
	// others (a WeCom app's two tickets); the store then never fetches,
	// caches or stores a token itself.
	token *tokenHolder

	counts counters
}

// storeOptions are what a WeCom store sets beyond Config.
type storeOptions struct {
	keys  sharedKeys
	token *tokenHolder
}

// New returns a Store. Nothing is fetched until the first Ticket call.
func New(cfg Config) (*Store, error) {
	return newStore(cfg, storeOptions{keys: officialKeys(cfg.SharedPrefix)})
}

func newStore(cfg Config, opt storeOptions) (*Store, error) {
	if cfg.Source == nil {
		return nil, errors.New("credential: Config.Source is nil")
	}
	if cfg.FetchTimeout < 0 {
		return nil, errors.New("credential: Config.FetchTimeout is negative")
	}
	if cfg.LockWait < 0 {
		return nil, errors.New("credential: Config.LockWait is negative")
	}
	if cfg.Shared != nil && cfg.SharedPrefix == "" {
		return nil, errors.New("credential: Config.SharedPrefix is empty")
	}
	if cfg.TicketBudget < 0 {
		return nil, errors.New("credential: Config.TicketBudget is negative")
	}
	s := &Store{
		src:          cfg.Source,
		now:          cfg.Now,
		log:          cfg.Logger,
		fetchTimeout: cfg.FetchTimeout,
		canForce:     true,
		jitter:       equalJitter,
		budget:       cfg.TicketBudget,
		token:        opt.token,
	}
	if f, ok := cfg.Source.(Forcer); ok {
		s.canForce = f.CanForce()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.fetchTimeout == 0 {
		s.fetchTimeout = DefaultFetchTimeout
	}
	cache, err := ristretto.NewCache(&ristretto.Config[uint64, entry]{
		// Two entries; the sizes only have to be valid.
		NumCounters:        64,
		MaxCost:            16,
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, err
	}
	s.cache = cache
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.Shared != nil {
		wait := cfg.LockWait
		if wait == 0 {
			wait = DefaultLockWait
		}
		s.shared = s.newSharedL2(cfg.Shared, opt.keys, wait)
	}
	return s, nil
}

// Close cancels upstream calls in flight, waits for background work to end
// and releases the cache. Ticket then fails with ErrClosed. Close is
// idempotent. It must not race with Ticket calls still in progress (the
// cache's own Close does not allow it): close a store once its last user is
// gone.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed.Store(true)
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
		s.cache.Close()
	})
}

// enter registers a goroutine about to use the cache or the source, unless
// the store is closed. The caller must call s.wg.Done when it returns true.
func (s *Store) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return false
	}
	s.wg.Add(1)
	return true
}

// equalJitter returns a delay in [d/2, d]: spread enough that stores
// restarted together do not retry together, never so short that backoff
// means nothing.
func equalJitter(d time.Duration) time.Duration {
	half := d / 2
	return half + rand.N(d-half+1)
}
