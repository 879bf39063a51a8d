package credential

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// failOnce makes the first ticket call fail with err.
func failOnce(err error) *fakeSource {
	return &fakeSource{ticket: func(n int, _ string) (wechat.Credential, error) {
		if n == 1 {
			return wechat.Credential{}, err
		}
		return wechat.Credential{Value: fmt.Sprintf("TICKET-%d-4b8e2d", n), ExpiresIn: lifetime}, nil
	}}
}

func TestBackoffPerClass(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		class wechat.Class
		delay time.Duration
	}{
		{"busy", apiErr(wechat.PathTicket, -1), wechat.ClassRetryable, time.Second},
		{"network", &wechat.RequestError{Endpoint: wechat.PathTicket, Err: io.ErrUnexpectedEOF}, wechat.ClassRetryable, time.Second},
		{"5xx", &wechat.ResponseError{Endpoint: wechat.PathTicket, StatusCode: 502}, wechat.ClassRetryable, time.Second},
		{"unknown errcode", apiErr(wechat.PathTicket, 48001), wechat.ClassUnknown, time.Second},
		{"minute quota", apiErr(wechat.PathTicket, 45011), wechat.ClassQuota, time.Minute},
		{"daily quota", apiErr(wechat.PathTicket, 45009), wechat.ClassQuota, 10 * time.Minute},
		{"invalid appid", apiErr(wechat.PathTicket, 40013), wechat.ClassConfig, 5 * time.Minute},
		{"invalid secret", apiErr(wechat.PathTicket, 40125), wechat.ClassConfig, 5 * time.Minute},
		{"frozen secret", apiErr(wechat.PathTicket, 40243), wechat.ClassConfig, 5 * time.Minute},
		{"admin pending", apiErr(wechat.PathTicket, 89503), wechat.ClassConfig, 5 * time.Minute},
		{"ip whitelist", apiErr(wechat.PathTicket, 40164), wechat.ClassIPWhitelist, 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, failOnce(tt.err))
			t0 := h.clock.Now()
			_, err := h.ticket(t)
			if !errors.Is(err, ErrUnavailable) || !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want ErrUnavailable wrapping %v", err, tt.err)
			}
			st := h.store.Stats()
			if !st.BackoffUntil.Equal(t0.Add(tt.delay)) {
				t.Errorf("BackoffUntil = +%v, want +%v", st.BackoffUntil.Sub(t0), tt.delay)
			}
			if st.Failures[tt.class] != 1 {
				t.Errorf("Failures = %v, want one %v", st.Failures, tt.class)
			}

			h.clock.Advance(tt.delay - time.Millisecond)
			_, err = h.ticket(t)
			if !errors.Is(err, ErrUnavailable) || !errors.Is(err, tt.err) {
				t.Fatalf("during backoff: err = %v, want ErrUnavailable wrapping %v", err, tt.err)
			}
			h.src.wantCalls(t, 1, 1, 0)

			h.clock.Advance(time.Millisecond)
			h.mustTicket(t, "TICKET-2-4b8e2d")
			h.src.wantCalls(t, 1, 2, 0)
			if st := h.store.Stats(); !st.BackoffUntil.IsZero() {
				t.Errorf("BackoffUntil = %v after recovery", st.BackoffUntil)
			}
		})
	}
}

func TestExponentialBackoff(t *testing.T) {
	h := newHarness(t, &fakeSource{ticket: func(int, string) (wechat.Credential, error) {
		return wechat.Credential{}, apiErr(wechat.PathTicket, -1)
	}})
	for i, want := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60} {
		now := h.clock.Now()
		if _, err := h.ticket(t); err == nil {
			t.Fatal("Ticket succeeded")
		}
		if got := h.store.Stats().BackoffUntil.Sub(now); got != want*time.Second {
			t.Errorf("failure %d: backoff %v, want %v", i+1, got, want*time.Second)
		}
		h.clock.Advance(want * time.Second)
	}
	h.src.wantCalls(t, 1, 9, 0)
}

func TestJitter(t *testing.T) {
	for _, d := range []time.Duration{time.Second, 7 * time.Second, time.Minute} {
		seen := map[time.Duration]bool{}
		for range 1000 {
			j := equalJitter(d)
			if j < d/2 || j > d {
				t.Fatalf("equalJitter(%v) = %v, outside [d/2, d]", d, j)
			}
			seen[j] = true
		}
		if len(seen) < 10 {
			t.Errorf("equalJitter(%v) took only %d values", d, len(seen))
		}
	}
}

// TestStaleDuringBackoff: a ticket past its margin but not expired is served
// while upstream fails, and only then.
func TestStaleDuringBackoff(t *testing.T) {
	src := &fakeSource{}
	h := newHarness(t, src)
	h.mustTicket(t, "TICKET-1-4b8e2d")
	src.ticket = func(n int, _ string) (wechat.Credential, error) {
		if n == 2 {
			return wechat.Credential{}, apiErr(wechat.PathTicket, 45009)
		}
		return wechat.Credential{Value: "TICKET-NEW", ExpiresIn: lifetime}, nil
	}

	// Past the margin (6900 s), before expiry (7200 s); the token is
	// past its margin too, so the flight fetches one.
	h.clock.Advance(7000 * time.Second)
	h.mustTicket(t, "TICKET-1-4b8e2d")
	h.src.wantCalls(t, 2, 2, 0)
	h.mustTicket(t, "TICKET-1-4b8e2d") // in backoff: no call
	h.src.wantCalls(t, 2, 2, 0)
	if st := h.store.Stats(); st.ServedStale != 2 {
		t.Errorf("ServedStale = %d, want 2", st.ServedStale)
	}

	// within staleGuard of WeChat's expiry (7200 s): no longer served, since
	// the page would be checked after the ticket died
	h.clock.Advance(200*time.Second - staleGuard)
	if _, err := h.ticket(t); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("%s before expiry: err = %v, want ErrUnavailable", staleGuard, err)
	}
	h.clock.Advance(staleGuard) // expired; still in the 10 min window
	_, err := h.ticket(t)
	var apiError *wechat.APIError
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &apiError) || apiError.Code != 45009 {
		t.Fatalf("err = %v, want ErrUnavailable wrapping errcode 45009", err)
	}
	h.src.wantCalls(t, 2, 2, 0)

	h.clock.Advance(400 * time.Second) // window over
	h.mustTicket(t, "TICKET-NEW")
	h.src.wantCalls(t, 2, 3, 0)
}

// TestRefreshFailureKeepsServing: a failed refresh ahead does not disturb
// callers, and is not retried before its window ends.
func TestRefreshFailureKeepsServing(t *testing.T) {
	src := &fakeSource{}
	h := newHarness(t, src)
	h.mustTicket(t, "TICKET-1-4b8e2d")
	src.ticket = func(n int, _ string) (wechat.Credential, error) {
		if n == 2 {
			return wechat.Credential{}, apiErr(wechat.PathTicket, 45011)
		}
		return wechat.Credential{Value: "TICKET-NEW", ExpiresIn: lifetime}, nil
	}
	h.clock.Advance(refreshAfter)
	h.mustTicket(t, "TICKET-1-4b8e2d")
	h.idle()
	h.src.wantCalls(t, 1, 2, 0)
	for range 10 {
		h.clock.Advance(5 * time.Second)
		h.mustTicket(t, "TICKET-1-4b8e2d")
	}
	h.idle()
	h.src.wantCalls(t, 1, 2, 0)
	h.clock.Advance(10 * time.Second) // the 60 s window is over
	h.mustTicket(t, "TICKET-1-4b8e2d")
	h.idle()
	h.src.wantCalls(t, 1, 3, 0)
	h.mustTicket(t, "TICKET-NEW")
	if st := h.store.Stats(); st.ServedStale != 0 {
		t.Errorf("ServedStale = %d, want 0: the ticket never passed its margin", st.ServedStale)
	}
}

// TestEmptyCredentialRejected: a success without a value or a lifetime is a
// failure, not something to cache.
func TestEmptyCredentialRejected(t *testing.T) {
	for _, c := range []wechat.Credential{{ExpiresIn: lifetime}, {Value: "TICKET-NO-LIFE"}} {
		h := newHarness(t, &fakeSource{ticket: func(int, string) (wechat.Credential, error) { return c, nil }})
		if _, err := h.ticket(t); !errors.Is(err, ErrUnavailable) || !errors.Is(err, errNoLifetime) {
			t.Errorf("%v: err = %v, want ErrUnavailable wrapping errNoLifetime", c, err)
		}
		if st := h.store.Stats(); st.Failures[wechat.ClassUnknown] != 1 {
			t.Errorf("%v: Failures = %v, want one unknown", c, st.Failures)
		}
	}
}
