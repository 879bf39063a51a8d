package bodyrewrite

import (
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
			dst = appendUnicodeEscape(dst, r) // RuneError for invalid bytes: \ufffd
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
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
