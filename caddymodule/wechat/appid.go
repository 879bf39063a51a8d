package wechat

import (
	"errors"
	"strings"
)

// ValidAppID reports whether s has the shape of an AppID: what WeChat
// issues (wx and 16 hex digits) and the letters-and-digits variants test
// accounts and sandboxes use, at most 64 bytes. The wechat_jssdk,
// wechat_pay and wechat_oauth handlers check their app_id with it, so that
// the three accept the same IDs (the app ID also names storage keys);
// wechat_sandbox does not check the shape of its own.
func ValidAppID(s string) bool {
	if len(s) < 3 || len(s) > 64 || !strings.HasPrefix(s, "wx") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// CheckCorpID accepts what can be a corp ID: ww followed by letters and
// digits (every corp created since WeCom replaced 企业号), wx… (corps from
// the 企业号 era kept theirs) and wp… (the encrypted corp ID third-party
// and 代开发 apps are given), at most 64 bytes. It is lenient about the
// rest — sandboxes and test corps use other shapes than ww + 16 hex — but
// refuses the placeholders documentation and templates carry
// (wwxxxxxxxxxxxxxxxx, ww<your corpid>, ww_CORPID…). wechat_jssdk and
// wechat_oauth check corp_id with it, so both accept the same IDs (the corp
// ID also names storage keys); its error names no value.
func CheckCorpID(s string) error {
	const shape = "not a WeCom corp ID (ww, or wx/wp, followed by letters and digits, e.g. ww0123456789abcdef; 我的企业 → 企业信息 → 企业ID)"
	if len(s) > 64 || !(strings.HasPrefix(s, "ww") || strings.HasPrefix(s, "wx") || strings.HasPrefix(s, "wp")) {
		return errors.New(shape)
	}
	rest := s[2:]
	if len(rest) < 4 {
		return errors.New(shape)
	}
	same := true
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return errors.New(shape)
		}
		same = same && c == rest[0]
	}
	lower := strings.ToLower(rest)
	placeholder := same
	if !strings.HasPrefix(s, "wp") { // an encrypted ID is random text: no words in it mean anything
		for _, w := range []string{"corpid", "your", "example", "placeholder", "xxxx"} {
			placeholder = placeholder || strings.Contains(lower, w)
		}
	}
	if placeholder {
		return errors.New("looks like a placeholder, not the corp's ID (我的企业 → 企业信息 → 企业ID)")
	}
	return nil
}

// ValidAgentID accepts an AgentId: 1 to 10 digits without a leading zero.
func ValidAgentID(s string) bool {
	if s == "" || len(s) > 10 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
