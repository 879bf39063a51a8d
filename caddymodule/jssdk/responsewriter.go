package jssdk

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/credential"
	"github.com/caddy-wechat/jssdk/caddymodule/inject"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/bodyrewrite"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/logonce"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/origin"
)

// pageSigner is what a page and the config endpoint are signed with, fixed
// by Provision: the responses never reach back into the Handler.
type pageSigner struct {
	// store is the jsapi_ticket's, which signs wx.config: the app's, or in
	// WeCom mode the corp's
	store *credential.Store
	// agent is the WeCom app's agent_config ticket's, which signs
	// wx.agentConfig; nil for an Official Account
	agent      *credential.Store
	timeout    time.Duration // the longest a page waits for a ticket
	tmpl       blockTemplate
	wecom      *weComTemplate // the WeCom JSON; nil for an Official Account
	origin     string         // the normalized public_origin; "" derives it per request
	mode       inject.Mode
	failClosed bool // on_error fail
	logger     *zap.Logger
	once       *logonce.Set // causes logged so far (once.go)
}

// appendPageURL appends the URL the browser shows for this page
// (location.href without the fragment), which is what WeChat checks the
// signature against: the origin the browser used, then the request-target
// byte for byte as the browser sent it. Without public_origin, a Host whose
// port is not the listener's is refused (origin.ErrHostPort), dst
// unchanged: Caddy's host matcher ignores the port.
func (p *pageSigner) appendPageURL(dst []byte, r *http.Request) ([]byte, error) {
	if p.origin != "" {
		dst = append(dst, p.origin...)
	} else {
		var err error
		if dst, err = origin.AppendChecked(dst, r); err != nil {
			return dst, err
		}
	}
	return append(dst, origin.Target(r)...), nil
}

// writerState is what the response writer decided at the header.
type writerState uint8

const (
	undecided writerState = iota
	passing               // not ours to touch: every byte goes straight through
	injecting             // 2xx HTML: the body streams through the injector
	refusing              // on_error fail: the next handler's output is dropped
)

// responseWriter decides at the header whether a response is an HTML page it
// may rewrite, and if so streams the body through an inject.Writer. It
// follows encode's wrapper: ReadFrom is routed through Write (file_server's
// sendfile would otherwise bypass it), 1xx pass through, FlushError writes
// held bytes first, and Unwrap keeps http.ResponseController working.
type responseWriter struct {
	http.ResponseWriter
	pages    *pageSigner
	req      *http.Request
	state    writerState
	status   int
	injector inject.Writer
	first    firstWrite
	cause    error // why a page was refused (on_error fail)
	block    []byte
	url      []byte

	// the client's Accept-Encoding, put back once the next handler is done
	acceptEncoding bodyrewrite.AcceptEncoding
}

var writerPool = sync.Pool{New: func() any { return new(responseWriter) }}

func newResponseWriter(p *pageSigner, w http.ResponseWriter, r *http.Request) *responseWriter {
	rw := writerPool.Get().(*responseWriter)
	rw.ResponseWriter = w
	rw.pages = p
	rw.req = r
	// The body can only be rewritten as identity: ask the upstream (and
	// file_server's precompressed lookup) for it. encode, outside this
	// handler, has already read what the client accepts.
	rw.acceptEncoding = bodyrewrite.PreferIdentity(r.Header)
	return rw
}

// Unwrap returns the underlying writer for http.ResponseController (Hijack,
// deadlines, Flush).
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// release returns the writer to the pool; nothing request-specific survives.
func (rw *responseWriter) release() {
	block, u, first := rw.block[:0], rw.url[:0], rw.first.buf[:0]
	if cap(block) > 64<<10 {
		block = nil // a huge URL must not pin memory in the pool
	}
	if cap(u) > 16<<10 {
		u = nil
	}
	if cap(first) > 64<<10 {
		first = nil
	}
	*rw = responseWriter{block: block, url: u, first: firstWrite{buf: first}}
	writerPool.Put(rw)
}

// WriteHeader decides the fate of the response on its final status.
func (rw *responseWriter) WriteHeader(status int) {
	if status >= 100 && status <= 199 {
		// 103 Early Hints and friends go out at once and decide nothing.
		rw.ResponseWriter.WriteHeader(status)
		return
	}
	if rw.state != undecided || rw.status != 0 {
		return // like net/http, a second WriteHeader is ignored
	}
	rw.status = status
	if _, typed := rw.Header()["Content-Type"]; !typed {
		// net/http sends an untyped header with the first bytes of the
		// body, sniffed for a type: so does this writer.
		return
	}
	rw.commit(nil)
}

// commit decides on the held status (200 if none) and sends the header,
// unless the page is refused.
func (rw *responseWriter) commit(first []byte) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	rw.decide(first)
	if rw.state != refusing {
		rw.ResponseWriter.WriteHeader(rw.status)
	}
}

// decide picks the writer's state; first holds the start of the body when
// the header did not say what the body is (net/http sniffs it too).
func (rw *responseWriter) decide(first []byte) {
	hdr := rw.Header()
	if _, ok := hdr["Content-Type"]; !ok && len(first) > 0 && hdr.Get("Content-Encoding") == "" {
		hdr.Set("Content-Type", http.DetectContentType(first))
	}
	if !injectable(rw.status, hdr) {
		rw.state = passing
		passedNotHTML.Inc()
		return
	}
	// The URL first: a page asked for on another port than it arrived on
	// is not signed (and not refused either: it is not WeChat's failure,
	// and the page itself is fine), without waiting for a ticket.
	u, err := rw.pages.appendPageURL(rw.url[:0], rw.req)
	rw.url = u
	if err != nil {
		rw.state = passing
		passedHostPort.Inc()
		rw.pages.problem(causePageHostPort, rw.req)
		return
	}
	ticket, agentTicket, err := rw.pages.tickets(rw.req.Context())
	if err != nil {
		if rw.pages.failClosed {
			rw.state = refusing
			failedNoTicket.Inc()
			rw.cause = err
			// Caddy answers the error with this header map: what described
			// the dropped body must not describe the error response.
			for _, k := range representationHeaders {
				delete(hdr, k)
			}
			return
		}
		rw.state = passing // served unmodified; the store has logged the cause
		passedNoTicket.Inc()
		return
	}
	var nonce string
	if _, ok := hdr["Content-Security-Policy"]; ok {
		nonce = rw.pages.tmpl.csp.adapt(hdr)
	}
	if w := rw.pages.wecom; w != nil {
		rw.block = w.appendBlock(rw.block[:0], &rw.pages.tmpl, ticket, agentTicket, bytesString(rw.url), time.Now(), nonce)
	} else {
		rw.block = rw.pages.tmpl.appendBlock(rw.block[:0], ticket, bytesString(rw.url), time.Now(), nonce)
	}
	// The body changes: its length and byte ranges are no longer known, and
	// the validator may only claim semantic equivalence from now on.
	hdr.Del("Content-Length")
	hdr.Del("Accept-Ranges")
	bodyrewrite.WeakenETag(hdr)
	rw.state = injecting
	injectedPage.Inc()
	// firstWrite only calls Write: the writer goes in as it is, since
	// boxing a WriterOnly would cost an allocation per page.
	rw.first = firstWrite{w: rw.ResponseWriter, buf: rw.first.buf[:0]}
	rw.injector.Reset(&rw.first, rw.block, rw.pages.mode)
}

// Write streams p according to the decision made at the header.
func (rw *responseWriter) Write(p []byte) (int, error) {
	if rw.state == undecided {
		if len(p) == 0 {
			return 0, nil
		}
		rw.commit(p)
	}
	switch rw.state {
	case injecting:
		return rw.injector.Write(p)
	case refusing:
		// Discarded, not failed: the next handler must finish normally for
		// Caddy's error handling to answer the 503. reverse_proxy aborts the
		// connection (an empty reply, a reset stream) when a body write
		// fails, and handle_errors then never runs.
		return len(p), nil
	default:
		return rw.ResponseWriter.Write(p)
	}
}

// ReadFrom keeps file_server's sendfile path for responses that pass
// through and routes the others through Write, where injection happens.
func (rw *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := rw.ResponseWriter.(io.ReaderFrom); ok && rw.state == passing {
		return rf.ReadFrom(r)
	}
	if rw.state == refusing {
		return io.Copy(io.Discard, r) // as Write does, without a buffer of ours
	}
	// io.Copy would allocate a buffer per page (the body's size, up to
	// 32 KiB: most of what a page costs) and box a WriterOnly; a pooled
	// buffer and a pointer conversion cost nothing.
	buf := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(buf)
	return io.CopyBuffer((*bodyWriter)(rw), r, *buf)
}

// copyBufPool holds the buffers ReadFrom copies injected bodies through.
var copyBufPool = sync.Pool{New: func() any {
	b := make([]byte, 32<<10)
	return &b
}}

// bodyWriter is a responseWriter without ReadFrom, so that io.CopyBuffer
// does not call back into it.
type bodyWriter responseWriter

func (w *bodyWriter) Write(p []byte) (int, error) { return (*responseWriter)(w).Write(p) }

// FlushError flushes what the injector has written, so a streaming upstream
// (long poll, chunked HTML) is never held back: the injector holds at most
// the few bytes that could begin the tag it looks for (a tag split across
// a flush is still found), and the first-write gathering is released.
func (rw *responseWriter) FlushError() error {
	if rw.state == undecided {
		rw.commit(nil)
	}
	switch rw.state {
	case refusing:
		return nil
	case injecting:
		if err := rw.injector.Flush(); err != nil {
			return err
		}
		if err := rw.first.flush(); err != nil {
			return err
		}
	}
	return http.NewResponseController(rw.ResponseWriter).Flush()
}

// Flush implements http.Flusher for handlers that assert it directly.
func (rw *responseWriter) Flush() { _ = rw.FlushError() }

// finish completes the response after the next handler returned: the
// injector writes what it held and, when no closing tag came, the block
// at the end. On a refused page it yields the error Caddy answers with,
// which wins over whatever the next handler returned.
func (rw *responseWriter) finish(nextErr error) error {
	rw.acceptEncoding.Restore(rw.req.Header)
	if rw.state == undecided && rw.status != 0 {
		rw.commit(nil) // a status held for sniffing, and no body came
	}
	switch rw.state {
	case injecting:
		err := rw.injector.Close()
		if ferr := rw.first.flush(); err == nil {
			err = ferr
		}
		if nextErr == nil {
			return err
		}
	case refusing:
		return caddyhttp.Error(http.StatusServiceUnavailable, rw.cause)
	}
	return nextErr
}

var representationHeaders = []string{"Content-Length", "Content-Type", "Content-Encoding",
	"Etag", "Last-Modified", "Accept-Ranges", "Content-Range"}

// injectable reports whether a response is a full 2xx HTML body in a form
// the injector can read. Unlike wechat_pay, a page with trailers is fine:
// it streams on chunked, which still carries them.
func injectable(status int, hdr http.Header) bool {
	return bodyrewrite.Rewritable(status, hdr) && isHTML(hdr.Get("Content-Type"))
}

func isHTML(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	return strings.EqualFold(ct, "text/html") || strings.EqualFold(ct, "application/xhtml+xml")
}

// eligibleRequest leaves alone requests whose responses never carry a
// page: only navigations (GET, and POST from a form) load one, and of
// those not HEAD or an upgrade (bodyrewrite's rule).
func eligibleRequest(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodPost) && bodyrewrite.EligibleRequest(r)
}

// Interface guards
var (
	_ http.ResponseWriter = (*responseWriter)(nil)
	_ io.ReaderFrom       = (*responseWriter)(nil)
	_ http.Flusher        = (*responseWriter)(nil)
)

// minFirstWrite is encode's default minimum_length. encode decides whether
// to compress on the first Write it sees, by that Write's size when no
// Content-Length is known — and an injected body has none. The injector
// writes the page's head, then the block, as separate small Writes, so
// without gathering them encode would leave most injected pages
// uncompressed.
const minFirstWrite = 512

// firstWrite gathers the start of a body until it holds minFirstWrite bytes
// (or a flush or the end comes), then writes it in one piece and gets out
// of the way.
type firstWrite struct {
	w    io.Writer
	buf  []byte
	done bool
}

func (f *firstWrite) Write(p []byte) (int, error) {
	if f.done {
		return f.w.Write(p)
	}
	if len(f.buf) == 0 && len(p) >= minFirstWrite {
		f.done = true
		return f.w.Write(p)
	}
	f.buf = append(f.buf, p...)
	if len(f.buf) < minFirstWrite {
		return len(p), nil
	}
	if err := f.flush(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// flush writes what was gathered; later writes go straight through.
func (f *firstWrite) flush() error {
	if f.done {
		return nil
	}
	f.done = true
	if len(f.buf) == 0 {
		return nil
	}
	_, err := f.w.Write(f.buf)
	return err
}
