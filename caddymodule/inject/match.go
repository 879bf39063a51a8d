package inject

// tagLen is the length of both target tag openings, "</head" and "</body".
const tagLen = len("</head")

// result is what the bytes at a '<' say about a target tag.
type result uint8

const (
	none    result = iota // not a target tag
	partial               // a target tag prefix, cut short by the end of the input
	full                  // a target tag followed by a delimiter
)

// match reports whether b, which starts with '<', starts with a target tag
// for mode: "</head" (Head mode only) or "</body", ASCII-case-insensitively,
// followed by a byte that ends a tag name. It looks at no more than tagLen+1
// bytes, so its answer for a longer b never depends on what follows.
func match(b []byte, mode Mode) result {
	if len(b) < 2 {
		return partial
	}
	if b[1] != '/' {
		return none
	}
	if len(b) < 3 {
		return partial
	}
	var name string // the tag name's letters after the first, in lower case
	// c|0x20 lowers an ASCII letter and maps no other byte onto a letter, so
	// one comparison accepts both cases.
	switch b[2] | 0x20 {
	case 'b':
		name = "ody"
	case 'h':
		if mode != Head {
			return none
		}
		name = "ead"
	default:
		return none
	}
	for k := 0; k < len(name); k++ {
		if 3+k >= len(b) {
			return partial
		}
		if b[3+k]|0x20 != name[k] {
			return none
		}
	}
	if len(b) == tagLen {
		return partial
	}
	if endsTagName(b[tagLen]) {
		return full
	}
	return none
}

// endsTagName reports whether c ends a tag name in an end tag: '>', '/' or
// ASCII whitespace as HTML defines it (tab, LF, FF, CR, space).
func endsTagName(c byte) bool {
	switch c {
	case '>', '/', ' ', '\t', '\n', '\f', '\r':
		return true
	}
	return false
}
