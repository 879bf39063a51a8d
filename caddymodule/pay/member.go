package pay

import (
	"encoding/json"
	"strconv"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/bodyrewrite"
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
// letters; pkg is "prepay_id=" and an id that passed validPrepayID
// (letters, digits, _ and -) and paySign is base64 or hex, so the JSON
// encoding below has nothing to escape or reject; it is there so that no
// later change to what is accepted can break the JSON. It is the encoder
// wechat_jssdk writes into pages, so a response's JSON strings are spelled
// the same whichever handler wrote them.
func (m memberTemplate) appendTo(dst []byte, timeStamp, nonceStr, pkg, paySign string) []byte {
	dst = append(dst, m.head...)
	dst = append(dst, timeStamp...)
	dst = append(dst, `","nonceStr":"`...)
	dst = append(dst, nonceStr...)
	dst = append(dst, `","package":`...)
	dst = bodyrewrite.AppendJSONString(dst, pkg)
	dst = append(dst, m.tail...)
	dst = bodyrewrite.AppendJSONString(dst, paySign)
	return append(dst, '}')
}
