package oauth

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReplayCacheOnce(t *testing.T) {
	c := newReplayCache(16)
	id := newStateID()
	exp := testNow.Add(stateTTL)
	code, other := digestCode("code-a"), digestCode("code-b")
	fl, first := c.consume(id, exp, code, testNow)
	if !first || fl == nil {
		t.Fatal("first use refused")
	}
	if got, first := c.consume(id, exp, other, testNow.Add(time.Second)); first || got != nil {
		t.Fatal("second use with another code accepted")
	}
	if got, first := c.consume(id, exp, code, testNow.Add(time.Second)); first || got != fl {
		t.Fatal("a repeat with the same code did not get the first use's flight")
	}
	if got, _ := c.consume(id, exp, code, testNow.Add(repeatWindow)); got != nil {
		t.Fatal("a repeat after the window got the flight")
	}
	// concurrent uses of one state: exactly one wins
	id2 := newStateID()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if _, first := c.consume(id2, exp, code, testNow); first {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d concurrent uses won, want 1", wins.Load())
	}
}

func TestReplayCachePrunes(t *testing.T) {
	c := newReplayCache(4)
	d := digestCode("c")
	first := newStateID()
	c.consume(first, testNow.Add(time.Minute), d, testNow)
	c.consume(newStateID(), testNow.Add(2*time.Minute), d, testNow)
	// a minute later the first has expired and goes with the next insert,
	// and the flights of both, their repeat window over
	c.consume(newStateID(), testNow.Add(3*time.Minute), d, testNow.Add(time.Minute))
	if n := c.len(); n != 2 {
		t.Errorf("%d remembered, want 2 (the expired one forgotten)", n)
	}
	if n := c.flights(); n != 1 {
		t.Errorf("%d flights kept, want 1 (the newest)", n)
	}
	// beyond the limit the oldest goes, expired or not
	for range 10 {
		c.consume(newStateID(), testNow.Add(time.Hour), d, testNow.Add(time.Minute))
	}
	if n := c.len(); n != 4 {
		t.Errorf("%d remembered, want the limit, 4", n)
	}
	if len(c.order) != c.len() || len(c.recent) > c.limit {
		t.Errorf("order has %d entries and recent %d for %d ids", len(c.order), len(c.recent), c.len())
	}
}

func TestFlight(t *testing.T) {
	fl := newFlight()
	if _, ok := fl.wait(context.Background(), 10*time.Millisecond); ok {
		t.Fatal("an answer before resolve")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := fl.wait(ctx, time.Minute); ok {
		t.Fatal("an answer after the context ended")
	}
	var wg sync.WaitGroup
	got := make([]answer, 8)
	for i := range got {
		wg.Go(func() { got[i], _ = fl.wait(context.Background(), time.Minute) })
	}
	fl.resolve(answer{Status: 302, Location: "/x"})
	fl.resolve(answer{Status: 400}) // only the first counts
	wg.Wait()
	for i, a := range got {
		if a.Status != 302 || a.Location != "/x" {
			t.Errorf("waiter %d got %+v", i, a)
		}
	}
}
