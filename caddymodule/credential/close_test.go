package credential

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// TestCloseCancelsBackgroundRefresh: Close cancels a refresh held upstream
// and waits for it.
func TestCloseCancelsBackgroundRefresh(t *testing.T) {
	h := newHarness(t, nil)
	h.mustTicket(t, "TICKET-1-4b8e2d")
	gate, started := make(chan struct{}), make(chan string, 1)
	defer close(gate)
	h.src.setGate(gate, started)
	h.clock.Advance(refreshAfter)
	h.mustTicket(t, "TICKET-1-4b8e2d")
	<-started

	closed := make(chan struct{})
	go func() {
		h.store.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return: the background refresh was not cancelled")
	}
	h.store.Close() // idempotent

	h.src.mu.Lock()
	ctxErrs := h.src.ctxErrs
	h.src.mu.Unlock()
	if len(ctxErrs) != 3 || ctxErrs[0] != nil || ctxErrs[1] != nil || !errors.Is(ctxErrs[2], context.Canceled) {
		t.Errorf("upstream context errors %v, want the first token and ticket calls to succeed and the refresh to be cancelled", ctxErrs)
	}
	for class, n := range h.store.Stats().Failures {
		if n != 0 {
			t.Errorf("a cancellation by Close counted as a %v failure", class)
		}
	}
	if len(h.logs.FilterMessageSnippet("cannot get").All()) != 0 {
		t.Error("a cancellation by Close was logged as a failure")
	}
	_, err := h.store.Ticket(context.Background())
	if !errors.Is(err, ErrClosed) || !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ticket after Close: %v, want ErrClosed and ErrUnavailable", err)
	}
}

// TestNoGoroutineLeak: after Close, every goroutine the store started (its
// refreshes, singleflight's, ristretto's) is gone.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	h := newHarness(t, nil)
	h.mustTicket(t, "")
	h.clock.Advance(refreshAfter)
	h.mustTicket(t, "")
	h.store.Close()

	// Goroutines end a little after the work they did is observable;
	// there is nothing to wait on but the count itself.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}
