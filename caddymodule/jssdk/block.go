package jssdk

import (
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/bodyrewrite"
	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

// bootJS calls wx.config with the JSON block: at once when the page loaded
// jweixin before the block, else the moment jweixin sets window.wx (pages
// often load it at the end of the body), else, once the document has parsed,
// after loading it from sdk_url. It wraps the page's wx.ready and wx.error so
// that its retry keeps jweixin's contract with them (README: "The boot script
// and the page's jweixin calls"). Whether a page brings its own SDK can only
// be known in the browser: the stream cannot see what comes later.
//
//go:embed boot.js
var bootJS string

// blockTemplate holds everything of the injected block that does not change
// per request, so that a page costs one nonce, one SHA-1 and a few appends.
type blockTemplate struct {
	jsonHead string // {"debug":…,"appId":"…","timestamp":
	jsonTail string // ,"jsApiList":[…],"openTagList":[…],"url":
	boot     string // }</script><script>…</script>: the rest after the URL
	// the same as boot, split where the page's CSP nonce attribute goes
	bootNoncePre, bootNoncePost string
	// what a page's Content-Security-Policy must allow for the boot script
	csp cspAllowance
	// the last ticket pages were signed with, prepared for signing; nil in
	// a template not made by newBlockTemplate
	ticket *ticketCache
}

// ticketCache holds the ticket the last page was signed with, prepared for
// signing: a ticket lives for two hours, so preparing costs one allocation
// per ticket, and a page hashes one SHA-1 block fewer.
type ticketCache struct {
	last atomic.Pointer[preparedTicket]
}

type preparedTicket struct {
	ticket string
	signer *sign.JSSDKTicket
}

func (c *ticketCache) get(ticket string) *sign.JSSDKTicket {
	if c == nil {
		return sign.NewJSSDKTicket(ticket)
	}
	// The store hands out the same string until the ticket changes: the
	// comparison is a pointer comparison then.
	if p := c.last.Load(); p != nil && p.ticket == ticket {
		return p.signer
	}
	p := &preparedTicket{ticket: ticket, signer: sign.NewJSSDKTicket(ticket)}
	c.last.Store(p)
	return p.signer
}

const scriptOpen = `<script id="wechat-jssdk-config" type="application/json">`

// boot.js is written to be read; what goes into every page drops the
// indentation and the whole-line comments. Its WeCom part, the lines
// between "// wecom {" and "// } wecom", goes only into WeCom pages
// (blockOptions.wecom): an Official Account page gets the script without
// them, byte for byte what it would be had they never been written.
var (
	jsIndent  = regexp.MustCompile(`\n\t*`)
	jsComment = regexp.MustCompile(`(?m)^//.*\n`)
	jsWeCom   = regexp.MustCompile(`(?ms)^\t*// wecom \{\n.*?^\t*// \} wecom\n`)
)

// bootScript is boot.js as it goes into a page: with its WeCom part or
// without, placeholders not yet filled.
func bootScript(wecom bool) string {
	if wecom {
		return bootJS
	}
	return jsWeCom.ReplaceAllString(bootJS, "")
}

// blockOptions is what of the configuration goes into the block.
type blockOptions struct {
	appID          string
	debug          bool
	jsAPIList      []string
	openTagList    []string
	sdkURL         string // a URL, a path, or "off"
	configEndpoint string // "" when off
	wecom          bool   // WeCom mode: the boot script with its WeCom part
}

func newBlockTemplate(o blockOptions) (blockTemplate, error) {
	var t blockTemplate
	var b []byte
	b = append(b, `{"debug":`...)
	b = strconv.AppendBool(b, o.debug)
	b = append(b, `,"appId":`...)
	b = bodyrewrite.AppendJSONString(b, o.appID)
	b = append(b, `,"timestamp":`...)
	t.jsonHead = string(b)

	b = b[:0]
	b = append(b, `,"jsApiList":`...)
	b = appendJSONList(b, o.jsAPIList)
	b = append(b, `,"openTagList":`...)
	b = appendJSONList(b, o.openTagList)
	b = append(b, `,"url":`...)
	t.jsonTail = string(b)

	js := strings.NewReplacer("SDK_URL", jsLiteral(o.sdkURL), "CONFIG_ENDPOINT", jsLiteral(o.configEndpoint)).Replace(bootScript(o.wecom))
	js = strings.TrimSpace(jsComment.ReplaceAllString(jsIndent.ReplaceAllString(js, "\n"), ""))
	if strings.Contains(strings.ToLower(js), "</script") {
		return t, fmt.Errorf("sdk_url %q cannot be embedded in a script", o.sdkURL)
	}
	t.ticket = new(ticketCache)
	t.csp = newCSPAllowance(o.sdkURL, o.configEndpoint != "", js)
	t.boot = `}</script><script id="wechat-jssdk-boot">` + js + "</script>"
	t.bootNoncePre = `}</script><script id="wechat-jssdk-boot" nonce="`
	t.bootNoncePost = `">` + js + "</script>"
	return t, nil
}

// jsLiteral is s as a JavaScript string literal safe in HTML, or null when
// the option is empty or off.
func jsLiteral(s string) string {
	if s == "" || s == sdkOff {
		return "null"
	}
	return string(bodyrewrite.AppendJSONString(nil, s))
}

func appendJSONList(dst []byte, list []string) []byte {
	dst = append(dst, '[')
	for i, s := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = bodyrewrite.AppendJSONString(dst, s)
	}
	return append(dst, ']')
}

// appendBlock appends the whole injected block for one page.
// cspNonce, when not empty, is the page's CSP script nonce (already checked
// to be base64 characters only).
func (t *blockTemplate) appendBlock(dst []byte, ticket, pageURL string, now time.Time, cspNonce string) []byte {
	// Grow once: the nonce is read back from dst while the signature is
	// appended, so dst must not move in between.
	dst = slices.Grow(dst, len(scriptOpen)+len(t.jsonHead)+len(t.jsonTail)+len(t.bootNoncePre)+
		len(t.bootNoncePost)+len(cspNonce)+6*len(pageURL)+128)
	dst = append(dst, scriptOpen...)
	dst = t.appendConfig(dst, ticket, pageURL, now)
	if cspNonce == "" {
		return append(dst, t.boot...)
	}
	dst = append(dst, t.bootNoncePre...)
	dst = append(dst, cspNonce...)
	return append(dst, t.bootNoncePost...)
}

// appendConfig appends the wx.config object for pageURL without its closing
// brace (the boot part or the caller closes it).
func (t *blockTemplate) appendConfig(dst []byte, ticket, pageURL string, now time.Time) []byte {
	ts := now.Unix()
	dst = slices.Grow(dst, len(t.jsonHead)+len(t.jsonTail)+6*len(pageURL)+128)
	dst = append(dst, t.jsonHead...)
	n := len(dst)
	dst = strconv.AppendInt(dst, ts, 10)
	// A view of the digits: they are only read, and stay as they are even
	// if dst moves.
	digits := bytesString(dst[n:])
	dst = append(dst, `,"nonceStr":"`...)
	dst = t.ticket.get(ticket).AppendNonceJSSDK(dst, `","signature":"`, digits, pageURL)
	dst = append(dst, '"')
	dst = append(dst, t.jsonTail...)
	return bodyrewrite.AppendJSONString(dst, pageURL)
}

// bytesString views b as a string without copying. Callers must not change
// b while the string is in use; it is used only for arguments that are read
// and not kept.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
