package pay

import (
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/bodyrewrite"
)

// writerState is what the response writer decided at the header.
type writerState uint8

const (
	undecided writerState = iota
	passing               // not ours to touch: every byte goes straight through
	buffering             // 2xx JSON: held until the end, then signed or not
)

// responseWriter decides at the header whether a response may carry an
// order to sign. If so it holds the body (up to max_body) and decides at the
// end; otherwise, and as soon as the body outgrows max_body, every byte
// goes straight through. Like encode's wrapper, ReadFrom is routed through
// Write, 1xx pass through, and Unwrap keeps http.ResponseController
// working.
//
// While the body is held, Flush does nothing: the header is not even sent
// yet, because Content-Length is only known at the end. A JSON order
// response is small and complete; an upstream that flushes as it goes
// (reverse_proxy does for bodies of unknown length) still gets its body
// out at the end, or as soon as it outgrows max_body.
type responseWriter struct {
	http.ResponseWriter
	h      *Handler
	req    *http.Request
	state  writerState
	status int
	buf    []byte // the held body
	member []byte // the member added to it

	// the client's Accept-Encoding, put back once the next handler is done
	acceptEncoding bodyrewrite.AcceptEncoding
}

// writerPool recycles writers with their buffers. A buffer never grows past
// its handler's max_body (Write stops holding before that), and release
// drops one larger than the max_body of the handler releasing it (a writer
// can come back from a handler with a smaller limit than the one that grew
// its buffer), so the pool holds nothing larger than a configured max_body.
var writerPool = sync.Pool{New: func() any { return new(responseWriter) }}

func newResponseWriter(h *Handler, w http.ResponseWriter, r *http.Request) *responseWriter {
	rw := writerPool.Get().(*responseWriter)
	rw.ResponseWriter = w
	rw.h = h
	rw.req = r
	// The body can only be read as identity: ask the upstream (and
	// file_server's precompressed lookup) for it. encode, outside this
	// handler, has already read what the client accepts.
	rw.acceptEncoding = bodyrewrite.PreferIdentity(r.Header)
	return rw
}

// maxPooledMember bounds the member buffer kept in the pool: a member is
// about 500 bytes.
const maxPooledMember = 4 << 10

// release returns the writer to the pool; nothing request-specific survives.
func (rw *responseWriter) release() {
	buf, member := rw.buf[:0], rw.member[:0]
	if int64(cap(buf)) > rw.h.MaxBody {
		buf = nil
	}
	if cap(member) > maxPooledMember {
		member = nil
	}
	*rw = responseWriter{buf: buf, member: member}
	writerPool.Put(rw)
}

// Unwrap returns the underlying writer for http.ResponseController (Hijack,
// deadlines, Flush).
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// WriteHeader decides the fate of the response on its final status. A held
// response's header goes out at the end, with the body.
func (rw *responseWriter) WriteHeader(status int) {
	if status >= 100 && status <= 199 {
		// 103 Early Hints and friends go out at once and decide nothing.
		rw.ResponseWriter.WriteHeader(status)
		return
	}
	if rw.state != undecided {
		return // like net/http, a second WriteHeader is ignored
	}
	if rw.decide(status) == passing {
		rw.ResponseWriter.WriteHeader(status)
	}
}

// decide sets the state for a response with this final status and the
// headers the next handler has set.
func (rw *responseWriter) decide(status int) writerState {
	rw.status = status
	rw.state = passing
	hdr := rw.Header()
	if !signableResponse(status, hdr) {
		return passing
	}
	if cl := hdr.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err == nil && n > rw.h.MaxBody {
			rw.h.passedThrough(causeTooLarge)
			return passing // known to be too large: stream it at once
		}
		if err == nil && int64(cap(rw.buf)) < n {
			rw.buf = make([]byte, 0, n)
		}
	}
	rw.state = buffering
	return buffering
}

// Write holds p or passes it on, according to the decision.
func (rw *responseWriter) Write(p []byte) (int, error) {
	if rw.state == undecided {
		if len(p) == 0 {
			return 0, nil
		}
		// An implicit 200: one that passes is left to the underlying
		// writer's own implicit WriteHeader, which sniffs Content-Type.
		rw.decide(http.StatusOK)
	}
	if rw.state == passing {
		return rw.ResponseWriter.Write(p)
	}
	if int64(len(rw.buf))+int64(len(p)) > rw.h.MaxBody {
		// Too large to be an order response: send what was held and let
		// the rest stream.
		rw.h.passedThrough(causeTooLarge)
		rw.state = passing
		rw.ResponseWriter.WriteHeader(rw.status)
		if _, err := rw.ResponseWriter.Write(rw.buf); err != nil {
			return 0, err
		}
		return rw.ResponseWriter.Write(p)
	}
	rw.grow(len(p))
	rw.buf = append(rw.buf, p...)
	return len(p), nil
}

// grow makes room for n more bytes without letting the buffer's capacity
// pass max_body, which Write has checked len+n against.
func (rw *responseWriter) grow(n int) {
	need := len(rw.buf) + n
	if need <= cap(rw.buf) {
		return
	}
	c := max(2*cap(rw.buf), need, 512)
	c = int(min(int64(c), rw.h.MaxBody))
	buf := make([]byte, len(rw.buf), c)
	copy(buf, rw.buf)
	rw.buf = buf
}

// ReadFrom keeps file_server's sendfile path for responses that pass
// through and routes the others through Write.
func (rw *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := rw.ResponseWriter.(io.ReaderFrom); ok && rw.state == passing {
		return rf.ReadFrom(r)
	}
	return io.Copy(bodyrewrite.WriterOnly{Writer: rw}, r)
}

// FlushError flushes a response that passes through. On a held body it
// does nothing (see responseWriter): the decision needs the whole body.
func (rw *responseWriter) FlushError() error {
	if rw.state == undecided {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.state == buffering {
		return nil
	}
	return http.NewResponseController(rw.ResponseWriter).Flush()
}

// Flush implements http.Flusher for handlers that assert it directly.
func (rw *responseWriter) Flush() { _ = rw.FlushError() }

// finish completes a held response once the next handler returned: signed
// when it carries an order, else exactly as it came. When the next handler
// failed, what it had written goes out untouched, as it would have without
// this handler.
func (rw *responseWriter) finish(nextErr error) error {
	rw.acceptEncoding.Restore(rw.req.Header)
	if rw.state != buffering {
		return nextErr
	}
	rw.state = passing
	if nextErr == nil {
		var at int
		var ok bool
		rw.member, at, ok = rw.h.signedMember(rw.member[:0], rw.buf)
		if ok {
			return rw.writeSigned(at)
		}
	}
	rw.ResponseWriter.WriteHeader(rw.status)
	if len(rw.buf) > 0 {
		if _, err := rw.ResponseWriter.Write(rw.buf); err != nil && nextErr == nil {
			return err
		}
	}
	return nextErr
}

// writeSigned writes the held body with the member inserted at at. The
// headers describing the old body are brought up to date: the new length
// (known, so the client gets no chunked encoding), no byte ranges, and a
// validator that only claims semantic equivalence.
func (rw *responseWriter) writeSigned(at int) error {
	hdr := rw.Header()
	hdr.Set("Content-Length", strconv.Itoa(len(rw.buf)+len(rw.member)))
	hdr.Del("Accept-Ranges")
	bodyrewrite.WeakenETag(hdr)
	rw.ResponseWriter.WriteHeader(rw.status)
	for _, part := range [...][]byte{rw.buf[:at], rw.member, rw.buf[at:]} {
		if _, err := rw.ResponseWriter.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// Interface guards
var (
	_ http.ResponseWriter = (*responseWriter)(nil)
	_ io.ReaderFrom       = (*responseWriter)(nil)
	_ http.Flusher        = (*responseWriter)(nil)
)
