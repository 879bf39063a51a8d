package credential

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// tokenHolder is an access token that several ticket stores share: a WeCom
// app's corp ticket and agent ticket are both fetched with the app's one
// token (see WeCom). Stores with a holder never fetch a token themselves
// and never keep one in their own cache or L2 records; they ask the holder,
// and tell it which token a ticket endpoint rejected.
//
// Its rules are the store's, for one credential: one upstream call at a
// time (singleflight), the L2 read first without the lock, then the lock
// (a name of its own, always taken after, never before, a ticket store's
// lock), the L2 read again, and only then WeChat. A rejected token is
// replaced once however many stores report it: the first report drops it
// and fetches, the others find the replacement or join the fetch. A failed
// fetch is answered from memory for the first backoff step of its class
// (1 s for a transient failure, 5 min for a configuration error…), so that
// the stores' own backoff windows, which do not start at the same instant,
// do not each cost a call.
type tokenHolder struct {
	fetch   func(ctx context.Context) (wechat.Credential, error)
	now     func() time.Time
	log     *zap.Logger
	timeout time.Duration
	shared  *sharedL2 // the token record and its lock; nil when alone
	group   singleflight.Group

	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the flights

	mu        sync.Mutex // guards the fields below, and wg.Add against close
	closed    bool
	cur       entry // the last token held; has says whether it still is
	has       bool
	rejected  string    // the last token reported rejected: never taken back from the L2
	failUntil time.Time // until then, a flight answers failErr without calling
	failErr   error

	fetches  atomic.Uint64
	calls    [8]atomic.Uint64 // by wechat.Class
	failures [8]atomic.Uint64 // by wechat.Class
}

// Singleflight keys of the holder.
const (
	flightToken      = "token"
	flightTokenRenew = "token renew"
)

// tokenResult is what a holder's flight hands its callers.
type tokenResult struct {
	e entry
	// fetched says the token came from upstream, rather than from the
	// holder's memory or the L2.
	fetched bool
}

func newTokenHolder(fetch func(context.Context) (wechat.Credential, error), now func() time.Time, log *zap.Logger, timeout time.Duration) *tokenHolder {
	h := &tokenHolder{fetch: fetch, now: now, log: log, timeout: timeout}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h
}

// get returns a token to call a ticket endpoint with: the one held, while
// it outlives such a call, else one from the L2 or upstream. rejected, when
// not empty, is a token a ticket endpoint just rejected: it is dropped and
// not handed out again unless upstream hands it back. renew fetches from
// upstream whatever is held (an operator's refresh). ctx bounds the wait;
// the fetch goes on without the caller.
func (h *tokenHolder) get(ctx context.Context, rejected string, renew bool) (entry, error) {
	if rejected != "" {
		h.reject(rejected)
	}
	if !renew {
		if e, ok := h.held(h.now()); ok {
			return e, nil
		}
	}
	key := flightToken
	if renew {
		key = flightTokenRenew
	}
	for attempt := 0; ; attempt++ {
		ch := h.group.DoChan(key, func() (any, error) { return h.flight(renew) })
		var r singleflight.Result
		select {
		case r = <-ch:
		case <-ctx.Done():
			return entry{}, ctx.Err()
		}
		if r.Err != nil {
			return entry{}, r.Err
		}
		res := r.Val.(tokenResult)
		// A flight that began before the rejection was reported may have
		// taken the rejected token from memory or the L2 — or fetched it
		// from upstream: a flight that has set the token but not yet
		// returned (it is still writing the L2) is joined by a caller whose
		// ticket call was refused meanwhile. One more flight, begun after
		// the rejection, then goes past it. What that flight hands back is
		// taken as is: WeCom's gettoken and stable_token give the same
		// token while it is valid.
		if rejected != "" && res.e.value == rejected && attempt == 0 {
			continue
		}
		return res.e, nil
	}
}

// reject drops token if it is the one held, and keeps it from being taken
// back from the L2.
func (h *tokenHolder) reject(token string) {
	if token == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rejected = token
	if h.has && h.cur.value == token {
		h.has = false
	}
}

// held returns the token held when a ticket call made with it at now will
// find it valid (see Store.outlivesCall).
func (h *tokenHolder) held(now time.Time) (entry, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.has && h.outlivesCall(h.cur, now) {
		return h.cur, true
	}
	return entry{}, false
}

func (h *tokenHolder) outlivesCall(e entry, now time.Time) bool {
	return now.Before(e.usableUntil) && now.Add(h.timeout).Before(e.expiresAt)
}

// enter registers a flight unless the holder is closed.
func (h *tokenHolder) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	return true
}

// flight is the one token fetch in progress.
func (h *tokenHolder) flight(renew bool) (tokenResult, error) {
	if !h.enter() {
		return tokenResult{}, errClosed
	}
	defer h.wg.Done()
	now := h.now()
	if !renew {
		// Filled by the flight that just ended?
		if e, ok := h.held(now); ok {
			return tokenResult{e: e}, nil
		}
		if err := h.remembered(now); err != nil {
			return tokenResult{}, err
		}
	}
	if h.shared != nil {
		if !renew {
			if e, ok := h.adoptShared(now); ok {
				return tokenResult{e: e}, nil
			}
		}
		unlock, err := h.shared.lock()
		if err != nil {
			if e, ok := h.adoptShared(h.now()); ok && !renew {
				return tokenResult{e: e}, nil
			}
			return tokenResult{}, h.failed(err)
		}
		defer unlock()
		if !renew {
			if e, ok := h.adoptShared(h.now()); ok {
				return tokenResult{e: e}, nil
			}
		}
	}
	return h.fetchUpstream()
}

// remembered returns the error of a fetch that failed less than one
// backoff step ago.
func (h *tokenHolder) remembered(now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failErr != nil && now.Before(h.failUntil) {
		return h.failErr
	}
	return nil
}

// adoptShared takes the token from the L2 when it outlives a ticket call
// and is not the one rejected: another instance fetched it.
func (h *tokenHolder) adoptShared(now time.Time) (entry, bool) {
	e, ok := h.shared.load(h.shared.tokenKey, now)
	if !ok || !h.outlivesCall(e, now) {
		return entry{}, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.value == h.rejected {
		return entry{}, false
	}
	h.cur, h.has = e, true
	return e, true
}

// fetchUpstream calls the source, counts the call, and keeps the token in
// memory and the L2.
func (h *tokenHolder) fetchUpstream() (tokenResult, error) {
	h.fetches.Add(1)
	ctx, cancel := context.WithTimeout(h.ctx, h.timeout)
	defer cancel()
	start := h.now()
	c, err := h.fetch(ctx)
	if err == nil && (c.Value == "" || c.ExpiresIn <= 0) {
		err = errNoLifetime
	}
	if h.ctx.Err() == nil {
		class := wechat.Classify(err)
		if err != nil {
			h.failures[classIndex(class)].Add(1)
		}
		h.calls[classIndex(class)].Add(1)
	}
	if err != nil {
		return tokenResult{}, h.failed(err)
	}
	e := newEntry(c, start)
	h.mu.Lock()
	h.cur, h.has = e, true
	h.failErr, h.failUntil = nil, time.Time{}
	h.mu.Unlock()
	if h.shared != nil {
		h.shared.store(h.shared.tokenKey, e)
	}
	h.log.Debug("fetched access_token", zap.Duration("expires_in", c.ExpiresIn))
	return tokenResult{e: e, fetched: true}, nil
}

// failed remembers a failed fetch for the first backoff step of its class.
// The stores it serves log and back off; the holder only keeps them from
// calling again meanwhile.
func (h *tokenHolder) failed(err error) error {
	if h.ctx.Err() != nil {
		return errClosed
	}
	now := h.now()
	delay := retryDelay(wechat.Classify(err), errCode(err), 1, func(d time.Duration) time.Duration { return d })
	h.mu.Lock()
	h.failErr, h.failUntil = err, now.Add(delay)
	h.mu.Unlock()
	return err
}

// expiresAt is when the last token held expires by WeChat's expires_in;
// zero before the first one.
func (h *tokenHolder) expiresAt() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur.expiresAt
}

// close cancels the fetch in flight and waits for the flights to end.
func (h *tokenHolder) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
}
