package sandbox

import "time"

// setTicket makes t the current ticket until exp, so that a test can sign
// with a ticket it knows, such as the one of WeChat's published signature
// example. Only tests need it: the sandbox issues its tickets itself.
func (s *state) setTicket(t string, exp time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickets[t] = exp
	s.currentTicket = t
}

// setNotifyDelays makes notifications retry after delays for one test.
func setNotifyDelays(t interface{ Cleanup(func()) }, delays ...time.Duration) {
	old := notifyDelays
	notifyDelays = delays
	t.Cleanup(func() { notifyDelays = old })
}
