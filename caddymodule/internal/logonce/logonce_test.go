package logonce

import (
	"sync"
	"testing"
)

func TestFirstOncePerCause(t *testing.T) {
	var s Set
	var wg sync.WaitGroup
	firsts := make([]int32, 32)
	var mu sync.Mutex
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range uint8(32) {
				if s.First(c) {
					mu.Lock()
					firsts[c]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for c, n := range firsts {
		if n != 1 {
			t.Errorf("cause %d was first %d times", c, n)
		}
	}
}
