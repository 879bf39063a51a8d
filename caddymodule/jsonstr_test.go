package caddymodule

import (
	"encoding/json"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", `""`},
		{"plain", "https://example.com/a?b=c", `"https://example.com/a?b=c"`},
		{"quote", `a"b`, `"a\"b"`},
		{"backslash", `a\b`, `"a\\b"`},
		{"short escapes", "\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"other controls", "\x00\x01\x0b\x1f", `"\u0000\u0001\u000b\u001f"`},
		{"DEL is not escaped", "\x7f", "\"\x7f\""},
		{"html", "<>&", `"\u003c\u003e\u0026"`},
		{"script end", "</script><script>alert(1)</script>",
			`"\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e"`},
		{"comment start", "<!--", `"\u003c!--"`},
		{"line separators", "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
		{"other U+20xx kept", "\u2027\u202a", "\"\u2027\u202a\""},
		{"invalid byte", "a\xffb", `"a\ufffdb"`},
		{"truncated sequence", "a\xe4\xb8", `"a\ufffd\ufffd"`},
		{"surrogate half", "\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
		{"overlong slash", "\xc0\xaf", `"\ufffd\ufffd"`},
		{"literal U+FFFD kept", "\ufffd", "\"\ufffd\""},
		{"non-ASCII", "héllo 中文 🎉", "\"héllo 中文 🎉\""},
		{"percent escapes untouched", "/p?q=%E4%B8%AD&x=%3C", `"/p?q=%E4%B8%AD\u0026x=%3C"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendJSONString([]byte("prefix:"), tt.in))
			if got != "prefix:"+tt.want {
				t.Errorf("appendJSONString(%q) = %s, want %s", tt.in, got, tt.want)
			}
			std, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(std) != tt.want {
				t.Errorf("encoding/json gives %s, the table says %s", std, tt.want)
			}
		})
	}
}

// FuzzAppendJSONString holds appendJSONString to encoding/json's output,
// which escapes <, > and & (HTML-safe) and U+2028/U+2029, and replaces
// invalid UTF-8 with U+FFFD.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"\\\b\f\n\r\t\x00\x1f\x7f", "<>&</script>", "\u2028\u2029",
		"\xff\xed\xa0\x80\xe4\xb8", "中文🎉\ufffd", "/p?q=%20&x=1#f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got := appendJSONString([]byte{'x'}, s)
		if string(got[1:]) != string(want) || got[0] != 'x' {
			t.Errorf("appendJSONString(%q) = %s, encoding/json = %s", s, got[1:], want)
		}
	})
}
