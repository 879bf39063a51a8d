// The race detector's instrumentation moves some stack buffers to the heap,
// so allocation counts are only meaningful without it.

//go:build !race

package jssdk

import (
	"testing"
	"time"
)

// TestAppendWeComBlockAllocs: a WeCom page's block, both signatures
// included, costs no allocation with a pre-grown dst, as an Official
// Account's does; and a page with both tickets cached waits for nothing.
func TestAppendWeComBlockAllocs(t *testing.T) {
	h := validWeCom()
	h.applyDefaults()
	if err := h.preparePages(); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1717171717, 0)
	url := "https://work.example.com/app/?id=12345&from=singlemessage"
	dst := make([]byte, 0, 8<<10)
	allocs := testing.AllocsPerRun(200, func() {
		dst = h.pages.wecom.appendBlock(dst[:0], &h.pages.tmpl, "corp-ticket", "agent-ticket", url, now, "cspNonce123")
	})
	if allocs != 0 {
		t.Errorf("WeCom appendBlock allocates %v times per call with a pre-grown dst, want 0", allocs)
	}

	api := newFakeWeComAPI("wwallocs000000001", "allocs-secret")
	srv := newWeComAPIServer(t, api)
	wh := weComHandler(t, srv.URL, api.corpID, "1000014", api.secret, nil, nil, nil)
	weComPage(t, wh, "/warm")
	ctx := t.Context()
	allocs = testing.AllocsPerRun(200, func() {
		if _, _, err := wh.pages.tickets(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("tickets with both cached allocates %v times per call, want 0", allocs)
	}
}
