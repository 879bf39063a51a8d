package bodyrewrite

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// appendJSONStringRef is AppendJSONString as it was before skipSafe: one
// table look-up per byte. The word-at-a-time version must write exactly
// the same bytes.
func appendJSONStringRef(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonSafe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = appendUnicodeEscape(dst, rune(c))
			}
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		r, size := utf8.DecodeRuneInString(s[i:])
		if r > 0xFFFF {
			hi, lo := utf16.EncodeRune(r)
			dst = appendUnicodeEscape(appendUnicodeEscape(dst, hi), lo)
		} else {
			dst = appendUnicodeEscape(dst, r)
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func skipSafeRef(s string, i int) int {
	for i < len(s) && jsonSafe[s[i]] {
		i++
	}
	return i
}

// TestSkipSafeEveryPair puts every pair of byte values at every position of
// a 16-byte string of safe bytes and starts skipSafe at 0 and just after the
// pair's first byte: the second covers a flagged byte below the start, whose
// borrow must not flag the byte after it (the overlapping last word).
func TestSkipSafeEveryPair(t *testing.T) {
	buf := []byte(strings.Repeat("a", 16))
	for c1 := range 256 {
		for c2 := range 256 {
			for p := 0; p+1 < len(buf); p++ {
				buf[p], buf[p+1] = byte(c1), byte(c2)
				s := string(buf)
				for _, i := range []int{0, p + 1} {
					if got, want := skipSafe(s, i), skipSafeRef(s, i); got != want {
						t.Fatalf("skipSafe(%q, %d) = %d, want %d", s, i, got, want)
					}
				}
				buf[p], buf[p+1] = 'a', 'a'
			}
		}
	}
}

// TestSkipSafeEveryLength runs every start in strings of 0 to 40 bytes with
// one unsafe byte at every position, for each byte value.
func TestSkipSafeEveryLength(t *testing.T) {
	for n := 0; n <= 40; n++ {
		buf := []byte(strings.Repeat("~", n))
		for c := range 256 {
			for p := 0; p < n; p++ {
				buf[p] = byte(c)
				s := string(buf)
				for i := 0; i <= n; i++ {
					if got, want := skipSafe(s, i), skipSafeRef(s, i); got != want {
						t.Fatalf("skipSafe(%q, %d) = %d, want %d", s, i, got, want)
					}
				}
				buf[p] = '~'
			}
		}
	}
}

func TestAppendJSONStringSameAsReference(t *testing.T) {
	for _, s := range []string{"", "a", "https://example.com/pay/order.html?id=12345&from=singlemessage&isappinstalled=0",
		"\x00\x01 !\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}~\x7f\x80\xff", "中文🎉\u2028\u2029\xed\xa0\x80",
		strings.Repeat("&'", 20), strings.Repeat("\x1f ", 20), strings.Repeat("<=>?", 9)} {
		if got, want := AppendJSONString([]byte("p"), s), appendJSONStringRef([]byte("p"), s); !bytes.Equal(got, want) {
			t.Errorf("AppendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

// FuzzAppendJSONStringSameAsReference holds AppendJSONString to the
// byte-at-a-time version, byte for byte.
func FuzzAppendJSONStringSameAsReference(f *testing.F) {
	for _, s := range []string{"", "a\"\\\b\f\n\r\t\x00\x1f\x7f", "<>&</script>", "\u2028\u2029",
		"\xff\xed\xa0\x80\xe4\xb8", "中文🎉\ufffd", "/p?q=%20&x=1#f", "\U0010ffff\xf4\x90\x80\x80",
		"https://example.com/pay/order.html?id=12345&from=singlemessage&isappinstalled=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := AppendJSONString(nil, s), appendJSONStringRef(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

func BenchmarkAppendJSONString(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"url", "https://example.com/pay/order.html?id=12345&from=singlemessage&isappinstalled=0"},
		{"plain", "https://example.com/pay/order.html"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dst := make([]byte, 0, 256)
			for b.Loop() {
				dst = AppendJSONString(dst[:0], bc.s)
			}
		})
	}
}
