package credential

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// forceInterval is how often stable_token's force_refresh may be used:
// WeChat allows it 20 times a day, 30 s apart.
const forceInterval = 30 * time.Second

// errNoLifetime is a credential a Source returned without a value or a
// lifetime: caching it would be useless.
var errNoLifetime = errors.New("credential: source returned an empty credential or no lifetime")

// flight fetches a ticket (and a token if needed) and caches it. It runs
// once at a time (singleflight), detached from the callers waiting for it,
// and returns the ticket value.
func (s *Store) flight() (any, error) {
	if !s.enter() {
		return nil, errClosed
	}
	defer s.wg.Done()

	now := s.now()
	// A caller that missed the cache just before the previous flight
	// filled it must not cause a second fetch.
	if e, ok := s.cache.Get(keyTicket); ok && now.Before(e.refreshAt) {
		return e.value, nil
	}
	if s.inBackoff(now) {
		return nil, s.backoffError(now)
	}
	ticket, err := s.fetchTicket()
	if err != nil {
		return nil, s.failed(err)
	}
	s.recovered()
	return ticket, nil
}

// fetchTicket gets a ticket with the cached token, curing a rejected token
// (see the package documentation), and caches it.
func (s *Store) fetchTicket() (string, error) {
	tok, err := s.accessToken()
	if err != nil {
		return "", err
	}
	start := s.now()
	tk, err := s.callTicket(tok.value)
	if wechat.Classify(err) == wechat.ClassInvalidToken {
		s.log.Info("access token rejected by the ticket endpoint; fetching a new one", errFields(err)...)
		var again string
		again, start, tk, err = s.ticketWithNewToken(false)
		if wechat.Classify(err) == wechat.ClassInvalidToken && again == tok.value && s.takeForce(start) {
			s.log.Warn("WeChat handed back the token it rejects; forcing a new one", errFields(err)...)
			_, start, tk, err = s.ticketWithNewToken(true)
		}
		if wechat.Classify(err) == wechat.ClassInvalidToken {
			// Do not keep a token WeChat rejects: the next attempt, after
			// backoff, starts from a fresh one.
			s.cache.Del(keyToken)
		}
	}
	if err != nil {
		return "", err
	}
	e := newEntry(tk, start)
	s.put(keyTicket, e, tk.ExpiresIn)
	s.mu.Lock()
	s.ticketExpiresAt = e.expiresAt
	s.mu.Unlock()
	s.log.Debug("fetched jsapi_ticket",
		zap.Duration("expires_in", tk.ExpiresIn),
		zap.Time("refresh_at", e.refreshAt),
		zap.Time("usable_until", e.usableUntil))
	return e.value, nil
}

// ticketWithNewToken drops the cached token, fetches another (forced or not)
// and calls for a ticket with it. It returns the token used, when the ticket
// call started, and the ticket call's result.
func (s *Store) ticketWithNewToken(force bool) (token string, start time.Time, tk wechat.Credential, err error) {
	s.cache.Del(keyToken)
	tok, err := s.fetchToken(force)
	if err != nil {
		return "", time.Time{}, wechat.Credential{}, err
	}
	start = s.now()
	tk, err = s.callTicket(tok.value)
	return tok.value, start, tk, err
}

// accessToken returns the cached token while it is usable, else a new one.
func (s *Store) accessToken() (entry, error) {
	if e, ok := s.cache.Get(keyToken); ok && s.now().Before(e.usableUntil) {
		return e, nil
	}
	return s.fetchToken(false)
}

// fetchToken calls the Source for a token and caches it.
func (s *Store) fetchToken(force bool) (entry, error) {
	s.counts.tokenFetches.Add(1)
	ctx, cancel := context.WithTimeout(s.ctx, s.fetchTimeout)
	defer cancel()
	start := s.now()
	c, err := s.src.AccessToken(ctx, force)
	if err = s.check(c, err); err != nil {
		return entry{}, err
	}
	e := newEntry(c, start)
	s.put(keyToken, e, c.ExpiresIn)
	s.log.Debug("fetched access_token", zap.Bool("force", force), zap.Duration("expires_in", c.ExpiresIn))
	return e, nil
}

// callTicket calls the Source for a ticket.
func (s *Store) callTicket(accessToken string) (wechat.Credential, error) {
	s.counts.ticketFetches.Add(1)
	ctx, cancel := context.WithTimeout(s.ctx, s.fetchTimeout)
	defer cancel()
	c, err := s.src.Ticket(ctx, accessToken)
	return c, s.check(c, err)
}

// check validates what a Source returned and counts a failure.
func (s *Store) check(c wechat.Credential, err error) error {
	if err == nil && (c.Value == "" || c.ExpiresIn <= 0) {
		err = errNoLifetime
	}
	if err != nil && s.ctx.Err() == nil {
		s.counts.failure(wechat.Classify(err))
	}
	return err
}

// takeForce says whether force_refresh may be used now, and if so records
// that it is.
func (s *Store) takeForce(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lastForce.IsZero() && now.Sub(s.lastForce) < forceInterval {
		return false
	}
	s.lastForce = now
	return true
}
