package wechat

import (
	"strings"
	"testing"
)

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

func TestCheckCorpID(t *testing.T) {
	for s, ok := range map[string]bool{
		"ww0123456789abcdef": true, "wx1234567890abcdef": true, "wpAbCdEf0123456789xyz": true, "wwTest01": true,
		"": false, "ww": false, "ww12": false, "ab0123456789abcdef": false, "ww-123456": false, "ww中文中文": false,
		"ww" + strings.Repeat("a", 63): false, "wwxxxxxxxxxxxxxxxx": false, "ww0000000000000000": false,
		"wwYourCorpID01": false, "wwexample0001": false, "{env.CORP_ID}": false,
	} {
		err := CheckCorpID(s)
		if (err == nil) != ok {
			t.Errorf("CheckCorpID(%q) = %v, want ok %v", s, err, ok)
		}
		if err != nil && len(s) > 4 && strings.Contains(err.Error(), s) { // "ww" is in the example
			t.Errorf("CheckCorpID(%q) repeats the value: %v", s, err)
		}
	}
}

func TestValidAgentID(t *testing.T) {
	for s, ok := range map[string]bool{
		"1000002": true, "1": true, "9999999999": true,
		"": false, "0": false, "01000002": false, "10000000000": false, "100000a": false, "-1": false, "1 2": false,
	} {
		if got := ValidAgentID(s); got != ok {
			t.Errorf("ValidAgentID(%q) = %v, want %v", s, got, ok)
		}
	}
}
