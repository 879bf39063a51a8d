package credential

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

func TestRefreshTicketOncePer30s(t *testing.T) {
	h := newHarness(t, nil)
	h.mustTicket(t, "TICKET-1-4b8e2d")

	// 100 pages report an invalid signature at once: one ticket call. Each
	// call waits for that refetch, or, arriving after it, is refused.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, limited int
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := h.store.RefreshTicket(context.Background())
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrRefreshLimited):
				limited++
			default:
				t.Errorf("RefreshTicket: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok+limited != 100 || ok == 0 {
		t.Errorf("%d waited for the refetch, %d limited; want 100 in all, at least one waiting", ok, limited)
	}
	h.src.wantCalls(t, 1, 2, 0) // the token was not refetched, nor forced
	h.mustTicket(t, "TICKET-2-4b8e2d")

	// right after: refused, whatever the ticket (the floor)
	var le *RefreshLimitedError
	h.clock.Advance(time.Second)
	if err := h.store.RefreshTicket(context.Background()); !errors.As(err, &le) || le.RetryAfter != suspectFloor-time.Second {
		t.Fatalf("1 s later: %v, want limited for %s", err, suspectFloor-time.Second)
	}
	// past the floor, the refetched ticket (not suspected yet: a second
	// rotation) may be refetched
	h.clock.Advance(suspectFloor)
	if err := h.store.RefreshTicket(context.Background()); err != nil {
		t.Fatalf("a new rotation 6 s later: %v", err)
	}
	h.src.wantCalls(t, 1, 3, 0)
}

// WeChat hands back the same ticket (it thinks it valid): pages reporting
// it again do not cause another call for 30 s.
func TestRefreshTicketSameTicketOncePer30s(t *testing.T) {
	h := newHarness(t, &fakeSource{ticket: func(int, string) (wechat.Credential, error) {
		return wechat.Credential{Value: "TICKET-SAME", ExpiresIn: lifetime}, nil
	}})
	h.mustTicket(t, "TICKET-SAME")
	if err := h.store.RefreshTicket(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.src.wantCalls(t, 1, 2, 0)
	var le *RefreshLimitedError
	h.clock.Advance(10 * time.Second)
	if err := h.store.RefreshTicket(context.Background()); !errors.As(err, &le) || le.RetryAfter != 20*time.Second {
		t.Fatalf("the same ticket 10 s later: %v, want limited for 20 s", err)
	}
	h.clock.Advance(20 * time.Second)
	if err := h.store.RefreshTicket(context.Background()); err != nil {
		t.Fatalf("30 s later: %v", err)
	}
	h.src.wantCalls(t, 1, 3, 0)
}

// A ticket refetch whose ticket call rejects the token refetches the token
// once (the ordinary cure), without forcing it.
func TestRefreshTicketCuresRejectedToken(t *testing.T) {
	h := newHarness(t, &fakeSource{ticket: func(n int, token string) (wechat.Credential, error) {
		if n == 2 { // the rotation: the old token is no longer accepted
			return wechat.Credential{}, apiErr(wechat.PathTicket, 40001)
		}
		return wechat.Credential{Value: "TICKET-" + token, ExpiresIn: lifetime}, nil
	}})
	h.mustTicket(t, "TICKET-TOKEN-1-7f3a9c")
	if err := h.store.RefreshTicket(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.src.wantCalls(t, 2, 3, 0)
	h.mustTicket(t, "TICKET-TOKEN-2-7f3a9c")
}

func TestRefreshTicketAfterClose(t *testing.T) {
	h := newHarness(t, nil)
	h.store.Close()
	if err := h.store.RefreshTicket(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}
