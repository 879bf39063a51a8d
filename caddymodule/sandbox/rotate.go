package sandbox

import (
	"net/http"
	"time"
)

// pathRotate is the control call that rotates the app's credentials.
const pathRotate = "/sandbox/rotate"

// serveRotate handles POST /sandbox/rotate (body {}): every issued token
// and ticket stops working at once, without notice, and new ones are
// issued, as when another service of the same account refreshes them. The
// old tokens then answer 40001 and signatures made with the old tickets
// fail verification ("invalid signature"); counters, faults and orders
// stay.
func (h *Handler) serveRotate(w http.ResponseWriter, r *http.Request) {
	if !readControl(w, r, &struct{}{}) {
		return
	}
	h.state.rotate()
	h.journal.clear()
	// what the other service now holds
	now := h.clock()
	h.state.stableToken(now, h.ttl(), true)
	h.state.ticket(now, h.ttl())
	writeJSON(w, http.StatusOK, controlReply{OK: true})
}

// rotate forgets every issued credential.
func (s *state) rotate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetCredentials()
}

// forgetCredentials drops every issued token and ticket; s.mu is held.
func (s *state) forgetCredentials() {
	s.tokens = make(map[string]time.Time)
	s.pruneAt = minPrune
	s.latestClassic, s.currentStable = "", ""
	s.tickets = make(map[string]time.Time)
	s.currentTicket = ""
	s.forgetWeComCredentials()
}
