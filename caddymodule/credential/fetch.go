package credential

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// How often stable_token's force_refresh may be used: WeChat allows it 20
// times a day, 30 s apart.
const (
	forceInterval   = 30 * time.Second
	forceWindow     = 24 * time.Hour
	forcesPerWindow = 20
)

// errNoLifetime is a credential a Source returned without a value or a
// lifetime: caching it would be useless.
var errNoLifetime = errors.New("credential: source returned an empty credential or no lifetime")

// flight fetches a ticket (and a token if needed) and caches it. It runs
// once at a time (singleflight), detached from the callers waiting for it,
// and returns the ticket's entry: its callers judge, when they get it,
// whether it is still usable (a flight can outlast a short-lived ticket).
func (s *Store) flight() (any, error) {
	if !s.enter() {
		return nil, errClosed
	}
	defer s.wg.Done()
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()

	now := s.now()
	// A caller that missed the cache just before the previous flight
	// filled it must not cause a second fetch.
	if e, ok := s.cache.Get(keyTicket); ok && now.Before(e.refreshAt) {
		return e, nil
	}
	if s.inBackoff(now) {
		return nil, s.backoffError(now)
	}
	if s.shared != nil {
		return s.sharedFlight(now)
	}
	e, err := s.fetchTicket()
	if err != nil {
		return nil, s.failed(err)
	}
	s.recovered()
	return e, nil
}

// fetchTicket gets a ticket with the cached token, curing a rejected token
// (see the package documentation), and caches it.
func (s *Store) fetchTicket() (entry, error) {
	// With the budget used up, not even the token is fetched.
	if s.budget > 0 {
		if wait := s.budgetWait(s.now()); wait > 0 {
			return entry{}, s.refusedByBudget(s.budget, wait)
		}
	}
	tok, err := s.accessToken()
	if err != nil {
		return entry{}, err
	}
	start := s.now()
	tk, err := s.callTicket(tok.value)
	if wechat.Classify(err) == wechat.ClassInvalidToken {
		s.log.Info("access token rejected by the ticket endpoint; fetching a new one", errFields(err)...)
		var again string
		again, start, tk, err = s.ticketWithNewToken(tok.value, false)
		if wechat.Classify(err) == wechat.ClassInvalidToken && again == tok.value && s.canForce && s.takeForce(start) {
			s.log.Warn("WeChat handed back the token it rejects; forcing a new one", errFields(err)...)
			_, start, tk, err = s.ticketWithNewToken(again, true)
		}
		if wechat.Classify(err) == wechat.ClassInvalidToken {
			// Do not keep a token WeChat rejects: the next attempt, after
			// backoff, starts from a fresh one (and not from the L2's copy).
			if s.token != nil {
				s.token.reject(again)
			} else {
				s.cache.Del(keyToken)
				s.rejectedToken = again
			}
		}
	}
	if err != nil {
		return entry{}, err
	}
	e := newEntry(tk, start)
	s.keep(keyTicket, e)
	s.storeShared(keyTicket, e)
	s.log.Debug("fetched jsapi_ticket",
		zap.Duration("expires_in", tk.ExpiresIn),
		zap.Time("refresh_at", e.refreshAt),
		zap.Time("usable_until", e.usableUntil))
	return e, nil
}

// ticketWithNewToken drops the cached token, rejected, fetches another
// (forced or not) and calls for a ticket with it. It returns the token
// used, when the ticket call started, and the ticket call's result. With a
// shared token, the holder replaces rejected once for all its stores.
func (s *Store) ticketWithNewToken(rejected string, force bool) (token string, start time.Time, tk wechat.Credential, err error) {
	var tok entry
	if s.token != nil {
		tok, err = s.token.get(s.ctx, rejected, false)
	} else {
		s.cache.Del(keyToken)
		tok, err = s.fetchToken(force)
	}
	if err != nil {
		return "", time.Time{}, wechat.Credential{}, err
	}
	start = s.now()
	tk, err = s.callTicket(tok.value)
	return tok.value, start, tk, err
}

// accessToken returns the cached token while it is usable and outlives
// the ticket call about to be made with it, else a new one.
func (s *Store) accessToken() (entry, error) {
	if s.token != nil {
		return s.token.get(s.ctx, "", false)
	}
	if e, ok := s.cache.Get(keyToken); ok && s.outlivesCall(e, s.now()) {
		return e, nil
	}
	return s.fetchToken(false)
}

// outlivesCall says whether the token e may be sent at now: it is usable,
// and WeChat, which checks it when the ticket call arrives (up to
// FetchTimeout later), will not find it expired. The margin alone does not
// promise that for short lives: a token with expires_in 7 is usable until
// 0.7 s before its end, and a ticket call sent then with 3 s of latency
// was answered 42001 (found by the chaos harness at token_ttl 7s). With
// WeChat's lives (expires_in 300 s and up, margin 30 s and up) the margin
// always covers the call.
func (s *Store) outlivesCall(e entry, now time.Time) bool {
	return now.Before(e.usableUntil) && now.Add(s.fetchTimeout).Before(e.expiresAt)
}

// fetchToken calls the Source for a token and caches it.
func (s *Store) fetchToken(force bool) (entry, error) {
	force = force && s.canForce
	s.counts.tokenFetches.Add(1)
	ctx, cancel := context.WithTimeout(s.ctx, s.fetchTimeout)
	defer cancel()
	start := s.now()
	c, err := s.src.AccessToken(ctx, force)
	if err = s.check(callToken, c, err); err != nil {
		return entry{}, err
	}
	e := newEntry(c, start)
	s.keep(keyToken, e)
	s.storeShared(keyToken, e)
	s.log.Debug("fetched access_token", zap.Bool("force", force), zap.Duration("expires_in", c.ExpiresIn))
	return e, nil
}

// callTicket calls the Source for a ticket, unless the budget refuses it.
func (s *Store) callTicket(accessToken string) (wechat.Credential, error) {
	if err := s.reserveTicketCall(s.now()); err != nil {
		return wechat.Credential{}, err
	}
	s.counts.ticketFetches.Add(1)
	ctx, cancel := context.WithTimeout(s.ctx, s.fetchTimeout)
	defer cancel()
	c, err := s.src.Ticket(ctx, accessToken)
	return c, s.check(callTicket, c, err)
}

// check validates what a Source returned and counts the call by its
// result. A call cancelled because the store is closing counts as nothing.
func (s *Store) check(kind callKind, c wechat.Credential, err error) error {
	if err == nil && (c.Value == "" || c.ExpiresIn <= 0) {
		err = errNoLifetime
	}
	if s.ctx.Err() == nil {
		class := wechat.Classify(err)
		if err != nil {
			s.counts.failure(class)
		}
		s.counts.call(kind, class)
	}
	return err
}

// keep caches e under key and records its expiry for Stats.
func (s *Store) keep(key uint64, e entry) {
	// An entry read from the L2 was obtained a while ago: ristretto's TTL
	// counts from now.
	s.put(key, e, max(e.expiresAt.Sub(s.now()), time.Second))
	s.mu.Lock()
	if key == keyTicket {
		s.ticketExpiresAt = e.expiresAt
	} else {
		s.tokenExpiresAt = e.expiresAt
	}
	s.mu.Unlock()
}

// takeForce says whether force_refresh may be used now, and if so records
// that it is.
func (s *Store) takeForce(now time.Time) bool {
	return s.reserveForce(now) == 0
}

// reserveForce records a forced fetch at now and returns 0 when WeChat's
// limits allow one (30 s apart, 20 in 24 h), or else how long to wait
// before the next one is allowed.
func (s *Store) reserveForce(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.forces) > 0 && now.Sub(s.forces[0]) >= forceWindow {
		s.forces = s.forces[1:]
	}
	var wait time.Duration
	if n := len(s.forces); n > 0 {
		wait = forceInterval - now.Sub(s.forces[n-1])
	}
	if len(s.forces) >= forcesPerWindow {
		wait = max(wait, forceWindow-now.Sub(s.forces[0]))
	}
	if wait > 0 {
		return wait
	}
	s.forces = append(s.forces, now)
	return 0
}
