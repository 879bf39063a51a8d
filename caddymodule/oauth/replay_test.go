package oauth

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReplayCacheOnce(t *testing.T) {
	c := newReplayCache(16)
	id := newStateID()
	exp := testNow.Add(stateTTL)
	if !c.consume(id, exp, testNow) {
		t.Fatal("first use refused")
	}
	if c.consume(id, exp, testNow.Add(time.Second)) {
		t.Fatal("second use accepted")
	}
	// concurrent uses of one state: exactly one wins
	id2 := newStateID()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if c.consume(id2, exp, testNow) {
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
	first := newStateID()
	c.consume(first, testNow.Add(time.Minute), testNow)
	c.consume(newStateID(), testNow.Add(2*time.Minute), testNow)
	// a minute later the first has expired and goes with the next insert
	c.consume(newStateID(), testNow.Add(3*time.Minute), testNow.Add(time.Minute))
	if n := c.len(); n != 2 {
		t.Errorf("%d remembered, want 2 (the expired one forgotten)", n)
	}
	// beyond the limit the oldest goes, expired or not
	for range 10 {
		c.consume(newStateID(), testNow.Add(time.Hour), testNow.Add(time.Minute))
	}
	if n := c.len(); n != 4 {
		t.Errorf("%d remembered, want the limit, 4", n)
	}
	if len(c.order) != c.len() {
		t.Errorf("order has %d entries for %d ids", len(c.order), c.len())
	}
}
