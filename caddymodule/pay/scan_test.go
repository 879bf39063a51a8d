package pay

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestValidPrepayID: a prepay id is 1 to 64 of A-Z a-z 0-9 _ -; nothing
// else is signed, least of all what changes the meaning of package.
func TestValidPrepayID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{testPrepayID, true},
		{"wx1", true},
		{"a", true},
		{"_-", true},
		{"ABCXYZabcxyz0189_-", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"wx1&signType=MD5&key=x", false},
		{"wx1&", false},
		{"wx1=2", false},
		{"wx1 2", false},
		{" wx1", false},
		{"wx1\t", false},
		{"wx1\n", false},
		{"wx1+2", false},
		{"wx1%262", false},
		{"wx1/2", false},
		{"wx1.2", false},
		{"wx1?a", false},
		{"wx1#a", false},
		{"wx1;a", false},
		{"wx1,a", false},
		{`wx1"`, false},
		{`wx1\`, false},
		{"wx<1>", false},
		{"wx'1", false},
		{"wx\x00", false},
		{"wx\x7f", false},
		{"wx微信", false},
		{"wx\u00e91", false},
		{"prepay_id=wx1", false}, // the prefix is scan's to strip, once
	} {
		t.Run(fmt.Sprintf("%q", tc.id), func(t *testing.T) {
			if got := validPrepayID(tc.id); got != tc.want {
				t.Errorf("validPrepayID(%q) = %v, want %v", tc.id, got, tc.want)
			}
		})
	}
}

// TestScanPrepayID: scan strips one optional prepay_id= and checks the
// rest, whatever JSON escapes spelled it.
func TestScanPrepayID(t *testing.T) {
	for _, tc := range []struct {
		value   string // the prepay field's JSON string, quotes included
		verdict verdict
		pkg     string
	}{
		{`"wx1"`, signable, "prepay_id=wx1"},
		{`"prepay_id=wx1"`, signable, "prepay_id=wx1"},
		{`"\u0077x1"`, signable, "prepay_id=wx1"},
		{`"prepay_id=` + strings.Repeat("z", 64) + `"`, signable, "prepay_id=" + strings.Repeat("z", 64)},
		{`"prepay_id=` + strings.Repeat("z", 65) + `"`, badPrepayID, ""},
		{`"` + strings.Repeat("z", 65) + `"`, badPrepayID, ""},
		{`"wx1&signType=MD5&key=x"`, badPrepayID, ""},
		{`"wx1\u0026signType=MD5\u0026key=x"`, badPrepayID, ""},
		{`"prepay_id=wx1&signType=MD5"`, badPrepayID, ""},
		{`"prepay_id=prepay_id=wx1"`, badPrepayID, ""},
		{`"prepay_id="`, badPrepayID, ""},
		{`"PREPAY_ID=wx1"`, badPrepayID, ""},
		{`"wx1 "`, badPrepayID, ""},
		{`""`, badPrepayID, ""},
	} {
		t.Run(tc.value, func(t *testing.T) {
			s := scan([]byte(`{"prepay_id":`+tc.value+`}`), DefaultPrepayField, DefaultOutputField)
			if s.verdict != tc.verdict || s.pkg != tc.pkg {
				t.Errorf("verdict %d package %q, want %d %q", s.verdict, s.pkg, tc.verdict, tc.pkg)
			}
		})
	}
}

// TestHostilePrepayIDNotLogged: a refused id is logged as a cause, once,
// without its value, which is the backend's (or an attacker's) text.
func TestHostilePrepayIDNotLogged(t *testing.T) {
	h, logs := newHandler(t, nil)
	const hostile = "wx1&signType=MD5&key=leakcanary"
	body := `{"prepay_id":` + mustJSON(t, hostile) + `}`
	for range 3 {
		rec := serve(t, h, http.MethodPost, jsonUpstream(body).handler())
		if rec.Body.String() != body {
			t.Fatalf("body changed: %s", rec.Body)
		}
	}
	if w := warnings(logs); len(w) != 1 || w[0] != causeMessages[causeBadPrepayID] {
		t.Errorf("warnings %q, want one %q", w, causeMessages[causeBadPrepayID])
	}
	for _, e := range logs.All() {
		if s := fmt.Sprint(e.Message, e.ContextMap()); strings.Contains(s, "leakcanary") {
			t.Errorf("log shows the refused id: %s", s)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
