package pay

import (
	"encoding/json"
	"strconv"
)

// memberTemplate writes the member the handler adds:
//
//	,"wechat_pay":{"appId":"…","timeStamp":"…","nonceStr":"…","package":"prepay_id=…","signType":"…","paySign":"…"}
//
// in the order WeChat's documentation lists the chooseWXPay parameters,
// all strings. The parts that do not change per request are encoded once;
// app_id is letters and digits and signType a fixed word, so strconv.Quote
// spells them as JSON does.
type memberTemplate struct {
	head string // `,"<output>":{"appId":"<appid>","timeStamp":"`
	tail string // `,"signType":"<type>","paySign":`
}

func newMemberTemplate(outputField, appID, signType string) memberTemplate {
	name, _ := json.Marshal(outputField) // a string always marshals
	return memberTemplate{
		head: "," + string(name) + `:{"appId":` + strconv.Quote(appID) + `,"timeStamp":"`,
		tail: `,"signType":` + strconv.Quote(signType) + `,"paySign":`,
	}
}

// appendTo appends the member to dst. timeStamp and nonceStr are digits and
// letters; pkg has passed validPrepayID and paySign is base64 or hex, so
// the JSON encoding below only ever escapes, never has to reject.
func (m memberTemplate) appendTo(dst []byte, timeStamp, nonceStr, pkg, paySign string) []byte {
	dst = append(dst, m.head...)
	dst = append(dst, timeStamp...)
	dst = append(dst, `","nonceStr":"`...)
	dst = append(dst, nonceStr...)
	dst = append(dst, `","package":`...)
	dst = appendJSONString(dst, pkg)
	dst = append(dst, m.tail...)
	dst = appendJSONString(dst, paySign)
	return append(dst, '}')
}

// appendJSONString appends s as a JSON string, escaping what
// encoding/json escapes in ASCII (quotes, backslash, control characters and
// <, >, & for HTML safety).
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
