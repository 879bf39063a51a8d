// Package inject inserts a block of bytes (the wx.config script) into an
// HTML body while it streams, with memory bounded by a few bytes whatever the
// size of the page.
//
// # Where the block goes
//
// A Writer inserts its block exactly once, immediately before the first
// target closing tag:
//
//   - Head mode targets "</head" and "</body", whichever comes first. A
//     "</body" before any "</head" means the page has no head end tag, and the
//     end of the body is still inside the document.
//   - Body mode targets "</body" only; a "</head" is passed through.
//
// A tag name matches ASCII-case-insensitively and must be followed by '>',
// ASCII whitespace (tab, LF, FF, CR, space) or '/': "</HEAD >" matches,
// "</header>" and "</bodyguard>" do not. Tags are matched as bytes, without an
// HTML tokenizer, so a "</head>" inside a comment or a script string counts
// too; for the pages this serves that is a fair price for never buffering.
//
// When the stream ends without a target tag, Close writes the block at the
// end. That is also the Body-mode answer for a page with only a "</head":
// browsers parse content after the last tag into the body, so a script there
// runs as it would before "</body>".
//
// # Streaming
//
// Write copies its input through and holds back only the trailing bytes that
// could be the beginning of a target tag, at most len("</body") = 6 bytes, so
// a tag split across any number of writes and flushes is found. Once the
// block is written, later writes go straight to the destination, unscanned.
//
// A Flush does not release those held-back bytes: reverse_proxy flushes after
// every read of a chunked upstream, so a flush can fall inside a tag, and
// releasing "</he" there would lose the tag and put the block at the end of
// the page. Every other byte has already been written when Write returns, so
// a streaming response (server-sent events, a slow upstream) is delayed by at
// most the few bytes of a possible tag, until the write that settles them.
//
// Body mode scans the whole page, so it searches for the last letter of
// "</body" ('y' or 'Y'), far rarer in pages than '<', rather than visiting
// every '<'. Head mode visits every '<' until it finds its tag, which is
// usually early.
package inject
