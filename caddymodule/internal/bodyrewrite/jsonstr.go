package bodyrewrite

import (
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string that is safe inside an HTML
// <script> element of a page in any charset:
//   - <, > and & are escaped, so "</script>" or "<!--" in a URL cannot end
//     or re-mode the element;
//   - everything outside ASCII is written as \uXXXX (surrogate pairs above
//     U+FFFF), so the bytes injected into a GBK or Big5 page mean the same
//     as in a UTF-8 one — and U+2028/U+2029 never reach old JS parsers;
//   - invalid UTF-8 becomes \ufffd.
//
// It decodes to what encoding/json decodes from json.Marshal(s) (a fuzz
// test holds it to that), without the reflection and allocation.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		i = skipSafe(s, i)
		if i == len(s) {
			break
		}
		c := s[i]
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
			dst = appendUnicodeEscape(dst, r) // RuneError for invalid bytes: \ufffd
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// skipSafe returns the index of the first byte at or after i that
// AppendJSONString must not copy as it is (see jsonSafe), or len(s). It
// looks at 8 bytes at a time: URLs are long runs of safe bytes.
func skipSafe(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if m := unsafeBytes(load64(s, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	if i < len(s) && len(s) >= 8 {
		// The last 1 to 7 bytes: read the last 8 and shift out the
		// k bytes before i, which have been looked at already. The k zero
		// bytes shifted in at the top count as unsafe; they are masked off.
		k := uint(i - (len(s) - 8))
		m := unsafeBytes(load64(s, len(s)-8)>>(8*k)) & (swarHigh >> (8 * k))
		if m == 0 {
			return len(s)
		}
		return i + bits.TrailingZeros64(m)>>3
	}
	for i < len(s) && jsonSafe[s[i]] {
		i++
	}
	return i
}

// load64 reads s[i:i+8] as a little-endian word (one load on amd64 and
// arm64: the compiler merges the byte loads).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

const (
	swarLow  = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// unsafeBytes sets the top bit of each byte of w that is not jsonSafe:
// below 0x20, from 0x80, or one of " \ < > &. The lowest set bit is exact,
// which is all skipSafe reads: a byte is flagged by a subtraction x-1 (or
// w-0x20) borrowing from it, and a borrow reaches the next byte only from a
// byte that is flagged itself, so only bytes above the first flagged one
// can be flagged wrongly.
//
// '"' (0x22) and '&' (0x26) differ only in bit 2, '<' (0x3c) and '>' (0x3e)
// only in bit 1: setting that bit first makes one test of the two.
func unsafeBytes(w uint64) uint64 {
	const (
		ctl    = 0x20 * swarLow
		quoAmp = 0x26 * swarLow // '&', and '"' with bit 2 set
		ltGt   = 0x3e * swarLow // '>', and '<' with bit 1 set
		bslash = '\\' * swarLow
	)
	// (In Go, | and - bind alike, hence the parentheses.)
	x := (w - ctl) |
		(((w | 0x04*swarLow) ^ quoAmp) - swarLow) |
		(((w | 0x02*swarLow) ^ ltGt) - swarLow) |
		((w ^ bslash) - swarLow)
	// A byte whose top bit was clear and is now set was below 0x20 or
	// matched; a byte whose top bit is set in w is not ASCII.
	return (x | w) & swarHigh
}

// jsonSafe marks the bytes AppendJSONString copies as they are: printable
// ASCII but '"', '\\', '<', '>' and '&'. One load per byte instead of six
// comparisons: URLs are almost all such bytes.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

func appendUnicodeEscape(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&0xF], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
}
