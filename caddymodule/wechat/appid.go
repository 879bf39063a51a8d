package wechat

import "strings"

// ValidAppID reports whether s has the shape of an AppID: what WeChat
// issues (wx and 16 hex digits) and the letters-and-digits variants test
// accounts and sandboxes use. Config validation of every handler uses it.
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
