package jssdk

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/credential"
)

// benchPageSize is the page the load harness (testdata/load) serves.
const benchPageSize = 16 << 10

// benchPage is an HTML page of exactly size bytes with "</head>" near the
// start, like a typical server-rendered page.
func benchPage(size int) []byte {
	const head = "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">" +
		"<meta name=\"viewport\" content=\"width=device-width\"><title>Order</title>" +
		"<link rel=\"stylesheet\" href=\"/style.css\"></head>\n<body>\n"
	const item = "<div class=\"item\"><h2>Item</h2><p>Some text with a <a href=\"/x?a=1&amp;b=2\">link</a>.</p></div>\n"
	const tail = "</body></html>\n"
	var b bytes.Buffer
	b.WriteString(head)
	for b.Len()+len(item)+len(tail) <= size {
		b.WriteString(item)
	}
	b.WriteString(strings.Repeat(" ", size-b.Len()-len(tail)))
	b.WriteString(tail)
	return b.Bytes()
}

// discardWriter is the client side of a benchmark: it keeps no body, reuses
// its header map, and has the io.ReaderFrom that net/http's response has, so
// a pass-through keeps file_server's ReadFrom path as it does in Caddy.
type discardWriter struct {
	header http.Header
	status int
	n      int64
	buf    [32 << 10]byte
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += int64(len(p))
	return len(p), nil
}

// ReadFrom moves the body through a buffer as net/http does when it cannot
// use sendfile (here the page is in memory), without allocating one.
func (w *discardWriter) ReadFrom(r io.Reader) (int64, error) {
	w.WriteHeader(http.StatusOK)
	var total int64
	for {
		n, err := r.Read(w.buf[:])
		total += int64(n)
		w.n += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (w *discardWriter) reset() {
	clear(w.header)
	w.status, w.n = 0, 0
}

// fileServerNext answers like file_server: http.ServeContent over the page,
// typed by the name's extension, which sends the body with io.CopyN and so
// through the writer's ReadFrom.
func fileServerNext(page []byte, name string) caddyhttp.Handler {
	modTime := time.Unix(1717171717, 0)
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		http.ServeContent(w, r, name, modTime, bytes.NewReader(page))
		return nil
	})
}

// newBenchHandler is a provisioned Handler with a warm ticket: a real
// credential store over fakeSource, filled before the timer starts.
func newBenchHandler(b *testing.B) *Handler {
	b.Helper()
	h := &Handler{AppID: testAppID, AppSecret: "{env.WECHAT_APP_SECRET}", Timeout: caddy.Duration(2 * time.Second)}
	h.applyDefaults()
	if err := h.Validate(); err != nil {
		b.Fatal(err)
	}
	if err := h.preparePages(); err != nil {
		b.Fatal(err)
	}
	var err error
	h.logger = zap.NewNop()
	h.pages.store, err = credential.New(credential.Config{Source: &fakeSource{}, Logger: zap.NewNop(), FetchTimeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(h.pages.store.Close)
	if _, err := h.pages.ticket(b.Context()); err != nil {
		b.Fatal(err)
	}
	return h
}

// benchRequest is a GET of target as net/http's server hands it over: with
// the listener's address in its context, which the Host port is checked
// against (httptest.NewRequest's Host is example.com, port 80).
func benchRequest(target string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}
	return r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, local))
}

// BenchmarkServeHTTP is one 16 KiB page through the whole handler with a
// warm ticket, next to the same page without it:
//
//   - next-only: file_server's part alone, no wechat_jssdk (the floor);
//   - pass-through: through ServeHTTP, a response it does not touch (the
//     same bytes served as text/plain): the cost of the wrapper;
//   - inject: the page through ServeHTTP, signed and injected;
//   - inject-parallel: the same from GOMAXPROCS goroutines, for contention
//     on the credential store and the writer pool.
//
// Each iteration checks the byte count, so a benchmark that stopped
// injecting (or started to) fails instead of looking fast.
func BenchmarkServeHTTP(b *testing.B) {
	page := benchPage(benchPageSize)
	const target = "/pay/order.html?id=12345&from=singlemessage&isappinstalled=0"
	h := newBenchHandler(b)

	// One request shows what an injected page adds, for the checks below.
	w := &discardWriter{header: http.Header{}}
	if err := h.ServeHTTP(w, benchRequest(target), fileServerNext(page, "order.html")); err != nil {
		b.Fatal(err)
	}
	injected := w.n
	if injected <= int64(len(page)) {
		b.Fatalf("the warm-up page was not injected: %d bytes out of %d", injected, len(page))
	}

	cases := []struct {
		name string
		next caddyhttp.Handler
		want int64
	}{
		{"next-only", fileServerNext(page, "order.html"), int64(len(page))},
		{"pass-through", fileServerNext(page, "order.txt"), int64(len(page))},
		{"inject", fileServerNext(page, "order.html"), injected},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := benchRequest(target)
			w := &discardWriter{header: http.Header{}}
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				var err error
				if c.name == "next-only" {
					err = c.next.ServeHTTP(w, r)
				} else {
					err = h.ServeHTTP(w, r, c.next)
				}
				if err != nil || w.status != http.StatusOK || w.n != c.want {
					b.Fatalf("status %d, %d bytes, err %v; want 200, %d bytes", w.status, w.n, err, c.want)
				}
			}
		})
	}

	b.Run("inject-parallel", func(b *testing.B) {
		next := fileServerNext(page, "order.html")
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			r := benchRequest(target)
			w := &discardWriter{header: http.Header{}}
			for pb.Next() {
				w.reset()
				if err := h.ServeHTTP(w, r, next); err != nil || w.n != injected {
					b.Errorf("%d bytes, err %v; want %d bytes", w.n, err, injected)
					return
				}
			}
		})
	})
}

// BenchmarkSignatureBlock is the per-page signature path as issue #3 states
// it: a nonce, the SHA-1 and the wx.config JSON object around them (URL
// escaped), without the constant boot script appendBlock copies after it.
// The harness compares it with sign's BenchmarkBareSHA1.
func BenchmarkSignatureBlock(b *testing.B) {
	tmpl := newTestTemplate(b, nil)
	now := time.Unix(1717171717, 0)
	url := "https://example.com/pay/order.html?id=12345&from=singlemessage&isappinstalled=0"
	dst := make([]byte, 0, 4<<10)
	b.ReportAllocs()
	for b.Loop() {
		dst = tmpl.appendConfig(dst[:0], testTicket, url, now)
	}
}
