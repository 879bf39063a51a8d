package inject

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

const testBlock = "[B]"

// run writes chunks to a new Writer and closes it, failing the test on any
// error or on a Write that does not report its whole input.
func run(t *testing.T, mode Mode, chunks ...string) string {
	t.Helper()
	var out bytes.Buffer
	w := NewWriter(&out, []byte(testBlock), mode)
	for _, c := range chunks {
		n, err := w.Write([]byte(c))
		if err != nil || n != len(c) {
			t.Fatalf("Write(%q) = %d, %v; want %d, nil", c, n, err, len(c))
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if !w.Injected() {
		t.Fatalf("Injected() = false after Close")
	}
	return out.String()
}

// positionCases are pages with the block's expected place marked by "|".
var positionCases = []struct {
	name string
	mode Mode
	page string
}{
	{"head", Head, "<html><head><title>t</title>|</head><body>x</body></html>"},
	{"head upper case", Head, "<HTML><HEAD>|</HEAD><BODY></BODY>"},
	{"head mixed case", Head, "<head>|</hEaD><body></body>"},
	{"head space before >", Head, "<head>|</HEAD ></head>"},
	{"head tab", Head, "|</head\t>"},
	{"head LF", Head, "|</head\n>"},
	{"head FF", Head, "|</head\f>"},
	{"head CR", Head, "|</head\r>"},
	{"head slash", Head, "|</head/>"},
	{"head at start", Head, "|</head>rest"},
	{"header is not head", Head, "<header>x</header><nav></headers>|</head>"},
	{"headx is not head", Head, "</headx></head_></head-></head.>|</head>"},
	{"vertical tab is not HTML whitespace", Head, "</head\v></head\x00></head\xa0>|</head>"},
	{"space after < is not a tag", Head, "< /head></ head><//head>|</head>"},
	{"opening tags are not targets", Head, "<head><body><head >|</head>"},
	{"less-than signs before the tag", Head, "<<</<</|</head>"},
	{"non-letters one bit from the letters", Head, "</\x08ead></h\x05ad></(ody>|</body>"},
	{"head mode: body before head", Head, "<p>no head</p>|</body></html></head>"},
	{"head mode: body upper case", Head, "x|</BODY>"},
	{"body", Body, "<head></head><body>x|</body></html>"},
	{"body mode ignores head", Body, "<head></HEAD></head >x|</Body\n>"},
	{"body mode: head only", Body, "<head></head><p>x</p>|"},
	{"bodyguard is not body", Body, "</bodyguard></bodyx></body1>|</body>"},
	{"neither tag", Head, "<p>just a fragment</p>|"},
	{"neither tag, body mode", Body, "<p>just a fragment</p>|"},
	{"empty body", Head, "|"},
	{"empty body, body mode", Body, "|"},
	{"tag without delimiter at the end", Head, "x</head|"},
	{"body tag without delimiter at the end", Body, "x</BODY|"},
	{"many tags, one block", Head, "a|</head></head></body></HEAD></body>"},
	{"many body tags, one block", Body, "a</head>|</body></body></body>"},
	{"non-ASCII text around", Body, "<p>微信 ✓ \xff\xfe</p>|</body>"},
	// Body mode searches for the last letter of "</body", in both cases.
	{"body mode: y and Y that are no tag", Body, "yY<y</y</by</boy</bodyy</bodY_</BODYguard</b0dy>|</bodY>y</body>"},
	{"body mode: lower-case y ends an upper-case tag", Body, "Y|</BODy\n></BODY>"},
	{"body mode: tag at the start", Body, "|</BODY>"},
	{"head mode: y and Y that are no tag", Head, "yY</bodyy</bodY_|</BoDY ></head>"},
}

func TestPositionsSingleWrite(t *testing.T) {
	for _, tc := range positionCases {
		t.Run(tc.name, func(t *testing.T) {
			page, want := expect(tc.page)
			if got := run(t, tc.mode, page); got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

// TestPositionsEverySplit writes every case in two and in three pieces at
// every pair of positions, and one byte at a time.
func TestPositionsEverySplit(t *testing.T) {
	for _, tc := range positionCases {
		t.Run(tc.name, func(t *testing.T) {
			page, want := expect(tc.page)
			for i := 0; i <= len(page); i++ {
				if got := run(t, tc.mode, page[:i], page[i:]); got != want {
					t.Fatalf("split at %d: got %q, want %q", i, got, want)
				}
				for j := i; j <= len(page); j++ {
					if got := run(t, tc.mode, page[:i], page[i:j], page[j:]); got != want {
						t.Fatalf("split at %d and %d: got %q, want %q", i, j, got, want)
					}
				}
			}
			bytewise := make([]string, len(page))
			for i := 0; i < len(page); i++ {
				bytewise[i] = page[i : i+1]
			}
			if got := run(t, tc.mode, bytewise...); got != want {
				t.Fatalf("one byte per write: got %q, want %q", got, want)
			}
		})
	}
}

// TestPositionsEverySplitFlushed is TestPositionsEverySplit's two-piece and
// one-byte splits with a Flush after every write: flushes must not move the
// block.
func TestPositionsEverySplitFlushed(t *testing.T) {
	for _, tc := range positionCases {
		t.Run(tc.name, func(t *testing.T) {
			page, want := expect(tc.page)
			for i := 0; i <= len(page); i++ {
				if got := runFlushed(t, tc.mode, page[:i], page[i:]); got != want {
					t.Fatalf("split at %d: got %q, want %q", i, got, want)
				}
			}
			bytewise := make([]string, len(page))
			for i := 0; i < len(page); i++ {
				bytewise[i] = page[i : i+1]
			}
			if got := runFlushed(t, tc.mode, bytewise...); got != want {
				t.Fatalf("one byte per write: got %q, want %q", got, want)
			}
		})
	}
}

// TestTagAcrossOneByteWrites spells a tag over three one-byte writes at every
// place in it, with the rest in bigger pieces.
func TestTagAcrossOneByteWrites(t *testing.T) {
	for _, tag := range []string{"</head>", "</body>"} {
		page := "ab" + tag + "cd"
		want := "ab" + testBlock + tag + "cd"
		for i := 0; i+3 <= len(page); i++ {
			chunks := []string{page[:i], page[i : i+1], page[i+1 : i+2], page[i+2 : i+3], page[i+3:]}
			if got := run(t, Head, chunks...); got != want {
				t.Errorf("%q: got %q, want %q", chunks, got, want)
			}
		}
	}
}

// expect splits a page with a "|" marker into the input and the output the
// Writer must produce.
func expect(marked string) (page, want string) {
	i := strings.IndexByte(marked, '|')
	page = marked[:i] + marked[i+1:]
	return page, marked[:i] + testBlock + marked[i+1:]
}

func TestWriteReportsWholeInputWhileHolding(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, []byte(testBlock), Head)
	for _, c := range []string{"abc</h", "e", "a", "d"} {
		if n, err := w.Write([]byte(c)); n != len(c) || err != nil {
			t.Fatalf("Write(%q) = %d, %v; want %d, nil", c, n, err, len(c))
		}
	}
	if out.String() != "abc" {
		t.Errorf("underlying writer has %q, want %q: only a possible tag may be held", out.String(), "abc")
	}
	if w.Injected() {
		t.Errorf("Injected() = true before the tag is complete")
	}
	if _, err := w.Write([]byte(">x")); err != nil {
		t.Fatal(err)
	}
	if !w.Injected() || out.String() != "abc"+testBlock+"</head>x" {
		t.Errorf("after the tag completes: Injected() = %v, output %q", w.Injected(), out.String())
	}
}

func TestBigPageWithoutTagIsNotBuffered(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, []byte(testBlock), Body)
	page := bytes.Repeat([]byte("<p>text</p>\n"), 100000)
	page = append(page, "</bod"...)
	if _, err := w.Write(page); err != nil {
		t.Fatal(err)
	}
	if held := len(page) - out.Len(); held != len("</bod") {
		t.Errorf("%d bytes held back, want %d", held, len("</bod"))
	}
}

// recorder is an underlying writer that keeps every Write's slice and counts
// calls to its own Flush, which the Writer must never make.
type recorder struct {
	bytes.Buffer
	writes  [][]byte
	flushes int
}

func (r *recorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, p)
	return r.Buffer.Write(p)
}

func (r *recorder) Flush() { r.flushes++ }

func TestWritesAfterInjectionGoStraightThrough(t *testing.T) {
	var rec recorder
	w := NewWriter(&rec, []byte(testBlock), Head)
	if _, err := w.Write([]byte("<head></head>")); err != nil {
		t.Fatal(err)
	}
	rec.writes = nil
	p := []byte("<body></body></head>")
	if n, err := w.Write(p); n != len(p) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if len(rec.writes) != 1 || &rec.writes[0][0] != &p[0] || len(rec.writes[0]) != len(p) {
		t.Errorf("after injection, Write made %d underlying writes; want one, of the caller's slice", len(rec.writes))
	}
}

func TestFlush(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string // "" means call Flush
		want   string
	}{
		{"held bytes that are no tag go out later", []string{"abc</he", "", "llo"}, "abc</hello" + testBlock},
		{"tag split at a flush is found", []string{"a</he", "", "ad>b"}, "a" + testBlock + "</head>b"},
		{"tag found at its delimiter", []string{"a</head", "", ">b"}, "a" + testBlock + "</head>b"},
		{"split tag wins over a later one", []string{"a</hea", "", "d>b</body>"}, "a" + testBlock + "</head>b</body>"},
		{"flush before a tag is harmless", []string{"a", "", "</head>"}, "a" + testBlock + "</head>"},
		{"flush after a tag is harmless", []string{"</head>", "", "x"}, testBlock + "</head>x"},
		{"flush with nothing written", []string{"", "</body>"}, testBlock + "</body>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rec recorder
			w := NewWriter(&rec, []byte(testBlock), Head)
			for _, c := range tc.chunks {
				if c == "" {
					if err := w.Flush(); err != nil {
						t.Fatalf("Flush() = %v", err)
					}
					if w.nheld >= len("</head>") {
						t.Fatalf("%d bytes held after Flush, more than a tag prefix", w.nheld)
					}
					continue
				}
				if _, err := w.Write([]byte(c)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if rec.String() != tc.want {
				t.Errorf("got %q, want %q", rec.String(), tc.want)
			}
			if rec.flushes != 0 {
				t.Errorf("the underlying writer was flushed %d times, want 0", rec.flushes)
			}
		})
	}
}

// splitTags are the target tags with a delimiter, in the modes that target
// them, including the Head-mode answer to a page without "</head".
var splitTags = []struct {
	tag  string
	mode Mode
}{
	{"</head>", Head}, {"</HEAD\t", Head}, {"</body>", Head},
	{"</body>", Body}, {"</BODY/", Body}, {"</bodY\n", Body}, {"</BoDy ", Body},
}

// TestTagSplitAtFlushes cuts a target tag in two and in three pieces at every
// place, with a Flush at every cut, as a reverse proxy does when a chunked
// upstream's chunks end inside the tag: the block still lands right before
// the tag.
func TestTagSplitAtFlushes(t *testing.T) {
	for _, st := range splitTags {
		const before, after = "<p>x</p>", "rest</html>"
		page := before + st.tag + after
		want := before + testBlock + st.tag + after
		lo, hi := len(before), len(before)+len(st.tag)
		for i := lo; i <= hi; i++ {
			if got := runFlushed(t, st.mode, page[:i], page[i:]); got != want {
				t.Errorf("%q, mode %d, cut at %d: got %q, want %q", st.tag, st.mode, i-lo, got, want)
			}
			for j := i; j <= hi; j++ {
				if got := runFlushed(t, st.mode, page[:i], page[i:j], page[j:]); got != want {
					t.Errorf("%q, mode %d, cuts at %d and %d: got %q, want %q", st.tag, st.mode, i-lo, j-lo, got, want)
				}
			}
		}
	}
}

// runFlushed writes chunks to a new Writer with a Flush after each, closes
// it and returns the output.
func runFlushed(t *testing.T, mode Mode, chunks ...string) string {
	t.Helper()
	var out bytes.Buffer
	w := NewWriter(&out, []byte(testBlock), mode)
	for _, c := range chunks {
		if _, err := w.Write([]byte(c)); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestFlushHoldsOnlyATagPrefix streams a page the way a slow upstream does and
// looks at what has reached the underlying writer after each Flush: all of
// the input except a trailing prefix of a target tag, which is never more
// than len("</head>")-1 bytes. A "</he" is held in Head mode only: Body mode
// does not look for "</head".
func TestFlushHoldsOnlyATagPrefix(t *testing.T) {
	steps := []struct {
		chunk string
		held  string // trailing bytes not yet written after the Flush
		mode  Mode
	}{
		{"<html><head><title>t</title></he", "</he", Head},
		{"<html><head><title>t</title></he", "", Body},
		{"<html><head><title>t</title></head", "</head", Head},
		{"<html><head><title>t</title></head", "", Body},
		{"<p>a < b</p>\n<", "<", Body},
		{"<p>x</p></", "</", Body},
		{"<p>x</p></b", "</b", Head},
		{"<p>x</p></bOd", "</bOd", Body},
		{"<p>x</p></BODY", "</BODY", Body},
		{"<p>x</p></bodyx", "", Body},
		{"<p>x</p></b</bo", "</bo", Body},
		{"<p>x</p></x", "", Head},
		{"<p>x</p><b", "", Body},
		{"text with no tag at all", "", Body},
	}
	for _, st := range steps {
		for _, pieces := range []int{1, 3} {
			var rec recorder
			w := NewWriter(&rec, []byte(testBlock), st.mode)
			// Write the chunk in pieces, each flushed, as a reverse proxy
			// does with a chunked upstream.
			for i := 0; i < pieces; i++ {
				p := st.chunk[i*len(st.chunk)/pieces : (i+1)*len(st.chunk)/pieces]
				if _, err := w.Write([]byte(p)); err != nil {
					t.Fatal(err)
				}
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			if want := strings.TrimSuffix(st.chunk, st.held); rec.String() != want {
				t.Errorf("mode %d, %q in %d pieces: after Flush the writer has %q, want %q",
					st.mode, st.chunk, pieces, rec.String(), want)
			}
			if w.nheld > len("</head>")-1 {
				t.Errorf("%q: %d bytes held", st.chunk, w.nheld)
			}
		}
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, []byte(testBlock), Body)
	if _, err := w.Write([]byte("x</bo")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := w.Close(); err != nil {
			t.Fatalf("Close() #%d = %v", i+1, err)
		}
	}
	if out.String() != "x</bo"+testBlock {
		t.Errorf("got %q, want %q", out.String(), "x</bo"+testBlock)
	}
	if n, err := w.Write([]byte("y")); n != 0 || !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %d, %v; want 0, ErrClosed", n, err)
	}
	if err := w.Flush(); err != nil {
		t.Errorf("Flush after Close = %v, want nil", err)
	}
}

func TestReset(t *testing.T) {
	var a, b bytes.Buffer
	w := NewWriter(&a, []byte("A"), Head)
	if _, err := w.Write([]byte("</head>x</bo")); err != nil {
		t.Fatal(err)
	}
	w.Reset(&b, []byte("B"), Body)
	if w.Injected() {
		t.Fatal("Injected() = true after Reset")
	}
	if _, err := w.Write([]byte("</head></body>")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Nothing is held back after injection, so the first stream is complete.
	if a.String() != "A</head>x</bo" || b.String() != "</head>B</body>" {
		t.Errorf("got %q and %q, want %q and %q", a.String(), b.String(), "A</head>x</bo", "</head>B</body>")
	}
}

// failWriter accepts limit bytes, then fails (or, if short, stops short).
type failWriter struct {
	out   bytes.Buffer
	limit int
	short bool
}

var errBroken = errors.New("broken pipe")

func (f *failWriter) Write(p []byte) (int, error) {
	room := f.limit - f.out.Len()
	if room >= len(p) {
		return f.out.Write(p)
	}
	f.out.Write(p[:max(room, 0)])
	if f.short {
		return max(room, 0), nil
	}
	return max(room, 0), errBroken
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		limit   int
		short   bool
		chunks  []string
		failing int    // index of the chunk whose Write fails; len(chunks) for Close
		n       int    // bytes of that chunk reported written
		want    string // what reached the underlying writer
		wantErr error
	}{
		{"before the tag", 2, false, []string{"abcd</head>"}, 0, 2, "ab", errBroken},
		{"before a held tag prefix", 2, false, []string{"abc</h"}, 0, 2, "ab", errBroken},
		{"in the block", 5, false, []string{"abcd</head>"}, 0, 4, "abcd[", errBroken},
		{"in the tag after the block", 9, false, []string{"abcd</head>"}, 0, 6, "abcd[B]</", errBroken},
		{"block in a held tag", 3, false, []string{"abc</hea", "d>"}, 1, 0, "abc", errBroken},
		{"after injection", 10, false, []string{"</head>", "abcdef"}, 1, 0, "[B]</head>", errBroken},
		{"flushing held bytes that are no tag", 4, false, []string{"abc</h", "x"}, 1, 0, "abc<", errBroken},
		{"block at the end", 4, false, []string{"abcd"}, 1, 0, "abcd", errBroken},
		{"short write", 2, true, []string{"abcd"}, 0, 2, "ab", io.ErrShortWrite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fw := &failWriter{limit: tc.limit, short: tc.short}
			w := NewWriter(fw, []byte(testBlock), Head)
			var err error
			for i, c := range tc.chunks {
				var n int
				n, err = w.Write([]byte(c))
				if i < tc.failing {
					if err != nil {
						t.Fatalf("Write #%d = %v, want success", i, err)
					}
					continue
				}
				if n != tc.n || !errors.Is(err, tc.wantErr) {
					t.Fatalf("Write #%d = %d, %v; want %d, %v", i, n, err, tc.n, tc.wantErr)
				}
				break
			}
			if tc.failing == len(tc.chunks) {
				if err := w.Close(); !errors.Is(err, tc.wantErr) {
					t.Fatalf("Close() = %v, want %v", err, tc.wantErr)
				}
			}
			if fw.out.String() != tc.want {
				t.Errorf("underlying writer got %q, want %q", fw.out.String(), tc.want)
			}
			// The error sticks: nothing more is written, and it is reported again.
			if n, err := w.Write([]byte("</body>more")); n != 0 || !errors.Is(err, tc.wantErr) {
				t.Errorf("Write after the error = %d, %v; want 0, %v", n, err, tc.wantErr)
			}
			if err := w.Flush(); !errors.Is(err, tc.wantErr) {
				t.Errorf("Flush after the error = %v, want %v", err, tc.wantErr)
			}
			if err := w.Close(); !errors.Is(err, tc.wantErr) {
				t.Errorf("Close after the error = %v, want %v", err, tc.wantErr)
			}
			if fw.out.String() != tc.want {
				t.Errorf("after the error, underlying writer got %q, want %q", fw.out.String(), tc.want)
			}
		})
	}
}

func TestWriteDoesNotAllocate(t *testing.T) {
	page := []byte("<html><head><title>x</title><body><p>a</p><div></div></bo")
	rest := []byte("dy>")
	block := []byte(testBlock)
	w := NewWriter(io.Discard, block, Body)
	allocs := testing.AllocsPerRun(100, func() {
		w.Reset(io.Discard, block, Body)
		w.Write(page)
		w.Write(rest)
		w.Close()
	})
	if allocs != 0 {
		t.Errorf("a Reset, two Writes and a Close allocate %v times, want 0", allocs)
	}
	if !w.Injected() {
		t.Errorf("Injected() = false: the measured path did not find the split </body>")
	}
}
