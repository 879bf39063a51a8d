package wechat

import "strings"

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
