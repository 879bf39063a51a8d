package sandbox

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// TestJournalSurvivesRestart: the tickets a sandbox issued are still valid
// for a new state (a restarted sandbox) on the same storage; expired ones
// are not; a reset forgets them; and a ticket is written once.
func TestJournalSurvivesRestart(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	j := &ticketJournal{st: st, key: "wechat_sandbox/wxjournal/tickets", logger: zap.NewNop()}
	clk := newFakeClock()

	first := newState()
	t1, _ := first.ticket(clk.now(), time.Hour)
	j.saveIfNew(first, t1)
	j.saveIfNew(first, t1)
	clk.advance(2 * time.Hour) // t1 expires; t2 replaces it
	t2, _ := first.ticket(clk.now(), time.Hour)
	j.saveIfNew(first, t2)
	if j.saveCount != 2 {
		t.Errorf("%d writes for two tickets", j.saveCount)
	}

	restarted := newState()
	(&ticketJournal{st: st, key: j.key, logger: zap.NewNop()}).restore(restarted, clk.now())
	if got := restarted.validTickets(clk.now()); !slices.Equal(got, []string{t2}) {
		t.Errorf("valid tickets after a restart: %q, want only %q", got, t2)
	}
	if got, _ := restarted.ticket(clk.now(), time.Hour); got != t2 {
		t.Error("a restarted sandbox issued a new ticket while the old one is valid")
	}

	j.clear()
	afterReset := newState()
	j.restore(afterReset, clk.now())
	if got := afterReset.validTickets(clk.now()); len(got) != 0 {
		t.Errorf("tickets after a reset: %q", got)
	}
	if _, err := st.Load(context.Background(), j.key); err == nil {
		t.Error("the journal survived the reset")
	}
}

// TestJournalNilIsHarmless: without storage (a bare context) the sandbox
// works as before.
func TestJournalNilIsHarmless(t *testing.T) {
	h, _ := newTestHandler(t)
	if h.journal != nil {
		t.Fatal("a bare context gave a journal")
	}
	getTicket(t, h, stableToken(t, h, false).AccessToken)
}
