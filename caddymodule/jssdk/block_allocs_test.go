// The race detector's instrumentation moves some stack buffers to the heap,
// so allocation counts are only meaningful without it.

//go:build !race

package jssdk

import (
	"testing"
	"time"
)

func TestAppendBlockAllocs(t *testing.T) {
	tmpl := newTestTemplate(t, nil)
	now := time.Unix(1717171717, 0)
	url := "https://example.com/pay/order.html?id=12345&from=singlemessage&isappinstalled=0"
	dst := make([]byte, 0, 8<<10)
	allocs := testing.AllocsPerRun(200, func() {
		dst = tmpl.appendBlock(dst[:0], testTicket, url, now, "cspNonce123")
	})
	t.Logf("appendBlock with a pre-grown dst: %v allocs/op", allocs)
	if allocs != 0 {
		t.Errorf("appendBlock allocates %v times per call with a pre-grown dst, want 0", allocs)
	}
}
