package wechat

import "testing"

func TestValidAppID(t *testing.T) {
	for s, want := range map[string]bool{
		"wx1234567890abcdef": true, "wxSandbox1": true, "wx": false, "ab1234": false,
		"wx-123": false, "wx 12": false, "wx" + string(make([]byte, 63)): false,
	} {
		if got := ValidAppID(s); got != want {
			t.Errorf("ValidAppID(%q) = %v, want %v", s, got, want)
		}
	}
}
