package inject

import (
	"bytes"
	"strings"
	"testing"
)

// fuzzBlock contains both target tags, so a Writer that rescanned its own
// output would insert twice and be caught.
const fuzzBlock = "<script>/*</head></body>*/</script>"

// FuzzWriter writes page in chunks and checks that the output is the page
// with the block inserted once, exactly where refPosition says, whatever the
// chunks and flushes. Each byte of splits gives a chunk length (its low 7
// bits, 0 allowed) and, in its high bit, a Flush after the chunk; the lengths
// repeat until the page is written. The low bit of mode picks Head or Body.
// After every Write and Flush, all input has been written except at most
// maxHeld bytes that could still begin a target tag.
func FuzzWriter(f *testing.F) {
	for _, s := range []struct {
		page   string
		splits []byte
		mode   byte
	}{
		{"<html><head><title>t</title></head><body>x</body></html>", nil, 0},
		{"<html><head><title>t</title></head><body>x</body></html>", []byte{1}, 1},
		{"<html><head></HEAD ><body>x</Body\t></html>", []byte{3, 5, 0, 2}, 0},
		{"<p>no head</p></body></head>", []byte{16}, 0},
		{"<head></head><p>x</p>", []byte{7, 1}, 1},
		{"</header></bodyguard></head/>", []byte{2, 3}, 0},
		{"ab</he", []byte{4, 0x80 | 2, 1}, 0},
		{"a</head>b</body>c", []byte{0x80 | 5, 1}, 0},
		{"a</head>b</body>c", []byte{0x80 | 7, 0x80 | 1}, 1},
		{"<<</</</h</b</head", []byte{1, 1, 2}, 0},
		{"", nil, 0},
		{"plain text, no tags at all", []byte{0}, 1},
		{"x</bo\ndy></body\n>", []byte{5}, 1},
		{"</HEAD\f></head\r\n", []byte{0x80 | 6}, 0},
	} {
		f.Add([]byte(s.page), s.splits, s.mode)
	}
	f.Fuzz(func(t *testing.T, page, splits []byte, modeByte byte) {
		mode := Mode(modeByte & 1)
		var out bytes.Buffer
		w := NewWriter(&out, []byte(fuzzBlock), mode)
		var flushes []int
		total := 0
		for _, s := range splits {
			total += int(s & 0x7f)
		}
		for off, k := 0, 0; off < len(page); k++ {
			size, flush := len(page)-off, false
			if total > 0 {
				s := splits[k%len(splits)]
				size, flush = min(int(s&0x7f), size), s&0x80 != 0
			}
			chunk := page[off : off+size]
			off += size
			if n, err := w.Write(chunk); n != len(chunk) || err != nil {
				t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
			}
			checkHeld(t, w, &out, off, mode)
			if flush {
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
				flushes = append(flushes, off)
				checkHeld(t, w, &out, off, mode)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !w.Injected() {
			t.Fatal("Injected() = false after Close")
		}
		pos := refPosition(page, mode)
		want := append(append(append([]byte{}, page[:pos]...), fuzzBlock...), page[pos:]...)
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("mode %d, flushes at %v:\ngot  %q\nwant %q", mode, flushes, out.Bytes(), want)
		}
	})
}

// checkHeld checks that of the first off bytes of the page, the Writer has
// written all but those it holds, and holds only a possible start of a target
// tag: at most maxHeld bytes, a prefix of "</body" (or, in Head mode, of
// "</head") in any case.
func checkHeld(t *testing.T, w *Writer, out *bytes.Buffer, off int, mode Mode) {
	t.Helper()
	if w.nheld > maxHeld {
		t.Fatalf("%d bytes held back, more than %d", w.nheld, maxHeld)
	}
	written := out.Len()
	if w.Injected() {
		written -= len(fuzzBlock)
	}
	if written+w.nheld != off {
		t.Fatalf("after %d bytes: %d written and %d held", off, written, w.nheld)
	}
	if held := string(asciiLower(w.held[:w.nheld])); !strings.HasPrefix("</body", held) &&
		(mode != Head || !strings.HasPrefix("</head", held)) {
		t.Fatalf("after %d bytes: holds %q, which cannot begin a target tag", off, held)
	}
}

// refPosition is where the block belongs: before the first target tag, or at
// the end. Where the writes and flushes cut the page does not matter. It is
// written from the rules, not from the Writer's code.
func refPosition(page []byte, mode Mode) int {
	const tagWithDelimiter = 7
	for i := 0; i+tagWithDelimiter <= len(page); i++ {
		name := string(asciiLower(page[i : i+6]))
		if name != "</body" && (mode != Head || name != "</head") {
			continue
		}
		if !bytes.ContainsRune([]byte(">/ \t\n\f\r"), rune(page[i+6])) {
			continue
		}
		return i
	}
	return len(page)
}

func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}
