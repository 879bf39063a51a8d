package credential

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// TestInvalidTokenOneRefetch: a ticket call rejecting the token costs one
// token refetch and one more ticket call.
func TestInvalidTokenOneRefetch(t *testing.T) {
	for _, code := range []int{40001, 40014, 42001} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			h := newHarness(t, &fakeSource{ticket: func(n int, tok string) (wechat.Credential, error) {
				if n == 1 {
					return wechat.Credential{}, apiErr(wechat.PathTicket, code)
				}
				return wechat.Credential{Value: "TICKET-for-" + tok, ExpiresIn: lifetime}, nil
			}})
			h.mustTicket(t, "TICKET-for-TOKEN-2-7f3a9c")
			h.src.wantCalls(t, 2, 2, 0)
			if st := h.store.Stats(); st.Failures[wechat.ClassInvalidToken] != 1 {
				t.Errorf("invalid_token failures = %d, want 1", st.Failures[wechat.ClassInvalidToken])
			}
			// The new token is the cached one: a later refresh uses it.
			h.clock.Advance(refreshAfter)
			h.mustTicket(t, "")
			h.idle()
			h.src.wantCalls(t, 2, 3, 0)
		})
	}
}

// TestInvalidTokenPersists: with a different token refetched and still
// rejected, the store gives up (no force) and backs off.
func TestInvalidTokenPersists(t *testing.T) {
	h := newHarness(t, &fakeSource{ticket: func(int, string) (wechat.Credential, error) {
		return wechat.Credential{}, apiErr(wechat.PathTicket, 40001)
	}})
	_, err := h.ticket(t)
	var apiError *wechat.APIError
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &apiError) || apiError.Code != 40001 {
		t.Fatalf("err = %v, want ErrUnavailable wrapping errcode 40001", err)
	}
	h.src.wantCalls(t, 2, 2, 0)
	if _, err := h.ticket(t); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v during backoff", err)
	}
	h.src.wantCalls(t, 2, 2, 0)
	// After the window the rejected token is not reused.
	h.clock.Advance(time.Second)
	_, _ = h.ticket(t)
	h.src.wantCalls(t, 4, 4, 0)
}

// rotatingSource models stable_token: a normal call hands out the current
// token, a forced one mints a new one; the ticket endpoint rejects the
// tokens in rejected.
func rotatingSource() (*fakeSource, map[string]bool, *string) {
	current := "STABLE-A"
	rejected := map[string]bool{"STABLE-A": true}
	forced := 0
	src := &fakeSource{}
	src.token = func(_ int, force bool) (wechat.Credential, error) {
		if force {
			forced++
			current = fmt.Sprintf("STABLE-F%d", forced)
		}
		return wechat.Credential{Value: current, ExpiresIn: lifetime}, nil
	}
	src.ticket = func(n int, tok string) (wechat.Credential, error) {
		if rejected[tok] {
			return wechat.Credential{}, apiErr(wechat.PathTicket, 40001)
		}
		return wechat.Credential{Value: fmt.Sprintf("TICKET-%d-%s", n, tok), ExpiresIn: 20 * time.Second}, nil
	}
	return src, rejected, &current
}

func TestForceRefreshOnlyForSameToken(t *testing.T) {
	src, rejected, current := rotatingSource()
	h := newHarness(t, src)

	// Episode 1: the refetched token is the rejected one: force.
	h.mustTicket(t, "TICKET-3-STABLE-F1")
	h.src.wantCalls(t, 3, 3, 1)

	// Episode 2, once the 20 s ticket has expired: same story, but
	// force_refresh was used less than 30 s ago.
	h.clock.Advance(21 * time.Second)
	rejected[*current] = true
	if _, err := h.ticket(t); !errors.Is(err, ErrUnavailable) || wechat.Classify(err) != wechat.ClassInvalidToken {
		t.Fatalf("err = %v, want ErrUnavailable with an invalid_token cause", err)
	}
	h.src.wantCalls(t, 4, 5, 1)

	// Episode 3, after 30 s: force is allowed again. The rejected token
	// was dropped, so the flight starts with a token fetch.
	h.clock.Advance(forceInterval)
	h.mustTicket(t, "TICKET-8-STABLE-F2")
	h.src.wantCalls(t, 7, 8, 2)
}
