package jssdk

import (
	"slices"
	"strconv"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/bodyrewrite"
	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

// The WeCom block is the Official Account's (block.go) with the WeCom
// members: the same <script> elements, boot script, CSP allowance and
// escaping, but a JSON object that carries two signatures of the page URL,
// each with the JS-SDK rule and its own ticket:
//
//	{"debug":false,"beta":true,"appId":"<corp_id>","timestamp":T,"nonceStr":"<n1>",
//	 "signature":"<sha1 with the corp jsapi_ticket>","jsApiList":[…],"openTagList":[…],"url":"<page URL>",
//	 "corpId":"<corp_id>","agentId":"<agent_id>",
//	 "agentConfig":{"corpid":"<corp_id>","agentid":"<agent_id>","timestamp":T,"nonceStr":"<n2>",
//	                "signature":"<sha1 with the app's agent_config ticket>","jsApiList":[…]}}
//
// The members up to "url" are wx.config's, in the Official Account's order
// (a boot script that knows only wx.config keeps working); what follows is
// for ww.register (corpId, agentId) and wx.agentConfig, whose member names
// are WeCom's own (lowercase corpid and agentid). Both signatures share the
// timestamp (one instant) and have a nonce each, so each half is a
// complete, independent answer to @wecom/jssdk's getConfigSignature and
// getAgentConfigSignature. The agent ID is a JSON string.
//
// It is kept apart from blockTemplate.appendConfig, the Official Account's
// hot path, which stays as it is.

// weComBlockOptions is what of a WeCom configuration goes into the block.
type weComBlockOptions struct {
	blockOptions
	corpID, agentID string
	agentJSAPIList  []string
}

// weComTemplate holds the parts of the WeCom JSON that do not change per
// request. The script elements around it and the boot script are the
// blockTemplate's.
type weComTemplate struct {
	head      string // {"debug":…,"beta":true,"appId":"…","timestamp":
	mid       string // ,"jsApiList":[…],"openTagList":[…],"url":
	agentHead string // ,"corpId":"…","agentId":"…","agentConfig":{"corpid":"…","agentid":"…","timestamp":
	agentTail string // ,"jsApiList":[…]}
}

func newWeComTemplate(o weComBlockOptions) weComTemplate {
	var t weComTemplate
	var b []byte
	b = append(b, `{"debug":`...)
	b = strconv.AppendBool(b, o.debug)
	b = append(b, `,"beta":true,"appId":`...)
	b = bodyrewrite.AppendJSONString(b, o.corpID)
	b = append(b, `,"timestamp":`...)
	t.head = string(b)

	b = b[:0]
	b = append(b, `,"jsApiList":`...)
	b = appendJSONList(b, o.jsAPIList)
	b = append(b, `,"openTagList":`...)
	b = appendJSONList(b, o.openTagList)
	b = append(b, `,"url":`...)
	t.mid = string(b)

	b = b[:0]
	b = append(b, `,"corpId":`...)
	b = bodyrewrite.AppendJSONString(b, o.corpID)
	b = append(b, `,"agentId":`...)
	b = bodyrewrite.AppendJSONString(b, o.agentID)
	b = append(b, `,"agentConfig":{"corpid":`...)
	b = bodyrewrite.AppendJSONString(b, o.corpID)
	b = append(b, `,"agentid":`...)
	b = bodyrewrite.AppendJSONString(b, o.agentID)
	b = append(b, `,"timestamp":`...)
	t.agentHead = string(b)

	b = b[:0]
	b = append(b, `,"jsApiList":`...)
	b = appendJSONList(b, o.agentJSAPIList)
	b = append(b, '}')
	t.agentTail = string(b)
	return t
}

// appendBlock appends the whole injected block for one page, the script
// elements and boot script being tmpl's (see blockTemplate.appendBlock).
func (w *weComTemplate) appendBlock(dst []byte, tmpl *blockTemplate, corpTicket, agentTicket, pageURL string, now time.Time, cspNonce string) []byte {
	dst = slices.Grow(dst, len(scriptOpen)+len(tmpl.bootNoncePre)+len(tmpl.bootNoncePost)+len(cspNonce))
	dst = append(dst, scriptOpen...)
	dst = w.appendConfig(dst, corpTicket, agentTicket, pageURL, now)
	if cspNonce == "" {
		return append(dst, tmpl.boot...)
	}
	dst = append(dst, tmpl.bootNoncePre...)
	dst = append(dst, cspNonce...)
	return append(dst, tmpl.bootNoncePost...)
}

// appendConfig appends the WeCom object for pageURL without its closing
// brace (the boot part or the caller closes it).
func (w *weComTemplate) appendConfig(dst []byte, corpTicket, agentTicket, pageURL string, now time.Time) []byte {
	ts := now.Unix()
	dst = slices.Grow(dst, len(w.head)+len(w.mid)+len(w.agentHead)+len(w.agentTail)+6*len(pageURL)+2*80)
	dst = append(dst, w.head...)
	dst = appendSigned(dst, corpTicket, pageURL, ts)
	dst = append(dst, w.mid...)
	dst = bodyrewrite.AppendJSONString(dst, pageURL)
	dst = append(dst, w.agentHead...)
	dst = appendSigned(dst, agentTicket, pageURL, ts)
	return append(dst, w.agentTail...)
}

// appendSigned appends `T,"nonceStr":"N","signature":"S"`: the timestamp, a
// fresh nonce, and the JS-SDK signature of pageURL with ticket.
func appendSigned(dst []byte, ticket, pageURL string, ts int64) []byte {
	dst = strconv.AppendInt(dst, ts, 10)
	dst = append(dst, `,"nonceStr":"`...)
	n := len(dst)
	dst = sign.AppendNonce(dst)
	// A copy of the nonce, not a view of dst: appending the signature may
	// move dst.
	var nonce [sign.NonceSize]byte
	copy(nonce[:], dst[n:])
	dst = append(dst, `","signature":"`...)
	dst = sign.AppendJSSDK(dst, ticket, string(nonce[:]), ts, pageURL)
	return append(dst, '"')
}
