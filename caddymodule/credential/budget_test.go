package credential

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestBudgetWindowSlides: the wait is until enough calls leave the hour to
// bring the count under the limit, and calls that left are forgotten.
func TestBudgetWindowSlides(t *testing.T) {
	s := &Store{budget: 3}
	t0 := newClock().Now()
	for _, at := range []time.Duration{0, 10 * time.Minute, 20 * time.Minute} {
		s.ticketCallTimes = append(s.ticketCallTimes, t0.Add(at))
	}
	tests := []struct {
		at    time.Duration
		limit int
		want  time.Duration
	}{
		{30 * time.Minute, 3, 30 * time.Minute}, // the first call leaves at 60 min
		{30 * time.Minute, 2, 40 * time.Minute}, // two must leave: the second at 70 min
		{30 * time.Minute, 4, 0},                // room
		{30 * time.Minute, 0, 0},                // no budget
		{60 * time.Minute, 3, 0},                // the first left
		{75 * time.Minute, 1, 5 * time.Minute},  // only the third is left, until 80 min
		{80 * time.Minute, 1, 0},                // all gone
		{80 * time.Minute, 3, 0},                // and forgotten
	}
	for _, tt := range tests {
		if got := s.budgetWaitLocked(t0.Add(tt.at), tt.limit); got != tt.want {
			t.Errorf("at %v with limit %d: wait %v, want %v", tt.at, tt.limit, got, tt.want)
		}
	}
	if len(s.ticketCallTimes) != 0 {
		t.Errorf("%d calls remembered after the window, want 0", len(s.ticketCallTimes))
	}
}

// TestOfficialAccountBudget: an Official Account store has no budget unless
// configured; with one, Refresh is refused over it and the ticket stays.
func TestOfficialAccountBudget(t *testing.T) {
	h := newHarness(t, nil)
	h.mustTicket(t, "")
	if st := h.store.Stats(); st.TicketBudget != 0 || st.TicketCallsLastHour != 1 || st.BudgetRefusals != 0 {
		t.Errorf("Stats: budget %d, %d calls, %d refusals; want 0, 1, 0", st.TicketBudget, st.TicketCallsLastHour, st.BudgetRefusals)
	}
	if _, err := New(Config{Source: &fakeSource{}, TicketBudget: -1}); err == nil {
		t.Error("New accepted a negative budget")
	}

	s, err := New(Config{Source: h.src, Now: h.clock.Now, TicketBudget: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Ticket(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh within the budget: %v", err)
	}
	ticket, _ := s.Cached()
	h.clock.Advance(forceInterval)
	if err := s.Refresh(context.Background()); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("Refresh over the budget: %v, want ErrBudgetExhausted", err)
	}
	if got, ok := s.Cached(); !ok || got != ticket {
		t.Errorf("Cached = %q, %v; want the ticket kept", got, ok)
	}
	if st := s.Stats(); st.BudgetRefusals != 1 || st.TicketFetches != 2 {
		t.Errorf("Stats: %d refusals, %d ticket fetches; want 1, 2", st.BudgetRefusals, st.TicketFetches)
	}
}
