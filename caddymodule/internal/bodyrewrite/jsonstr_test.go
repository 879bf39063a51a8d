package bodyrewrite

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
		{"NUL", "\x00", `"\u0000"`},
		{"html", "<>&", `"\u003c\u003e\u0026"`},
		{"script end", "</script><script>alert(1)</script>",
			`"\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e"`},
		{"comment start", "<!--", `"\u003c!--"`},
		{"line separators", "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
		{"other U+20xx escaped too", "\u2027\u202a", `"\u2027\u202a"`},
		{"invalid byte", "a\xffb", `"a\ufffdb"`},
		{"truncated sequence", "a\xe4\xb8", `"a\ufffd\ufffd"`},
		{"surrogate half", "\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
		{"overlong slash", "\xc0\xaf", `"\ufffd\ufffd"`},
		{"literal U+FFFD", "\ufffd", `"\ufffd"`},
		{"non-ASCII", "héllo 中文 🎉", `"h\u00e9llo \u4e2d\u6587 \ud83c\udf89"`},
		{"percent escapes untouched", "/p?q=%E4%B8%AD&x=%3C", `"/p?q=%E4%B8%AD\u0026x=%3C"`},

		// wechat_pay's cases, from when it had an encoder of its own: the
		// package and paySign values it writes. Its encoder spelled '\n'
		// as \u000a; both decode to the same string (checked below), and
		// no value wechat_pay writes holds a control character.
		{"pay: package", "prepay_id=wx1", `"prepay_id=wx1"`},
		{"pay: quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"pay: html", "<script>&", `"\u003cscript\u003e\u0026"`},
		{"pay: controls", "\x00\x1f\n", `"\u0000\u001f\n"`},
		{"pay: base64", "+/=Zz09", `"+/=Zz09"`},
		{"pay: visible ASCII", "prepay_id=wx~!", `"prepay_id=wx~!"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendJSONString([]byte("prefix:"), tt.in))
			if got != "prefix:"+tt.want {
				t.Errorf("AppendJSONString(%q) = %s, want %s", tt.in, got, tt.want)
			}
			checkDecodesLikeEncodingJSON(t, tt.in, []byte(got[len("prefix:"):]))
		})
	}
}

// checkDecodesLikeEncodingJSON holds out to two rules: it is pure ASCII
// (safe in a page of any charset) with no literal <, > or &, and it decodes
// to exactly what encoding/json makes of s (invalid UTF-8 as U+FFFD).
func checkDecodesLikeEncodingJSON(t *testing.T, s string, out []byte) {
	t.Helper()
	for _, c := range out {
		if c >= 0x80 || c == '<' || c == '>' || c == '&' {
			t.Fatalf("AppendJSONString(%q) = %s: byte %q must be escaped", s, out, c)
		}
	}
	std, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var want, got string
	if err := json.Unmarshal(std, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("AppendJSONString(%q) = %s: not JSON: %v", s, out, err)
	}
	if got != want {
		t.Errorf("AppendJSONString(%q) decodes to %q, encoding/json's to %q", s, got, want)
	}
}

// FuzzAppendJSONString holds AppendJSONString to checkDecodesLikeEncodingJSON.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"\\\b\f\n\r\t\x00\x1f\x7f", "<>&</script>", "\u2028\u2029",
		"\xff\xed\xa0\x80\xe4\xb8", "中文🎉\ufffd", "/p?q=%20&x=1#f", "\U0010ffff\xf4\x90\x80\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendJSONString([]byte{'x'}, s)
		if got[0] != 'x' {
			t.Fatal("prefix overwritten")
		}
		checkDecodesLikeEncodingJSON(t, s, got[1:])
	})
}
