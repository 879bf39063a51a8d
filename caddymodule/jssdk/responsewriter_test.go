package jssdk

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/credential"
	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// testPage is an ordinary page; the block must land before its </head>.
const testPage = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Pay</title></head>\n" +
	"<body><p>order 42</p><script>var a = 1 < 2;</script></body></html>\n"

// fakeSource stands in for WeChat behind a real credential.Store.
type fakeSource struct {
	err         error // when set, every call fails with it
	tokenCalls  atomic.Int32
	ticketCalls atomic.Int32
}

func (f *fakeSource) AccessToken(context.Context, bool) (wechat.Credential, error) {
	f.tokenCalls.Add(1)
	if f.err != nil {
		return wechat.Credential{}, f.err
	}
	return wechat.Credential{Value: "ACCESS_TOKEN_VALUE", ExpiresIn: 2 * time.Hour}, nil
}

func (f *fakeSource) Ticket(_ context.Context, token string) (wechat.Credential, error) {
	f.ticketCalls.Add(1)
	if f.err != nil {
		return wechat.Credential{}, f.err
	}
	if token != "ACCESS_TOKEN_VALUE" {
		return wechat.Credential{}, &wechat.APIError{Endpoint: wechat.PathTicket, Code: 40001, Msg: "invalid credential"}
	}
	return wechat.Credential{Value: testTicket, ExpiresIn: 2 * time.Hour}, nil
}

// errBadSecret is what WeChat says to a wrong secret: a configuration error,
// which the store does not retry.
var errBadSecret = &wechat.APIError{Endpoint: wechat.PathStableToken, Code: 40125, Msg: "invalid appsecret"}

// newTestHandler builds a Handler as Provision would, with a real credential
// store over src instead of the shared pool and the WeChat client.
func newTestHandler(t testing.TB, src credential.Source, modify func(h *Handler)) *Handler {
	t.Helper()
	h := &Handler{AppID: testAppID, AppSecret: "{env.WECHAT_APP_SECRET}", Timeout: caddy.Duration(2 * time.Second)}
	if modify != nil {
		modify(h)
	}
	h.applyDefaults()
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := h.preparePages(); err != nil {
		t.Fatal(err)
	}
	var err error
	h.logger = zap.NewNop()
	h.pages.store, err = credential.New(credential.Config{Source: src, Logger: zap.NewNop(), FetchTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.pages.store.Close)
	return h
}

// recorder records what reaches the client: every WriteHeader (1xx
// included, which httptest.ResponseRecorder would latch as final) with the
// header map as it was sent, the body, and where the flushes fell.
type recorder struct {
	header   http.Header
	statuses []int
	sent     []http.Header // header snapshot at each WriteHeader
	final    bool
	body     bytes.Buffer
	writes   []int // size of each Write
	flushes  []int // body length at each Flush
	deadline []time.Time
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.final {
		return
	}
	r.statuses = append(r.statuses, code)
	r.sent = append(r.sent, r.header.Clone())
	r.final = code >= 200
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.final {
		r.WriteHeader(http.StatusOK)
	}
	r.writes = append(r.writes, len(p))
	return r.body.Write(p)
}

func (r *recorder) Flush() {
	if !r.final {
		r.WriteHeader(http.StatusOK)
	}
	r.flushes = append(r.flushes, r.body.Len())
}

// SetWriteDeadline lets a test see http.ResponseController reach this
// writer through the wrapper's Unwrap.
func (r *recorder) SetWriteDeadline(t time.Time) error {
	r.deadline = append(r.deadline, t)
	return nil
}

// finalHeader is the header map sent with the final status.
func (r *recorder) finalHeader() http.Header {
	if len(r.sent) == 0 {
		return nil
	}
	return r.sent[len(r.sent)-1]
}

// readFromRecorder is a recorder with the io.ReaderFrom file_server's
// sendfile path uses.
type readFromRecorder struct {
	*recorder
	readFroms int
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.readFroms++
	if !r.final {
		r.WriteHeader(http.StatusOK)
	}
	return r.body.ReadFrom(src)
}

// onlyReader hides a reader's WriterTo, so that io.Copy goes through the
// destination's ReadFrom as io.CopyN in file_server does.
type onlyReader struct{ io.Reader }

func serve(t *testing.T, h *Handler, w http.ResponseWriter, r *http.Request, next caddyhttp.HandlerFunc) error {
	t.Helper()
	return h.ServeHTTP(w, r, next)
}

// splitBlock finds the one injected block in body and returns the body
// without it, the block, and what follows it.
func splitBlock(t *testing.T, body string) (rest, block, after string) {
	t.Helper()
	if n := strings.Count(body, `id="wechat-jssdk-config"`); n != 1 {
		t.Fatalf("%d config blocks in body:\n%s", n, body)
	}
	if n := strings.Count(body, `id="wechat-jssdk-boot"`); n != 1 {
		t.Fatalf("%d boot scripts in body:\n%s", n, body)
	}
	start := strings.Index(body, `<script id="wechat-jssdk-config"`)
	boot := strings.Index(body, `<script id="wechat-jssdk-boot"`)
	end := boot + strings.Index(body[boot:], "</script>") + len("</script>")
	return body[:start] + body[end:], body[start:end], body[end:]
}

// checkInjected checks that body is page with one valid block before the
// first "</head>" (or where wantBefore says) signed for url.
func checkInjected(t *testing.T, body, page, url, wantBefore string) parsedBlock {
	t.Helper()
	rest, block, after := splitBlock(t, body)
	if rest != page {
		t.Errorf("body without the block differs from the page:\n got %q\nwant %q", rest, page)
	}
	if !strings.HasPrefix(after, wantBefore) {
		t.Errorf("block not right before %q; followed by %.40q", wantBefore, after)
	}
	if wantBefore == "" && after != "" {
		t.Errorf("block not at the end; followed by %.40q", after)
	}
	if wantBefore != "" && strings.Index(page, wantBefore) != len(body)-len(after)-len(block) {
		t.Errorf("block not before the first %q", wantBefore)
	}
	p := parseBlock(t, []byte(block))
	if p.config.URL != url {
		t.Errorf("signed URL = %q, want %q", p.config.URL, url)
	}
	if want := wantSignature(testTicket, p.config.NonceStr, p.config.Timestamp, url); p.config.Signature != want {
		t.Errorf("signature %s, want %s", p.config.Signature, want)
	}
	return p
}

func htmlHeader(w http.ResponseWriter) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Length", fmt.Sprint(len(testPage)))
	hdr.Set("Accept-Ranges", "bytes")
	hdr.Set("Etag", `"v1-abc"`)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
}

func TestServeHTTPInjects(t *testing.T) {
	const url = "http://example.com/pay/order.html?id=42&from=singlemessage"
	tests := []struct {
		name     string
		method   string
		statuses []int
		next     func(w http.ResponseWriter, r *http.Request) error
	}{
		{name: "WriteHeader then Write", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			w.WriteHeader(http.StatusOK)
			_, err := w.Write([]byte(testPage))
			return err
		}},
		{name: "implicit 200", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			_, err := io.WriteString(w, testPage)
			return err
		}},
		{name: "201 Created", statuses: []int{201}, next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			w.WriteHeader(http.StatusCreated)
			_, err := w.Write([]byte(testPage))
			return err
		}},
		{name: "second WriteHeader ignored", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			w.WriteHeader(http.StatusOK)
			w.WriteHeader(http.StatusInternalServerError)
			_, err := w.Write([]byte(testPage))
			return err
		}},
		{name: "one byte per write", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			for i := range len(testPage) {
				if _, err := w.Write([]byte{testPage[i]}); err != nil {
					return err
				}
			}
			return nil
		}},
		{name: "ReadFrom", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			w.WriteHeader(http.StatusOK)
			_, err := w.(io.ReaderFrom).ReadFrom(onlyReader{strings.NewReader(testPage)})
			return err
		}},
		{name: "io.Copy takes ReadFrom", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			_, err := io.Copy(w, onlyReader{strings.NewReader(testPage)})
			return err
		}},
		{name: "io.Copy from strings.Reader", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			_, err := io.Copy(w, strings.NewReader(testPage))
			return err
		}},
		{name: "io.CopyN as file_server", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			w.WriteHeader(http.StatusOK)
			_, err := io.CopyN(w, strings.NewReader(testPage), int64(len(testPage)))
			return err
		}},
		{name: "103 Early Hints first", statuses: []int{103, 200}, next: func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Link", "</app.css>; rel=preload; as=style")
			w.WriteHeader(http.StatusEarlyHints)
			htmlHeader(w)
			w.WriteHeader(http.StatusOK)
			_, err := w.Write([]byte(testPage))
			return err
		}},
		{name: "xhtml", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			w.Header().Set("Content-Type", "Application/XHTML+XML")
			_, err := w.Write([]byte(testPage))
			return err
		}},
		{name: "Content-Encoding identity", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			w.Header().Set("Content-Encoding", "identity")
			_, err := w.Write([]byte(testPage))
			return err
		}},
		{name: "POST", method: http.MethodPost, next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			_, err := w.Write([]byte(testPage))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(t, &fakeSource{}, nil)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, "/pay/order.html?id=42&from=singlemessage", nil)
			for _, rec := range []http.ResponseWriter{newRecorder(), &readFromRecorder{recorder: newRecorder()}} {
				if err := serve(t, h, rec, r, tt.next); err != nil {
					t.Fatalf("ServeHTTP: %v", err)
				}
				var got *recorder
				switch rec := rec.(type) {
				case *recorder:
					got = rec
				case *readFromRecorder:
					got = rec.recorder
					if rec.readFroms != 0 {
						t.Errorf("the underlying ReadFrom got an HTML body to send unchanged")
					}
				}
				wantStatuses := tt.statuses
				if wantStatuses == nil {
					wantStatuses = []int{200}
				}
				if !reflect.DeepEqual(got.statuses, wantStatuses) {
					t.Errorf("statuses = %v, want %v", got.statuses, wantStatuses)
				}
				checkInjected(t, got.body.String(), testPage, url, "</head>")
				hdr := got.finalHeader()
				for _, k := range []string{"Content-Length", "Accept-Ranges"} {
					if v, ok := hdr[k]; ok {
						t.Errorf("%s: %q sent with a changed body", k, v)
					}
				}
				if got, want := hdr.Get("Etag"), `W/"v1-abc"`; got != want {
					t.Errorf("ETag = %q, want %q", got, want)
				}
				if hdr.Get("Cache-Control") != "no-cache" || hdr.Get("Last-Modified") == "" {
					t.Errorf("unrelated headers lost: %v", hdr)
				}
			}
		})
	}
}

func TestServeHTTPETag(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"strong"`, `W/"strong"`},
		{`W/"weak"`, `W/"weak"`},
		{``, ``},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h := newTestHandler(t, &fakeSource{}, nil)
			rec := newRecorder()
			err := serve(t, h, rec, httptest.NewRequest(http.MethodGet, "/", nil), func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Content-Type", "text/html")
				if tt.in != "" {
					w.Header().Set("ETag", tt.in)
				}
				_, err := io.WriteString(w, testPage)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.finalHeader()["Etag"]; tt.want == "" && got != nil || tt.want != "" && !reflect.DeepEqual(got, []string{tt.want}) {
				t.Errorf("ETag = %q, want %q", got, tt.want)
			}
		})
	}
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := io.WriteString(zw, s); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestServeHTTPPassThrough(t *testing.T) {
	gz := gzipped(t, testPage)
	type response struct {
		header   http.Header
		statuses []int
		body     []byte
	}
	html := func(extra ...string) http.Header {
		h := http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Etag": {`"v1"`}, "Content-Length": {fmt.Sprint(len(testPage))}}
		for i := 0; i+1 < len(extra); i += 2 {
			h.Set(extra[i], extra[i+1])
		}
		return h
	}
	tests := []struct {
		name     string
		method   string
		reqHdr   http.Header
		resp     response
		implicit bool   // next writes the body without calling WriteHeader
		sniffed  string // Content-Type the wrapper may add, as net/http would
	}{
		{name: "CSS", resp: response{http.Header{"Content-Type": {"text/css"}, "Etag": {`"c"`}}, []int{200}, []byte("body{}</head>")}},
		{name: "JSON", resp: response{http.Header{"Content-Type": {"application/json"}}, []int{200}, []byte(`{"a":"</head>"}`)}},
		{name: "text/htmlx is not HTML", resp: response{http.Header{"Content-Type": {"text/htmlx"}}, []int{200}, []byte(testPage)}},
		{name: "204", resp: response{html(), []int{204}, nil}},
		{name: "205", resp: response{html(), []int{205}, nil}},
		{name: "206", resp: response{html("Content-Range", "bytes 0-9/100", "Content-Length", "10"), []int{206}, []byte(testPage[:10])}},
		{name: "200 with Content-Range", resp: response{html("Content-Range", "bytes 0-9/100"), []int{200}, []byte(testPage[:10])}},
		{name: "304", resp: response{html(), []int{304}, nil}},
		{name: "302", resp: response{html("Location", "/login"), []int{302}, []byte(testPage)}},
		{name: "404", resp: response{html(), []int{404}, []byte(testPage)}},
		{name: "500", resp: response{html(), []int{500}, []byte(testPage)}},
		{name: "gzip", resp: response{html("Content-Encoding", "gzip", "Content-Length", fmt.Sprint(len(gz))), []int{200}, gz}},
		{name: "br", resp: response{html("Content-Encoding", "br"), []int{200}, []byte("\x1b\x00</head>")}},
		{name: "103 then CSS", resp: response{http.Header{"Content-Type": {"text/css"}}, []int{103, 200}, []byte("a{}")}},
		{name: "HEAD", method: http.MethodHead, resp: response{html(), []int{200}, nil}},
		{name: "PUT", method: http.MethodPut, resp: response{html(), []int{200}, []byte(testPage)}},
		{name: "OPTIONS", method: http.MethodOptions, resp: response{html(), []int{200}, []byte(testPage)}},
		{name: "websocket upgrade", reqHdr: http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}},
			resp: response{html(), []int{200}, []byte(testPage)}},
		{name: "no Content-Type, text body", resp: response{http.Header{}, []int{200}, []byte("hello </head> world")},
			implicit: true, sniffed: "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{}
			h := newTestHandler(t, src, nil)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, "/page", nil)
			for k, v := range tt.reqHdr {
				r.Header[k] = v
			}
			rec := newRecorder()
			err := serve(t, h, rec, r, func(w http.ResponseWriter, r *http.Request) error {
				for k, v := range tt.resp.header {
					w.Header()[k] = append([]string(nil), v...)
				}
				for _, s := range tt.resp.statuses {
					if !tt.implicit {
						w.WriteHeader(s)
					}
				}
				if tt.resp.body != nil {
					if _, err := w.Write(tt.resp.body); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("ServeHTTP: %v", err)
			}
			if !reflect.DeepEqual(rec.statuses, tt.resp.statuses) {
				t.Errorf("statuses = %v, want %v", rec.statuses, tt.resp.statuses)
			}
			wantHdr := tt.resp.header.Clone()
			if tt.sniffed != "" {
				wantHdr.Set("Content-Type", tt.sniffed)
			}
			if got := rec.finalHeader(); !reflect.DeepEqual(got, wantHdr) {
				t.Errorf("headers changed:\n got %v\nwant %v", got, wantHdr)
			}
			if !bytes.Equal(rec.body.Bytes(), tt.resp.body) {
				t.Errorf("body changed:\n got %q\nwant %q", rec.body.Bytes(), tt.resp.body)
			}
			if n := src.tokenCalls.Load() + src.ticketCalls.Load(); n != 0 {
				t.Errorf("%d WeChat calls for a response that is not a page", n)
			}
		})
	}
}

// A response decided as pass-through keeps the underlying writer's ReadFrom
// (file_server's sendfile).
func TestServeHTTPPassThroughKeepsReadFrom(t *testing.T) {
	h := newTestHandler(t, &fakeSource{}, nil)
	rec := &readFromRecorder{recorder: newRecorder()}
	const css = "body { color: red }"
	err := serve(t, h, rec, httptest.NewRequest(http.MethodGet, "/a.css", nil), func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/css")
		w.WriteHeader(http.StatusOK)
		_, err := io.CopyN(w, strings.NewReader(css), int64(len(css)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec.readFroms != 1 || rec.body.String() != css {
		t.Errorf("ReadFrom calls = %d, body %q", rec.readFroms, rec.body.String())
	}
}

func TestServeHTTPPlacement(t *testing.T) {
	tests := []struct {
		name       string
		inject     string
		page       string
		wantBefore string // "" means at the end
	}{
		{name: "head", page: testPage, wantBefore: "</head>"},
		{name: "body mode", inject: "body", page: testPage, wantBefore: "</body>"},
		{name: "no head end tag", page: "<html><body>x</body></html>", wantBefore: "</body>"},
		{name: "upper-case tag", page: "<HTML><HEAD><TITLE>x</TITLE></HEAD><BODY></BODY></HTML>", wantBefore: "</HEAD>"},
		{name: "no closing tag at all", page: "<p>fragment", wantBefore: ""},
		{name: "empty body", page: "", wantBefore: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(t, &fakeSource{}, func(h *Handler) { h.Inject = tt.inject })
			rec := newRecorder()
			err := serve(t, h, rec, httptest.NewRequest(http.MethodGet, "/", nil), func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusOK)
				_, err := io.WriteString(w, tt.page)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			checkInjected(t, rec.body.String(), tt.page, "http://example.com/", tt.wantBefore)
			if tt.wantBefore == "" && !strings.HasSuffix(rec.body.String(), "</script>") {
				t.Errorf("block not at the end: %q", rec.body.String())
			}
		})
	}
}

// Without a Content-Type net/http sniffs the first bytes written, even after
// an explicit WriteHeader: the header is sent with the body. A page served
// that way must get its block too.
func TestServeHTTPSniffsHTML(t *testing.T) {
	tests := []struct {
		name   string
		status int // 0: implicit
	}{
		{"implicit 200", 0},
		{"explicit 200", http.StatusOK},
		{"explicit 203", http.StatusNonAuthoritativeInfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(t, &fakeSource{}, nil)
			rec := newRecorder()
			err := serve(t, h, rec, httptest.NewRequest(http.MethodGet, "/", nil), func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Cache-Control", "no-store")
				if tt.status != 0 {
					w.WriteHeader(tt.status)
				}
				_, err := io.WriteString(w, testPage)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.status
			if want == 0 {
				want = http.StatusOK
			}
			if !reflect.DeepEqual(rec.statuses, []int{want}) {
				t.Errorf("statuses = %v, want [%d]", rec.statuses, want)
			}
			if ct := rec.finalHeader().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			checkInjected(t, rec.body.String(), testPage, "http://example.com/", "</head>")
		})
	}

	t.Run("explicit 200, no body", func(t *testing.T) {
		h := newTestHandler(t, &fakeSource{}, nil)
		rec := newRecorder()
		err := serve(t, h, rec, httptest.NewRequest(http.MethodPost, "/", nil), func(w http.ResponseWriter, r *http.Request) error {
			w.WriteHeader(http.StatusOK)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rec.statuses, []int{200}) || rec.body.Len() != 0 {
			t.Errorf("statuses %v, body %q: want a bare 200", rec.statuses, rec.body.String())
		}
	})
}

func TestServeHTTPFlush(t *testing.T) {
	const (
		first  = "<html><head><title>t</title></he" // ends in a possible tag the injector holds
		second = "ad><body>x</body></html>"
	)
	flushers := map[string]func(w http.ResponseWriter) error{
		"http.Flusher":       func(w http.ResponseWriter) error { w.(http.Flusher).Flush(); return nil },
		"ResponseController": func(w http.ResponseWriter) error { return http.NewResponseController(w).Flush() },
	}
	for name, flush := range flushers {
		t.Run(name, func(t *testing.T) {
			h := newTestHandler(t, &fakeSource{}, nil)
			rec := newRecorder()
			err := serve(t, h, rec, httptest.NewRequest(http.MethodGet, "/", nil), func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Content-Type", "text/html")
				if _, err := io.WriteString(w, first); err != nil {
					return err
				}
				if err := flush(w); err != nil {
					return err
				}
				_, err := io.WriteString(w, second)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			// Everything but the bytes that could begin </head> goes out at the
			// flush; those wait for the next write, which completes the tag.
			if want := []int{len(first) - len("</he")}; !reflect.DeepEqual(rec.flushes, want) {
				t.Errorf("flushes at %v, want %v: only a possible tag may be held across a flush", rec.flushes, want)
			}
			// The </head> split by the flush is found.
			checkInjected(t, rec.body.String(), first+second, "http://example.com/", "</head>")
		})
	}

	t.Run("before the body", func(t *testing.T) {
		h := newTestHandler(t, &fakeSource{}, nil)
		rec := newRecorder()
		err := serve(t, h, rec, httptest.NewRequest(http.MethodGet, "/", nil), func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Length", "99")
			if err := http.NewResponseController(w).Flush(); err != nil {
				return err
			}
			_, err := io.WriteString(w, testPage)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rec.statuses, []int{200}) || !reflect.DeepEqual(rec.flushes, []int{0}) {
			t.Errorf("statuses %v, flushes %v", rec.statuses, rec.flushes)
		}
		if _, ok := rec.finalHeader()["Content-Length"]; ok {
			t.Error("Content-Length sent")
		}
		checkInjected(t, rec.body.String(), testPage, "http://example.com/", "</head>")
	})
}

func TestServeHTTPUnwrap(t *testing.T) {
	h := newTestHandler(t, &fakeSource{}, nil)
	rec := newRecorder()
	deadline := time.Unix(2000000000, 0)
	err := serve(t, h, rec, httptest.NewRequest(http.MethodGet, "/", nil), func(w http.ResponseWriter, r *http.Request) error {
		if _, ok := w.(*responseWriter); !ok {
			t.Errorf("next got %T, not the wrapper", w)
		}
		return http.NewResponseController(w).SetWriteDeadline(deadline)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec.deadline, []time.Time{deadline}) {
		t.Errorf("deadline calls reaching the connection: %v", rec.deadline)
	}
}

func TestServeHTTPAcceptEncoding(t *testing.T) {
	tests := []struct {
		name   string
		method string
		in     []string // nil: no header
		during []string
	}{
		{name: "one line", in: []string{"gzip, deflate, br, zstd"}, during: []string{"identity"}},
		{name: "two lines", in: []string{"gzip", "br"}, during: []string{"identity"}},
		{name: "none", in: nil, during: []string{"identity"}},
		{name: "HEAD is left alone", method: http.MethodHead, in: []string{"gzip"}, during: []string{"gzip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(t, &fakeSource{}, nil)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, "/", nil)
			if tt.in != nil {
				r.Header["Accept-Encoding"] = append([]string(nil), tt.in...)
			}
			var during []string
			err := serve(t, h, newRecorder(), r, func(w http.ResponseWriter, r *http.Request) error {
				during = append([]string(nil), r.Header["Accept-Encoding"]...)
				// a later handler adding to the header must not change
				// what the next request sees
				r.Header.Add("Accept-Encoding", "gzip")
				w.Header().Set("Content-Type", "text/html")
				_, err := io.WriteString(w, testPage)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(during, tt.during) {
				t.Errorf("next saw Accept-Encoding %q, want %q", during, tt.during)
			}
			after, ok := r.Header["Accept-Encoding"]
			if tt.in == nil && ok || tt.in != nil && tt.method == "" && !reflect.DeepEqual(after, tt.in) {
				t.Errorf("Accept-Encoding after = %q (present %v), want %q", after, ok, tt.in)
			}
		})
	}
	// (the shared identity slice itself is tested in internal/bodyrewrite)
}

func TestServeHTTPOnErrorPass(t *testing.T) {
	src := &fakeSource{err: errBadSecret}
	h := newTestHandler(t, src, nil)
	for range 2 { // the second request meets the store's backoff
		rec := newRecorder()
		var sent http.Header
		err := serve(t, h, rec, httptest.NewRequest(http.MethodGet, "/", nil), func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			sent = w.Header().Clone()
			w.WriteHeader(http.StatusOK)
			_, err := io.WriteString(w, testPage)
			return err
		})
		if err != nil {
			t.Fatalf("ServeHTTP: %v", err)
		}
		if !reflect.DeepEqual(rec.statuses, []int{200}) || rec.body.String() != testPage {
			t.Errorf("statuses %v, body %q: want the page unmodified", rec.statuses, rec.body.String())
		}
		if !reflect.DeepEqual(rec.finalHeader(), sent) {
			t.Errorf("headers changed:\n got %v\nwant %v", rec.finalHeader(), sent)
		}
	}
	if src.tokenCalls.Load() == 0 {
		t.Error("the failing source was never asked")
	}
}

func TestServeHTTPOnErrorFail(t *testing.T) {
	tests := []struct {
		name string
		next func(w http.ResponseWriter, r *http.Request) error
	}{
		{name: "next returns the write error", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			w.WriteHeader(http.StatusOK)
			_, err := io.WriteString(w, testPage)
			return err
		}},
		{name: "next ignores the write error", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, testPage)
			_, _ = io.WriteString(w, testPage)
			return nil
		}},
		{name: "implicit status", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			_, err := io.WriteString(w, testPage)
			return err
		}},
		{name: "ReadFrom", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			w.WriteHeader(http.StatusOK)
			_, err := io.CopyN(w, strings.NewReader(testPage), int64(len(testPage)))
			return err
		}},
		{name: "flush", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			_ = http.NewResponseController(w).Flush()
			_, err := io.WriteString(w, testPage)
			return err
		}},
		// reverse_proxy's way: a failed body write aborts the handler
		// (http.ErrAbortHandler), which drops the connection instead of
		// letting Caddy answer 503.
		{name: "next aborts on a write error", next: func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			w.WriteHeader(http.StatusOK)
			for range 3 {
				if _, err := io.WriteString(w, testPage); err != nil {
					panic(http.ErrAbortHandler)
				}
				if err := http.NewResponseController(w).Flush(); err != nil {
					panic(http.ErrAbortHandler)
				}
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(t, &fakeSource{err: errBadSecret}, func(h *Handler) { h.OnError = "fail" })
			rec := newRecorder()
			err := serve(t, h, rec, httptest.NewRequest(http.MethodGet, "/", nil), tt.next)
			var he caddyhttp.HandlerError
			if !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("ServeHTTP = %v, want a 503 HandlerError", err)
			}
			if !errors.Is(err, credential.ErrUnavailable) {
				t.Errorf("error %v does not wrap credential.ErrUnavailable", err)
			}
			if len(rec.statuses) != 0 || rec.body.Len() != 0 || len(rec.flushes) != 0 {
				t.Errorf("wrote statuses %v, %d body bytes, flushes %v", rec.statuses, rec.body.Len(), rec.flushes)
			}
			for _, k := range []string{"Content-Type", "Content-Length", "Etag", "Last-Modified", "Accept-Ranges"} {
				if v, ok := rec.header[k]; ok {
					t.Errorf("%s: %q left for the error response", k, v)
				}
			}
		})
	}

	t.Run("not a page: passes", func(t *testing.T) {
		h := newTestHandler(t, &fakeSource{err: errBadSecret}, func(h *Handler) { h.OnError = "fail" })
		rec := newRecorder()
		err := serve(t, h, rec, httptest.NewRequest(http.MethodGet, "/app.js", nil), func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Content-Type", "text/javascript")
			_, err := io.WriteString(w, "alert(1)")
			return err
		})
		if err != nil || rec.body.String() != "alert(1)" {
			t.Errorf("ServeHTTP = %v, body %q", err, rec.body.String())
		}
	})
}

func TestServeHTTPNextError(t *testing.T) {
	h := newTestHandler(t, &fakeSource{}, nil)
	boom := errors.New("upstream reset")
	rec := newRecorder()
	err := serve(t, h, rec, httptest.NewRequest(http.MethodGet, "/", nil), func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><head>")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("ServeHTTP = %v, want the next handler's error", err)
	}
}

func TestServeHTTPCSPNonce(t *testing.T) {
	h := newTestHandler(t, &fakeSource{}, nil)
	rec := newRecorder()
	err := serve(t, h, rec, httptest.NewRequest(http.MethodGet, "/", nil), func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'nonce-R4nd0m=='")
		_, err := io.WriteString(w, testPage)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := checkInjected(t, rec.body.String(), testPage, "http://example.com/", "</head>"); p.nonceAttr != ` nonce="R4nd0m=="` {
		t.Errorf("boot script attribute %q", p.nonceAttr)
	}
}

// The URL signed is the one the browser shows, through Caddy's request
// preparation and a rewrite.
func TestServeHTTPSignsBrowserURL(t *testing.T) {
	h := newTestHandler(t, &fakeSource{}, nil)
	r := httptest.NewRequest(http.MethodGet, "/app/orders/42?from=menu&x=%20%E4%B8%AD", nil)
	r.Host = "Shop.Example.com:443"
	r.TLS = &tls.ConnectionState{}
	rec := newRecorder()
	r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), rec, nil)
	// what rewrite (try_files {path} /index.html) does
	r.URL.Path, r.URL.RawQuery = "/index.html", ""
	r.RequestURI = r.URL.RequestURI()
	err := serve(t, h, rec, r, func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/html")
		_, err := io.WriteString(w, testPage)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	checkInjected(t, rec.body.String(), testPage, "https://shop.example.com/app/orders/42?from=menu&x=%20%E4%B8%AD", "</head>")
}

// Pooled writers must not carry one request's URL or block into another.
func TestServeHTTPConcurrent(t *testing.T) {
	src := &fakeSource{}
	h := newTestHandler(t, src, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8*25)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				target := fmt.Sprintf("/p/%d/%d?q=%s", g, i, strings.Repeat("x", i*40))
				rec := newRecorder()
				err := h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil),
					caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
						w.Header().Set("Content-Type", "text/html")
						_, err := io.WriteString(w, testPage)
						return err
					}))
				if err != nil {
					errs <- err
					return
				}
				_, block, _ := strings.Cut(rec.body.String(), `<script id="wechat-jssdk-config" type="application/json">`)
				js, _, _ := strings.Cut(block, "</script>")
				var c wxConfig
				if err := json.Unmarshal([]byte(js), &c); err != nil {
					errs <- err
					return
				}
				url := "http://example.com" + target
				if c.URL != url || c.Signature != wantSignature(testTicket, c.NonceStr, c.Timestamp, url) {
					errs <- fmt.Errorf("request %s got a block for %s", url, c.URL)
					return
				}
				if strings.Count(rec.body.String(), `id="wechat-jssdk-config"`) != 1 {
					errs <- fmt.Errorf("request %s: not exactly one block", url)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := src.ticketCalls.Load(); n != 1 {
		t.Errorf("%d ticket fetches for one app, want 1", n)
	}
}

// encode decides whether to compress by the size of the first Write when no
// Content-Length is known: the injected page must not reach it in crumbs.
func TestServeHTTPFirstWriteIsLarge(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
	}{
		{"whole page", []string{testPage}},
		{"byte by byte", strings.Split(testPage, "")},
		{"tiny page", []string{"<head></head>hi"}},
		{"big page", []string{"<html><head>", "</head><body>", strings.Repeat("x", 64<<10), "</body>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(t, &fakeSource{}, nil)
			rec := newRecorder()
			err := serve(t, h, rec, httptest.NewRequest(http.MethodGet, "/", nil), func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Content-Type", "text/html")
				for _, c := range tt.chunks {
					if _, err := io.WriteString(w, c); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.writes) == 0 || rec.writes[0] < 512 && rec.writes[0] != rec.body.Len() {
				t.Errorf("writes %v: the first is under 512 bytes and not the whole body", rec.writes)
			}
			checkInjected(t, rec.body.String(), strings.Join(tt.chunks, ""), "http://example.com/", "</head>")
		})
	}
}
