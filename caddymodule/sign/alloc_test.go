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

func TestJSSDKTicketDoesNotAllocate(t *testing.T) {
	v := loadVectors(t)[0]
	tk := NewJSSDKTicket(v.Ticket)
	dst := make([]byte, 0, 128)
	if allocs := testing.AllocsPerRun(100, func() {
		dst = tk.AppendNonceJSSDK(dst[:0], ":", "1414587457", v.URL)
		dst = tk.AppendJSSDK(dst[:0], v.Nonce, "1414587457", v.URL)
	}); allocs != 0 {
		t.Errorf("JSSDKTicket's appends with room in dst allocate %v times, want 0", allocs)
	}
}
