package credential

import (
	"testing"
	"time"
)

// refreshAt for a two-hour ticket: 3/4 of (7200 s - 300 s).
const refreshAfter = 5175 * time.Second

func TestRefreshAhead(t *testing.T) {
	h := newHarness(t, nil)
	h.mustTicket(t, "TICKET-1-4b8e2d")

	h.clock.Advance(refreshAfter - time.Second)
	h.mustTicket(t, "TICKET-1-4b8e2d")
	h.idle()
	h.src.wantCalls(t, 1, 1, 0)

	gate, started := make(chan struct{}), make(chan string, 1)
	h.src.setGate(gate, started)
	h.clock.Advance(time.Second)
	// The source is held: answering at all proves Ticket did not wait.
	h.mustTicket(t, "TICKET-1-4b8e2d")
	if got := <-started; got != "ticket" {
		t.Fatalf("background refresh called %q first, want the ticket (the token is still usable)", got)
	}
	for range 50 {
		h.mustTicket(t, "TICKET-1-4b8e2d")
	}
	h.src.wantCalls(t, 1, 2, 0)

	close(gate)
	h.idle()
	h.mustTicket(t, "TICKET-2-4b8e2d")
	h.src.wantCalls(t, 1, 2, 0)
	if st := h.store.Stats(); st.ServedStale != 0 {
		t.Errorf("ServedStale = %d, want 0", st.ServedStale)
	}
}
