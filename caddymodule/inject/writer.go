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
// "</body" still waiting for the byte that decides whether it is a tag.
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
		if err := w.Flush(); err != nil {
			return 0, err
		}
	}
	return w.scan(p)
}

// scan writes p, inserting the block before the first target tag in it and
// holding back a trailing prefix of a possible tag.
func (w *Writer) scan(p []byte) (int, error) {
	for i := 0; ; {
		j := bytes.IndexByte(p[i:], '<')
		if j < 0 {
			return w.write(p)
		}
		i += j
		// Most '<' open a tag: reject them without a call.
		if i+1 < len(p) && p[i+1] != '/' {
			i++
			continue
		}
		switch match(p[i:], w.mode) {
		case full:
			n, err := w.write(p[:i])
			if err != nil {
				return n, err
			}
			if err := w.insert(); err != nil {
				return n, err
			}
			m, err := w.write(p[i:])
			return n + m, err
		case partial:
			n, err := w.write(p[:i])
			if err != nil {
				return n, err
			}
			w.nheld = copy(w.held[:], p[i:])
			return len(p), nil
		}
		i++
	}
}

// Flush writes the held-back bytes to the underlying writer. It does not
// flush the underlying writer itself. A target tag split across a Flush is
// not recognised. After Close it has nothing to do and returns nil, or the
// error that ended the stream.
func (w *Writer) Flush() error {
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
	if err := w.Flush(); err != nil {
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
