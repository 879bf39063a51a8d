package pay

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBufferNeverPassesMaxBody: however the body arrives, the held buffer's
// capacity stays within max_body, so a pooled buffer is bounded by it.
func TestBufferNeverPassesMaxBody(t *testing.T) {
	for _, max := range []int64{1, 100, 1000, 4096} {
		h, _ := newHandler(t, func(h *Handler) { h.MaxBody = max })
		rw := newResponseWriter(h, httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		rw.buf = nil
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusOK)
		for i := int64(0); i < max; i++ {
			rw.Write([]byte{' '})
			if int64(cap(rw.buf)) > max {
				t.Fatalf("max_body %d: buffer capacity %d after %d bytes", max, cap(rw.buf), i+1)
			}
		}
		if rw.state != buffering || int64(len(rw.buf)) != max {
			t.Fatalf("max_body %d: state %d, %d bytes held", max, rw.state, len(rw.buf))
		}
		rw.Write([]byte{' '})
		if rw.state != passing {
			t.Errorf("max_body %d: one byte more did not switch to passing", max)
		}
		rw.finish(nil)
		rw.release()
	}
}

// TestReleaseBoundsPooledBuffers: a buffer larger than the handler's
// max_body (one a Content-Length presized, or one from a handler with a
// larger limit) is not put back.
func TestReleaseBoundsPooledBuffers(t *testing.T) {
	h, _ := newHandler(t, func(h *Handler) { h.MaxBody = 1024 })
	for _, tc := range []struct {
		capacity int
		kept     bool
	}{{512, true}, {1024, true}, {1025, false}, {1 << 20, false}} {
		rw := newResponseWriter(h, httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		rw.buf = make([]byte, 10, tc.capacity)
		rw.member = make([]byte, 10, 64)
		rw.release()
		// release resets rw in place before pooling it; no other goroutine
		// of this package's tests uses the pool meanwhile
		if kept := rw.buf != nil; kept != tc.kept || len(rw.buf) != 0 {
			t.Errorf("capacity %d: kept %v (len %d), want %v", tc.capacity, kept, len(rw.buf), tc.kept)
		}
		if rw.h != nil || rw.req != nil || rw.ResponseWriter != nil || rw.state != undecided || len(rw.member) != 0 {
			t.Errorf("release left request state behind: %+v", rw)
		}
	}
}

// TestContentLengthPresizes: a known length within max_body is held in one
// allocation; one over it streams at once without buffering.
func TestContentLengthPresizes(t *testing.T) {
	h, _ := newHandler(t, func(h *Handler) { h.MaxBody = 1000 })
	rec := httptest.NewRecorder()
	rw := newResponseWriter(h, rec, httptest.NewRequest(http.MethodGet, "/", nil))
	rw.buf = nil
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Content-Length", "700")
	rw.WriteHeader(http.StatusOK)
	if rw.state != buffering || cap(rw.buf) != 700 {
		t.Errorf("state %d, capacity %d; want buffering with 700", rw.state, cap(rw.buf))
	}
	rw.finish(nil)
	rw.release()

	rw = newResponseWriter(h, rec, httptest.NewRequest(http.MethodGet, "/", nil))
	rw.Header().Set("Content-Length", "1001")
	rw.WriteHeader(http.StatusOK)
	if rw.state != passing {
		t.Errorf("a declared 1001 bytes over max_body 1000 is held")
	}
	rw.finish(nil)
	rw.release()
}

func TestMemberTemplate(t *testing.T) {
	m := newMemberTemplate(`out"<`, "wx1", "HMAC-SHA256")
	got := string(m.appendTo([]byte("x"), "1414561699", "NONCE", "prepay_id=wx1", "AB+/="))
	want := `x,"out\"\u003c":{"appId":"wx1","timeStamp":"1414561699","nonceStr":"NONCE","package":"prepay_id=wx1","signType":"HMAC-SHA256","paySign":"AB+/="}`
	if got != want {
		t.Errorf("member\n got %s\nwant %s", got, want)
	}
	if !strings.HasPrefix(got, "x,") {
		t.Error("appendTo did not append")
	}
}

func TestIsJSON(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json":                    true,
		"application/json;charset=UTF-8":      true,
		" Application/JSON ; charset=utf-8":   true,
		"application/problem+json":            true,
		"application/vnd.api+json; ext=x":     true,
		"application/+json":                   false,
		"application/json-seq":                false,
		"application/x-ndjson":                false,
		"text/json":                           false,
		"text/plain":                          false,
		"":                                    false,
		"application/a/b+json":                false,
		"application/jsonp":                   false,
		"multipart/mixed; boundary=+json":     false,
		"application/vnd.a+json+xml":          false,
		"application/ld+json; profile=\"x\"":  true,
		"application/geo+json-seq":            false,
		"application/json, text/html":         false,
		"application/vnd.x+json\t; charset=x": true,
	} {
		if got := isJSON(ct); got != want {
			t.Errorf("isJSON(%q) = %v, want %v", ct, got, want)
		}
	}
}
