// Package logonce remembers which causes of trouble a handler has logged,
// so that a misbehaving backend or setup costs one log line per cause, not
// one per request. It has no Caddy dependency.
package logonce

import "sync/atomic"

// Set is a set of up to 32 causes, numbered 0 to 31. Its zero value is
// empty and ready to use; it is safe for concurrent use.
type Set struct{ seen atomic.Uint32 }

// First reports whether cause c is seen for the first time, and marks it.
func (s *Set) First(c uint8) bool {
	bit := uint32(1) << (c & 31)
	return s.seen.Or(bit)&bit == 0
}
