package jssdk

import "io"

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
