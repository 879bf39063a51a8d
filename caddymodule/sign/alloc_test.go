//go:build !race

// The race detector's instrumentation makes crypto/rand's buffer escape, so
// the zero-allocation promise holds, and is checked, in normal builds only.

package sign

import "testing"

func TestAppendNonceDoesNotAllocate(t *testing.T) {
	dst := make([]byte, 0, NonceSize)
	if allocs := testing.AllocsPerRun(100, func() { dst = AppendNonce(dst[:0]) }); allocs != 0 {
		t.Errorf("AppendNonce with room in dst allocates %v times, want 0", allocs)
	}
}
