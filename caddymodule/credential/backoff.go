package credential

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// Backoff delays (see the package documentation).
const (
	minRetry         = time.Second
	maxRetry         = time.Minute
	quotaMinuteDelay = time.Minute      // 45011: per-minute quota
	quotaDailyDelay  = 10 * time.Minute // 45009: daily quota
	configDelay      = 5 * time.Minute  // needs an operator
)

// failureState describes the failure streak in progress, if any.
type failureState struct {
	active bool
	streak int // consecutive failed flights
	since  time.Time
	until  time.Time // no upstream call before this instant
	cause  error
	class  wechat.Class
	code   int
}

// retryDelay is how long to wait after the streak-th consecutive failure.
func retryDelay(class wechat.Class, code, streak int, jitter func(time.Duration) time.Duration) time.Duration {
	switch class {
	case wechat.ClassQuota:
		if code == 45009 {
			return quotaDailyDelay
		}
		return quotaMinuteDelay
	case wechat.ClassConfig, wechat.ClassIPWhitelist:
		return configDelay
	}
	d := min(minRetry<<min(streak-1, 6), maxRetry)
	return jitter(d)
}

// inBackoff says whether upstream calls are suspended at now.
func (s *Store) inBackoff(now time.Time) bool {
	return now.UnixNano() < s.backoffUntil.Load()
}

// backoffError is what a caller gets during a backoff window with no
// still-valid ticket to fall back on.
func (s *Store) backoffError(now time.Time) error {
	s.mu.Lock()
	cause, until := s.fail.cause, s.fail.until
	s.mu.Unlock()
	if cause == nil { // recovered meanwhile
		return fmt.Errorf("%w: backing off", ErrUnavailable)
	}
	return fmt.Errorf("%w: backing off for %s after: %w", ErrUnavailable, until.Sub(now).Round(time.Millisecond), cause)
}

// failed records a failed flight, starts its backoff window, logs it if its
// cause is new, and returns the error for the callers.
func (s *Store) failed(err error) error {
	if s.ctx.Err() != nil {
		// Closing: nothing to retry, nothing worth logging.
		return errClosed
	}
	now := s.now()
	class := classify(err)
	code := errCode(err)
	var budgetErr *BudgetError
	overBudget := errors.As(err, &budgetErr)

	s.mu.Lock()
	s.fail.streak++
	delay := retryDelay(class, code, s.fail.streak, s.jitter)
	if overBudget {
		// No call until the budget has room again.
		delay = budgetErr.RetryAfter
	}
	newCause := !s.fail.active || s.fail.class != class || s.fail.code != code
	if !s.fail.active {
		s.fail.since = now
	}
	s.fail.active, s.fail.class, s.fail.code, s.fail.cause = true, class, code, err
	s.fail.until = now.Add(delay)
	s.backoffUntil.Store(s.fail.until.UnixNano())
	s.lastErr = recordedError{msg: err.Error(), at: now, class: class}
	streak := s.fail.streak
	s.mu.Unlock()

	fields := append(errFields(err), zap.Duration("retry_in", delay), zap.Int("consecutive_failures", streak))
	if newCause && !overBudget { // refusedByBudget logged the refusal once
		s.log.Log(failureLevel(class), "cannot get a jsapi_ticket from WeChat", fields...)
	} else {
		s.log.Debug("still cannot get a jsapi_ticket from WeChat", fields...)
	}
	return joinUnavailable(err)
}

// recovered ends a failure streak, logging the recovery once.
func (s *Store) recovered() {
	s.mu.Lock()
	prev := s.fail
	s.fail = failureState{}
	s.backoffUntil.Store(0)
	s.mu.Unlock()
	if prev.active {
		s.log.Info("jsapi_ticket available again",
			zap.String("after", prev.class.String()),
			zap.Int("errcode", prev.code),
			zap.Int("failures", prev.streak),
			zap.Duration("outage", s.now().Sub(prev.since)))
	}
}

// failureLevel: causes an operator must fix are errors; causes that go away
// by themselves are warnings.
func failureLevel(class wechat.Class) zapcore.Level {
	switch class {
	case wechat.ClassRetryable, wechat.ClassQuota:
		return zapcore.WarnLevel
	default:
		return zapcore.ErrorLevel
	}
}

// classify is wechat.Classify, with the store's own refusal: a ticket
// call over the budget is a quota, the store's own.
func classify(err error) wechat.Class {
	if errors.Is(err, ErrBudgetExhausted) {
		return wechat.ClassQuota
	}
	return wechat.Classify(err)
}

// errFields describes err for a log line. Source errors carry no secret
// (wechat's errors are built so), and the store adds none.
func errFields(err error) []zap.Field {
	return []zap.Field{
		zap.String("class", classify(err).String()),
		zap.Int("errcode", errCode(err)),
		zap.Error(err),
	}
}

// errCode is WeChat's errcode, or 0 for errors that are not WeChat's.
func errCode(err error) int {
	var apiErr *wechat.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code
	}
	return 0
}

// joinUnavailable wraps err so that both errors.Is(ErrUnavailable) and the
// cause's identity hold.
func joinUnavailable(err error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
