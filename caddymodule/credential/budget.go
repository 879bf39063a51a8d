package credential

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// budgetWindow is the window a ticket budget counts calls over: WeCom's
// ticket limits are hourly.
const budgetWindow = time.Hour

// ErrBudgetExhausted is matched (errors.Is) by the *BudgetError of a ticket
// call refused by the store's hourly budget (Config.TicketBudget).
var ErrBudgetExhausted = errors.New("credential: hourly jsapi_ticket budget used up")

// BudgetError is a ticket call the store refused to make: it would have
// exceeded Config.TicketBudget calls in the last hour. No request reached
// WeChat. Pages get the cached ticket meanwhile, while WeChat still accepts
// it.
type BudgetError struct {
	// Budget is the number of calls allowed an hour, or, for a suspect
	// ticket's refetch (RefreshTicket), the share of it those may use.
	Budget int
	// RetryAfter is how long until the oldest call counted leaves the
	// window, which makes room for one more.
	RetryAfter time.Duration
}

// Error says what was refused and until when.
func (e *BudgetError) Error() string {
	return fmt.Sprintf("%v: %d ticket calls were made in the last hour; the next one is allowed in %s",
		ErrBudgetExhausted, e.Budget, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrBudgetExhausted) hold.
func (e *BudgetError) Is(target error) bool { return target == ErrBudgetExhausted }

// suspectShare is the part of the budget suspect-ticket refetches may use
// (RefreshTicket): at most half, so that reports of invalid signatures,
// which a page with a wrong URL can make endlessly, never leave the ticket
// without the calls its regular refreshes need.
func suspectShare(budget int) int { return max(1, budget/2) }

// budgetWaitLocked says how long until a call is allowed under limit calls
// an hour, 0 when one is allowed now. It drops the calls that left the
// window. s.mu must be held.
func (s *Store) budgetWaitLocked(now time.Time, limit int) time.Duration {
	cut := 0
	for cut < len(s.ticketCallTimes) && !now.Before(s.ticketCallTimes[cut].Add(budgetWindow)) {
		cut++
	}
	if cut > 0 {
		s.ticketCallTimes = append(s.ticketCallTimes[:0], s.ticketCallTimes[cut:]...)
	}
	if limit <= 0 || len(s.ticketCallTimes) < limit {
		return 0
	}
	// The calls are in order: room comes when the one that leaves the
	// window brings the count under limit.
	return s.ticketCallTimes[len(s.ticketCallTimes)-limit].Add(budgetWindow).Sub(now)
}

// budgetWait is budgetWaitLocked for the whole budget, taking s.mu.
func (s *Store) budgetWait(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.budgetWaitLocked(now, s.budget)
}

// reserveTicketCall records a ticket call at now, or returns the
// *BudgetError that refuses it.
func (s *Store) reserveTicketCall(now time.Time) error {
	s.mu.Lock()
	wait := s.budgetWaitLocked(now, s.budget)
	if wait == 0 {
		s.ticketCallTimes = append(s.ticketCallTimes, now)
		s.budgetLogged = false
	}
	s.mu.Unlock()
	if wait > 0 {
		return s.refusedByBudget(s.budget, wait)
	}
	return nil
}

// refusedByBudget counts a refusal and logs the first of a run of them.
func (s *Store) refusedByBudget(limit int, wait time.Duration) error {
	s.counts.budgetRefusals.Add(1)
	err := &BudgetError{Budget: limit, RetryAfter: wait}
	s.mu.Lock()
	first := !s.budgetLogged
	s.budgetLogged = true
	s.mu.Unlock()
	if first {
		s.log.Warn("the hourly jsapi_ticket budget is used up; no ticket call until it frees up, pages get the cached ticket while WeChat accepts it",
			zap.Int("budget", s.budget), zap.Int("limit", limit), zap.Duration("retry_in", wait))
	} else {
		s.log.Debug("jsapi_ticket call refused by the hourly budget", zap.Duration("retry_in", wait))
	}
	return err
}
