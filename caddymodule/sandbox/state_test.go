package sandbox

import (
	"testing"
	"time"
)

// TestTokenPruning checks that remembered tokens stay bounded: once there
// are pruneAt of them, expired ones are forgotten and live ones kept.
func TestTokenPruning(t *testing.T) {
	s := newState()
	s.pruneAt = 4
	now := time.Unix(1700000000, 0)
	old := s.issueClassic(now, time.Minute)
	var latest string
	for range 3 {
		latest = s.issueClassic(now, time.Hour)
	}
	now = now.Add(10 * time.Minute) // all but latest have expired
	live := s.issueClassic(now, time.Hour)

	if len(s.tokens) != 2 {
		t.Fatalf("%d tokens remembered after pruning, want 2", len(s.tokens))
	}
	for _, tok := range []string{latest, live} { // latest is in its grace
		if got := s.checkToken(tok, now); got != 0 {
			t.Fatalf("live token: errcode %d", got)
		}
	}
	if got := s.checkToken(old, now); got != codeInvalidCredential {
		t.Fatalf("pruned token: errcode %d, want %d", got, codeInvalidCredential)
	}
	if s.pruneAt != minPrune {
		t.Fatalf("pruneAt = %d, want %d", s.pruneAt, minPrune)
	}
}
