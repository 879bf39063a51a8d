package credential

import (
	"testing"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// TestStatsCallsByResult: calls are counted by kind and result class, and
// the expiries of both credentials are reported.
func TestStatsCallsByResult(t *testing.T) {
	h := newHarness(t, &fakeSource{ticket: func(n int, tok string) (wechat.Credential, error) {
		if n == 1 {
			return wechat.Credential{}, apiErr(wechat.PathTicket, 40001)
		}
		return wechat.Credential{Value: "TICKET", ExpiresIn: time.Hour}, nil
	}})
	h.mustTicket(t, "TICKET")
	st := h.store.Stats()
	want := map[string]uint64{
		"token ok": 2, "ticket ok": 1, "ticket invalid_token": 1,
	}
	got := map[string]uint64{}
	for class, n := range st.TokenCalls {
		if n > 0 {
			got["token "+class.String()] = n
		}
	}
	for class, n := range st.TicketCalls {
		if n > 0 {
			got["ticket "+class.String()] = n
		}
	}
	if len(got) != len(want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("calls %v, want %v", got, want)
		}
	}
	if len(st.TokenCalls) != len(wechat.Classes()) || len(st.TicketCalls) != len(wechat.Classes()) {
		t.Errorf("not every class has a key: %v %v", st.TokenCalls, st.TicketCalls)
	}
	t0 := newClock().Now()
	if !st.TokenExpiresAt.Equal(t0.Add(lifetime)) || !st.TicketExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("expiries: token %v, ticket %v", st.TokenExpiresAt, st.TicketExpiresAt)
	}
	if st.Shared != nil {
		t.Error("Shared stats without an L2")
	}
}
