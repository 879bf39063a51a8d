package credential

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// Short lives, as the chaos harness runs the sandbox with (token_ttl 7s):
// a flight can last longer than a ticket does.

// The chaos harness at token_ttl 7s: an instance's flight read a due but
// usable ticket from the L2, waited for the shared lock and for a slow
// WeChat, failed, and handed that ticket to every page waiting for it —
// seconds after it had expired ("no ticket issued" at verification). A
// ticket a flight ends with is handed out only if it is still usable then.
func TestSharedFlightFallbackJudgedWhenItEnds(t *testing.T) {
	for _, tt := range []struct {
		name    string
		advance time.Duration // from 5 s into the ticket's 7 s life, during the flight
		want    string        // "" for an error
	}{
		{"still usable", 1 * time.Second, "TICKET-1"}, // usable until 6.3 s
		{"past its margin", 1500 * time.Millisecond, ""},
		{"expired", 3 * time.Second, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock, sh := newClock(), newFakeShared()
			// Another instance fetched a ticket that lives 7 s and wrote
			// it to the L2.
			other := newInstance(t, clock, sh, &fakeSource{ticket: func(int, string) (wechat.Credential, error) {
				return wechat.Credential{Value: "TICKET-1", ExpiresIn: 7 * time.Second}, nil
			}}, 0)
			other.mustTicket(t, "TICKET-1")

			// This instance's first page comes when it is due (refreshAt
			// 4.725 s) but usable: the flight keeps it as fallback, and its
			// own ticket call is slow and fails.
			src := &fakeSource{ticket: func(int, string) (wechat.Credential, error) {
				return wechat.Credential{}, apiErr(wechat.PathTicket, -1)
			}}
			gate, started := make(chan struct{}), make(chan string, 1)
			src.setGate(gate, started)
			h := newInstance(t, clock, sh, src, 0)
			clock.Advance(5 * time.Second)
			type result struct {
				v   string
				err error
			}
			res := make(chan result, 1)
			go func() {
				v, err := h.store.Ticket(context.Background())
				res <- result{v, err}
			}()
			<-started
			clock.Advance(tt.advance)
			close(gate)
			r := <-res
			switch {
			case tt.want != "" && (r.err != nil || r.v != tt.want):
				t.Errorf("Ticket = %q, %v; want %q", r.v, r.err, tt.want)
			case tt.want == "" && r.err == nil:
				t.Errorf("Ticket = %q at %s into its 7 s life, after the flight failed; want an error", r.v, 5*time.Second+tt.advance)
			case tt.want == "" && !errors.Is(r.err, ErrUnavailable):
				t.Errorf("Ticket error %v does not wrap ErrUnavailable", r.err)
			}
		})
	}
}

// A flight that gets a ticket WeChat hands out near its end (the sandbox
// hands out its current ticket with what is left of its life) and takes
// longer than that life: the ticket is not handed out.
func TestFlightResultExpiredOnArrival(t *testing.T) {
	src := &fakeSource{}
	h := newHarness(t, src)
	src.ticket = func(n int, _ string) (wechat.Credential, error) {
		h.clock.Advance(3 * time.Second) // latency
		return wechat.Credential{Value: fmt.Sprintf("TICKET-%d", n), ExpiresIn: 2 * time.Second}, nil
	}
	v, err := h.ticket(t)
	if err == nil {
		t.Fatalf("Ticket = %q, which expired (by the store's own clock) 1 s before the flight ended", v)
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("error %v does not wrap ErrUnavailable", err)
	}

	// One that lives long enough is handed out.
	src.mu.Lock()
	src.ticket = func(n int, _ string) (wechat.Credential, error) {
		h.clock.Advance(3 * time.Second)
		return wechat.Credential{Value: fmt.Sprintf("TICKET-%d", n), ExpiresIn: 7 * time.Second}, nil
	}
	src.mu.Unlock()
	h.mustTicket(t, "TICKET-2")
}

// The 42001 of the chaos harness at token_ttl 7s: a token with 0.9 s left
// was still "usable" (the margin is a tenth of 7 s), a ticket call was sent
// with it, and WeChat, reached 3 s later, found it expired. A cached token
// is only sent when it outlives the call (FetchTimeout); otherwise a new
// one is fetched first.
func TestTokenMustOutliveTheTicketCall(t *testing.T) {
	const tokenLife, ticketLife, latency = 10 * time.Second, 8 * time.Second, 4500 * time.Millisecond
	var mu sync.Mutex
	expiry := map[string]time.Time{} // what the fake WeChat issued
	src := &fakeSource{}
	h := newHarness(t, src)
	src.token = func(n int, _ bool) (wechat.Credential, error) {
		v := fmt.Sprintf("TOKEN-%d", n)
		mu.Lock()
		expiry[v] = h.clock.Now().Add(tokenLife)
		mu.Unlock()
		return wechat.Credential{Value: v, ExpiresIn: tokenLife}, nil
	}
	src.ticket = func(n int, tok string) (wechat.Credential, error) {
		mu.Lock()
		exp := expiry[tok]
		mu.Unlock()
		if !h.clock.Now().Add(latency).Before(exp) { // checked on arrival
			return wechat.Credential{}, apiErr(wechat.PathTicket, 42001)
		}
		return wechat.Credential{Value: fmt.Sprintf("TICKET-%d", n), ExpiresIn: ticketLife}, nil
	}
	h.mustTicket(t, "TICKET-1")

	// 6 s later the ticket is due (refreshAt 5.4 s), the token usable
	// (until 9 s) but 4 s from its end: not enough for a call that may take
	// 5 s (FetchTimeout), and this one takes 4.5 s.
	h.clock.Advance(6 * time.Second)
	h.mustTicket(t, "TICKET-1")
	h.idle()
	if st := h.store.Stats(); st.TicketCalls[wechat.ClassInvalidToken] != 0 {
		t.Errorf("%d ticket calls answered 42001", st.TicketCalls[wechat.ClassInvalidToken])
	}
	h.src.wantCalls(t, 2, 2, 0) // no 42001, no cure
	if got := src.ticketTokens[1]; got != "TOKEN-2" {
		t.Errorf("the refresh sent %s, want a new token", got)
	}
	h.mustTicket(t, "TICKET-2")
}
