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

// Config configures a Store.
type Config struct {
	// Source is where credentials come from. Required.
	Source Source
	// Now is the clock validity is judged with; nil means time.Now. Tests
	// inject a fake one to move time without sleeping.
	Now func() time.Time
	// Logger receives failure, recovery and debug lines; nil means none.
	Logger *zap.Logger
	// FetchTimeout bounds one upstream call; zero means 5 s.
	FetchTimeout time.Duration
}

// DefaultFetchTimeout is the FetchTimeout used when Config leaves it zero.
const DefaultFetchTimeout = 5 * time.Second

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
	// jitter spreads a retry delay d; tests replace it to be exact.
	jitter func(d time.Duration) time.Duration

	cache *ristretto.Cache[uint64, entry]
	group singleflight.Group

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
	lastForce       time.Time
	ticketExpiresAt time.Time

	counts counters
}

// New returns a Store. Nothing is fetched until the first Ticket call.
func New(cfg Config) (*Store, error) {
	if cfg.Source == nil {
		return nil, errors.New("credential: Config.Source is nil")
	}
	if cfg.FetchTimeout < 0 {
		return nil, errors.New("credential: Config.FetchTimeout is negative")
	}
	s := &Store{
		src:          cfg.Source,
		now:          cfg.Now,
		log:          cfg.Logger,
		fetchTimeout: cfg.FetchTimeout,
		jitter:       equalJitter,
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
