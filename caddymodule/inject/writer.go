// Package inject inserts a block of bytes into a streamed HTML body.
package inject

import "io"

// Mode chooses the tag the block is inserted before.
type Mode uint8

const (
	// Head inserts before the first </head> (or </body> if that comes first).
	Head Mode = iota
	// Body inserts before the first </body>.
	Body
)

// Writer streams to an underlying writer, inserting a block once.
type Writer struct{}

// NewWriter returns a Writer that writes to dst and inserts block once.
func NewWriter(dst io.Writer, block []byte, mode Mode) *Writer { panic("unimplemented") }

// Write implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) { panic("unimplemented") }

// Flush writes any held-back bytes to dst.
func (w *Writer) Flush() error { panic("unimplemented") }

// Close writes held-back bytes and, if the block was not inserted yet, the block.
func (w *Writer) Close() error { panic("unimplemented") }

// Injected reports whether the block has been written.
func (w *Writer) Injected() bool { panic("unimplemented") }
