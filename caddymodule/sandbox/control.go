package sandbox

import "net/http"

// serveStats handles GET /sandbox/stats: calls per endpoint since the
// state was created or last reset.
func (h *Handler) serveStats(w http.ResponseWriter, r *http.Request) {
	if !requireMethod(w, r, http.MethodGet) {
		return
	}
	st := h.state.snapshot()
	st.WeCom = h.wecomStats() // nil unless it plays a WeCom corp
	writeJSON(w, http.StatusOK, st)
}

// serveReset handles POST /sandbox/reset (body {}): it forgets every
// issued token and ticket, the counters and the pending faults, so that
// tests sharing one sandbox start from the same place.
func (h *Handler) serveReset(w http.ResponseWriter, r *http.Request) {
	if !readControl(w, r, &struct{}{}) {
		return
	}
	h.state.reset()
	h.journal.clear()
	writeJSON(w, http.StatusOK, controlReply{OK: true})
}
