package inject

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

const chunkSize = 32 << 10

var benchSizes = []struct {
	name string
	size int
}{{"16KiB", 16 << 10}, {"1MiB", 1 << 20}, {"10MiB", 10 << 20}}

// Page bodies of different tag density, repeated to fill a page.
const (
	// markupItem is dense markup: a '<' every 9 bytes, half of them closing
	// tags. The worst realistic case for a scan.
	markupItem = "<div class=\"item\"><h2>Item</h2><p>Some text with a <a href=\"/x?a=1&b=2\">link</a>," +
		" <em>emphasis</em> and <strong>more</strong>.</p></div>\n"
	// textItem is an article: a '<' every 60 bytes or so.
	textItem = "<p>WeChat JS-SDK pages are ordinary HTML documents, served by Caddy from disk or " +
		"from an upstream application, and most of their bytes are <em>text</em> between a " +
		"few tags; some of it is <a href=\"/docs/jssdk\">linked</a> elsewhere.</p>\n"
	// scriptItem is a bundled single-page app: inline JavaScript with a '<'
	// every few hundred bytes.
	scriptItem = "function render(state){var items=state.items||[];for(var i=0;i<items.length;i++)" +
		"{var it=items[i];if(it.visible&&it.price>0){total+=it.price*it.count;names.push(it.name)}}" +
		"return {total:total,names:names.join(','),updated:Date.now(),version:'1.0.0-build.2048'}}\n"
)

// benchPage builds an HTML page of exactly size bytes from repeated items,
// with "</head>" near the start and "</body>" at the end.
func benchPage(size int, item string) []byte {
	const head = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Bench</title>" +
		"<link rel=\"stylesheet\" href=\"/app.css\"></head><body>\n"
	const tail = "</body></html>\n"
	var b bytes.Buffer
	b.WriteString(head)
	for b.Len()+len(item)+len(tail) <= size {
		b.WriteString(item)
	}
	b.Write(bytes.Repeat([]byte(" "), size-b.Len()-len(tail)))
	b.WriteString(tail)
	return b.Bytes()
}

// sink discards its input, hiding io.Discard's ReaderFrom so io.Copy really
// moves the page in chunks, as it does into an http.ResponseWriter.
type sink struct{}

func (sink) Write(p []byte) (int, error) { return len(p), nil }

// onlyReader hides bytes.Reader's WriterTo for the same reason.
type onlyReader struct{ io.Reader }

// BenchmarkCopy is the baseline: the page copied in 32 KiB chunks, no
// injector.
func BenchmarkCopy(b *testing.B) {
	buf := make([]byte, chunkSize)
	for _, s := range benchSizes {
		page := benchPage(s.size, markupItem)
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			r := bytes.NewReader(page)
			var src io.Reader = onlyReader{r}
			for b.Loop() {
				r.Reset(page)
				if _, err := io.CopyBuffer(sink{}, src, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInject copies the markup page through a Writer. Head mode finds
// "</head>" near the start and passes the rest through unscanned (the common
// case); Body mode scans the whole page for the "</body>" at its end, which
// is also the cost of a page with neither tag.
func BenchmarkInject(b *testing.B) {
	for _, mode := range []Mode{Head, Body} {
		for _, s := range benchSizes {
			b.Run(fmt.Sprintf("%s/%s", [...]string{"head", "body"}[mode], s.name), func(b *testing.B) {
				benchInject(b, benchPage(s.size, markupItem), mode)
			})
		}
	}
}

// BenchmarkScanDensity is the full scan (Body mode) of 1 MiB pages with
// fewer and fewer tags.
func BenchmarkScanDensity(b *testing.B) {
	for _, d := range []struct{ name, item string }{
		{"markup", markupItem}, {"text", textItem}, {"script", scriptItem},
	} {
		b.Run(d.name, func(b *testing.B) { benchInject(b, benchPage(1<<20, d.item), Body) })
	}
}

func benchInject(b *testing.B, page []byte, mode Mode) {
	buf := make([]byte, chunkSize)
	block := []byte("<script>wx.config({})</script>")
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	r := bytes.NewReader(page)
	var src io.Reader = onlyReader{r}
	var w Writer
	for b.Loop() {
		r.Reset(page)
		w.Reset(sink{}, block, mode)
		if _, err := io.CopyBuffer(&w, src, buf); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil || !w.Injected() {
			b.Fatal("not injected", err)
		}
	}
}

// TestBenchPage keeps the benchmarks honest: pages of the stated size, with
// the block going before the final </body> in Body mode.
func TestBenchPage(t *testing.T) {
	for _, item := range []string{markupItem, textItem, scriptItem} {
		for _, s := range benchSizes {
			page := benchPage(s.size, item)
			if len(page) != s.size {
				t.Errorf("benchPage(%d) is %d bytes", s.size, len(page))
			}
			var out bytes.Buffer
			w := NewWriter(&out, []byte(testBlock), Body)
			w.Write(page)
			w.Close()
			if !bytes.HasSuffix(out.Bytes(), []byte(testBlock+"</body></html>\n")) {
				t.Errorf("benchPage(%d): the block is not before the final </body>", s.size)
			}
		}
	}
}
