package payapi

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
)

// answerWriter holds WeChat Pay's answer — status, headers and body — until
// it is complete and verified: nothing reaches the real writer before
// commit. It has headers of its own, so that a refused answer leaves none
// of its headers behind.
//
// It deliberately has no Unwrap: http.ResponseController would reach the
// real writer through it, and a Hijack (a protocol switch) or a direct
// write there would bypass the check. Flushes are accepted and do nothing
// until the answer is verified. It has no ReadFrom either, so every byte
// goes through Write.
type answerWriter struct {
	w        http.ResponseWriter
	hdr      http.Header
	status   int
	buf      *bytes.Buffer
	limit    int64
	tooLarge bool
}

var answerBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledAnswer: larger buffers are left to the garbage collector rather
// than kept for every later answer.
const maxPooledAnswer = 64 << 10

func newAnswerWriter(w http.ResponseWriter, limit int64) *answerWriter {
	buf := answerBufs.Get().(*bytes.Buffer)
	buf.Reset()
	return &answerWriter{w: w, hdr: w.Header().Clone(), buf: buf, limit: limit}
}

func (a *answerWriter) release() {
	if a.buf != nil && a.buf.Cap() <= maxPooledAnswer {
		a.buf.Reset()
		answerBufs.Put(a.buf)
	}
	a.buf = nil
}

// Header returns the answer's own headers.
func (a *answerWriter) Header() http.Header { return a.hdr }

// WriteHeader records the status. 1xx answers are informational and
// dropped: the backend gets the final answer only.
func (a *answerWriter) WriteHeader(code int) {
	if a.status != 0 || code < 200 {
		return
	}
	a.status = code
}

// Write holds p. Past the limit it keeps accepting (an error would make
// reverse_proxy abort the connection) and holds nothing more: the answer
// will be refused.
func (a *answerWriter) Write(p []byte) (int, error) {
	if a.status == 0 {
		a.WriteHeader(http.StatusOK)
	}
	if a.tooLarge {
		return len(p), nil
	}
	if int64(a.buf.Len())+int64(len(p)) > a.limit {
		a.tooLarge = true
		a.buf.Reset()
		return len(p), nil
	}
	return a.buf.Write(p)
}

// FlushError accepts a flush and does nothing: nothing may go out before
// the answer is verified.
func (a *answerWriter) FlushError() error { return nil }

// Flush is FlushError for callers that use http.Flusher.
func (a *answerWriter) Flush() {}

// commit writes the verified answer to the real writer: its headers
// (trailer declarations aside: the whole body is known), status and body.
func (a *answerWriter) commit() {
	dst := a.w.Header()
	clear(dst)
	for k, v := range a.hdr {
		if strings.HasPrefix(k, http.TrailerPrefix) || k == "Trailer" {
			continue
		}
		dst[k] = v
	}
	a.w.WriteHeader(a.status)
	if a.buf.Len() > 0 {
		_, _ = a.w.Write(a.buf.Bytes())
	}
}
