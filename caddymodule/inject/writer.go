package inject

import (
	"bytes"
	"errors"
	"io"
)

// Mode chooses the closing tag the block is inserted before.
type Mode uint8

const (
	// Head inserts before the first "</head" or "</body", whichever comes
	// first.
	Head Mode = iota
	// Body inserts before the first "</body".
	Body
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("inject: write to closed Writer")

// maxHeld is the most a Writer ever holds back: a complete "</head" or
// "</body" still waiting for the byte that decides whether it is a tag, one
// byte short of the shortest whole tag "</head>".
const maxHeld = tagLen

// Writer is an io.Writer that copies its input to an underlying writer and
// inserts a block of bytes once, before the first target closing tag (see the
// package documentation). It is not safe for concurrent use. The zero value
// is not usable: create one with NewWriter, or reuse one with Reset.
type Writer struct {
	dst      io.Writer
	block    []byte
	mode     Mode
	held     [maxHeld]byte // a prefix of a possible target tag, held back from dst
	nheld    int
	injected bool
	closed   bool
	err      error // the first error from dst, returned by every later call
}

// NewWriter returns a Writer that writes to dst and inserts block once,
// according to mode. The Writer keeps block, which must not be modified until
// Close returns.
func NewWriter(dst io.Writer, block []byte, mode Mode) *Writer {
	w := new(Writer)
	w.Reset(dst, block, mode)
	return w
}

// Reset discards the Writer's state, including any held-back bytes, and makes
// it write to dst with block and mode as NewWriter does. It lets a Writer be
// pooled across responses.
func (w *Writer) Reset(dst io.Writer, block []byte, mode Mode) {
	*w = Writer{dst: dst, block: block, mode: mode}
}

// Write copies p to the underlying writer, inserting the block before the
// first target tag. It returns len(p) on success, even when a few trailing
// bytes of p are held back to be matched against the next write. On error it
// returns the number of bytes of p the underlying writer accepted, and every
// later call returns the same error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, ErrClosed
	}
	if w.injected {
		return w.write(p)
	}
	if w.nheld > 0 {
		// The held bytes start with '<' and contain no other, so a tag can
		// only start at held[0], and tagLen+1 bytes settle it.
		var window [tagLen + 1]byte
		n := copy(window[:], w.held[:w.nheld])
		n += copy(window[n:], p)
		switch match(window[:n], w.mode) {
		case partial:
			// Only possible when all of p fit in window, short of settling it.
			w.nheld += copy(w.held[w.nheld:], p)
			return len(p), nil
		case full:
			if err := w.insert(); err != nil {
				return 0, err
			}
			return w.write(p)
		}
		if err := w.release(); err != nil {
			return 0, err
		}
	}
	return w.scan(p)
}

// scan writes p, inserting the block before the first target tag in it and
// holding back a trailing prefix of a possible tag.
func (w *Writer) scan(p []byte) (int, error) {
	var i int
	if w.mode == Body {
		i = indexBody(p)
	} else {
		i = indexHead(p)
	}
	if i >= 0 {
		n, err := w.write(p[:i])
		if err != nil {
			return n, err
		}
		if err := w.insert(); err != nil {
			return n, err
		}
		m, err := w.write(p[i:])
		return n + m, err
	}
	if i = partialTail(p, w.mode); i >= 0 {
		n, err := w.write(p[:i])
		if err != nil {
			return n, err
		}
		w.nheld = copy(w.held[:], p[i:])
		return len(p), nil
	}
	return w.write(p)
}

// indexHead returns the index of the first complete "</head" or "</body"
// target in p, or -1. It visits every '<': Head mode usually meets "</head>"
// within the first few kilobytes and then stops scanning for good, and
// "</head" has no byte rare enough to search for instead (see indexBody).
func indexHead(p []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(p[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		// A '<' in the last tagLen bytes cannot complete a tag in p; the
		// caller's partialTail looks at those.
		if i+tagLen >= len(p) {
			return -1
		}
		// Most '<' open a tag: reject them without a call.
		if p[i+1] == '/' && match(p[i:], Head) == full {
			return i
		}
		i++
	}
}

// bodyAnchor is the offset in "</body" of the letter indexBody searches for.
const bodyAnchor = len("</bod")

// indexBody returns the index of the first complete "</body" target in p, or
// -1. Body mode scans the whole page, and markup has a '<' every few dozen
// bytes (every 11 in dense markup): an IndexByte call per '<' made the scan
// 30 times slower than copying the page. So it searches instead for the tag's
// last letter, 'y' or 'Y', which in the real pages measured is 3 to 5 times
// rarer than '<' (and absent from CJK text), and checks the five bytes before
// it. Every "</body" ends in one of the two, so visiting both in page order
// finds the first tag; each case is its own IndexByte pass over p, and each
// pass moves on only past its own hits.
func indexBody(p []byte) int {
	lower, upper := indexFrom(p, 0, 'y'), indexFrom(p, 0, 'Y')
	for {
		k := min(lower, upper)
		if k == len(p) {
			return -1
		}
		if i := k - bodyAnchor; i >= 0 && p[i] == '<' && match(p[i:], Body) == full {
			return i
		}
		if k == lower {
			lower = indexFrom(p, k+1, 'y')
		} else {
			upper = indexFrom(p, k+1, 'Y')
		}
	}
}

// indexFrom returns the index of the first c in p at or after from, or
// len(p) when there is none, so that the nearer of two searches is their min.
func indexFrom(p []byte, from int, c byte) int {
	if j := bytes.IndexByte(p[from:], c); j >= 0 {
		return from + j
	}
	return len(p)
}

// partialTail returns the index of the possible target tag that p ends with,
// or -1. Such a tag prefix is at most tagLen bytes long, so only the last
// tagLen bytes of p are looked at.
func partialTail(p []byte, mode Mode) int {
	for i := max(len(p)-tagLen, 0); i < len(p); i++ {
		if p[i] == '<' && match(p[i:], mode) == partial {
			return i
		}
	}
	return -1
}

// Flush is for a caller about to flush the stream (a streaming HTTP
// response), and it writes nothing: Write has already passed on every byte
// except a trailing possible target tag of at most maxHeld bytes ("</he",
// say), and writing those now would cut the tag in two and put the block in
// the wrong place. Such cuts are real: a reverse proxy flushes after every
// read of a chunked upstream. The held bytes go out with the next Write that
// settles them, or at Close. Flush does not flush the underlying writer. It
// returns the error that ended the stream, if any, and nil after Close.
func (w *Writer) Flush() error {
	return w.err
}

// release writes the held-back bytes: the next input showed they are not a
// target tag, or the stream ended.
func (w *Writer) release() error {
	if w.err != nil || w.nheld == 0 {
		return w.err
	}
	_, err := w.write(w.held[:w.nheld])
	w.nheld = 0
	return err
}

// Close writes the held-back bytes and then, if no target tag was found, the
// block. It does not close the underlying writer. Calling Close again returns
// the first call's result.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if err := w.release(); err != nil {
		return err
	}
	if !w.injected {
		return w.insert()
	}
	return nil
}

// insert writes the block and then the held-back bytes, which start the tag
// the block goes before.
func (w *Writer) insert() error {
	if _, err := w.write(w.block); err != nil {
		return err
	}
	w.injected = true
	if w.nheld == 0 {
		return nil
	}
	_, err := w.write(w.held[:w.nheld])
	w.nheld = 0
	return err
}

// Injected reports whether the block has been written to the underlying
// writer.
func (w *Writer) Injected() bool { return w.injected }

// write writes b to dst and records the first error, turning a short write
// into io.ErrShortWrite as io.Copy does.
func (w *Writer) write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, err := w.dst.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = err
	}
	return n, err
}
