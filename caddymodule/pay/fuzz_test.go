package pay

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/logonce"
	"go.uber.org/zap"
)

// FuzzSplice sends arbitrary bodies through the handler as 200
// application/json. The response must be the body unchanged, or valid JSON
// whose top-level object is the body's plus exactly the signed member,
// with the body's bytes unchanged around the insertion, which sits just
// before the final closing brace.
func FuzzSplice(f *testing.F) {
	for _, seed := range []string{
		bigIntOrder,
		`{"prepay_id":"wx1"}`,
		"{\n  \"a\": [1, 2],\n  \"prepay_id\": \"wx1\"\n}\n",
		`{"prepay\u005fid":"wx\u0031","名":"\ud83d\ude00"}  `,
		`{"prepay_id":"prepay_id=wx1","x":{"prepay_id":"y"}}`,
		`{"prepay_id":"wx1","wechat_pay":null}`,
		`{"prepay_id":"wx1","prepay_id":"wx2"}`,
		`{"prepay_id":12}`,
		`[{"prepay_id":"wx1"}]`,
		`{"prepay_id":"wx1"}{}`,
		`{"prepay_id":"wx1",}`,
		`{"prepay_id":"wx1"`,
		`{"a":1e999,"prepay_id":"wx1"}`,
		"{\"prepay_id\":\"wx1\",\"b\":\"\xff\xfe\"}",
		`"prepay_id"`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		h := fuzzHandler()
		rec := httptest.NewRecorder()
		if err := h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil), jsonUpstream(string(in)).handler()); err != nil {
			t.Fatal(err)
		}
		out := rec.Body.Bytes()
		if bytes.Equal(out, in) {
			return
		}
		checkSpliced(t, in, out)
	})
}

// fuzzHandler is a v2 MD5 handler (signing is cheap) that logs nothing:
// millions of runs must not accumulate log entries.
func fuzzHandler() *Handler {
	h := &Handler{AppID: testAppID, APIKey: testAPIKey, SignType: "MD5",
		PrepayField: DefaultPrepayField, OutputField: DefaultOutputField, MaxBody: DefaultMaxBody}
	h.signer = v2Signer(testAPIKey, "MD5")
	h.tmpl = newMemberTemplate(h.OutputField, h.AppID, h.SignType)
	h.once = new(logonce.Set)
	h.now = func() time.Time { return testNow }
	h.logger = zap.NewNop()
	return h
}

func checkSpliced(t *testing.T, in, out []byte) {
	t.Helper()
	if !json.Valid(out) {
		t.Fatalf("changed output is not valid JSON:\n in: %q\nout: %q", in, out)
	}
	// the insertion: out = in[:at] + inserted + in[at:]
	at := 0
	for at < len(in) && in[at] == out[at] {
		at++
	}
	extra := len(out) - len(in)
	if extra <= 0 || !bytes.Equal(out[at+extra:], in[at:]) {
		t.Fatalf("output is not the input with one insertion:\n in: %q\nout: %q", in, out)
	}
	inserted := out[at : at+extra]
	const prefix = `,"wechat_pay":`
	// The insertion starts with a comma and goes before whitespace or the
	// brace, so the first differing byte is exactly where it starts.
	if !bytes.HasPrefix(inserted, []byte(prefix)) {
		t.Fatalf("inserted %q does not start with %s (in %q)", inserted, prefix, in)
	}
	rest := strings.TrimLeft(string(in[at:]), " \t\r\n")
	if !strings.HasPrefix(rest, "}") || strings.TrimLeft(rest[1:], " \t\r\n") != "" {
		t.Fatalf("inserted before %q, not before the final brace", in[at:])
	}
	if s := strings.TrimLeft(string(in), " \t\r\n"); !strings.HasPrefix(s, "{") {
		t.Fatalf("a body that is not an object was changed: %q", in)
	}

	inObj, outObj := decodeObject(t, in), decodeObject(t, out)
	member, ok := outObj["wechat_pay"].(map[string]any)
	if !ok {
		t.Fatalf("output has no wechat_pay object: %q", out)
	}
	if _, had := inObj["wechat_pay"]; had {
		t.Fatalf("input already had wechat_pay: %q", in)
	}
	delete(outObj, "wechat_pay")
	if !reflect.DeepEqual(inObj, outObj) {
		t.Fatalf("members other than wechat_pay differ:\n in: %v\nout: %v", inObj, outObj)
	}

	var p payParams
	if err := json.Unmarshal(out[at+len(prefix):at+extra], &p); err != nil || len(member) != 6 {
		t.Fatalf("member %q: %v (%d members)", inserted, err, len(member))
	}
	prepay, _ := inObj["prepay_id"].(string)
	id := strings.TrimPrefix(prepay, "prepay_id=")
	if p.Package != "prepay_id="+id || !validPrepayID(id) {
		t.Fatalf("package %q for prepay_id %q", p.Package, prepay)
	}
	if p.AppID != testAppID || p.SignType != "MD5" || p.TimeStamp != "1414561699" || len(p.NonceStr) != 16 {
		t.Fatalf("params %+v", p)
	}
	sum := md5.Sum([]byte("appId=" + p.AppID + "&nonceStr=" + p.NonceStr + "&package=" + p.Package +
		"&signType=MD5&timeStamp=" + p.TimeStamp + "&key=" + testAPIKey))
	if want := strings.ToUpper(hex.EncodeToString(sum[:])); p.PaySign != want {
		t.Fatalf("paySign %s, want %s", p.PaySign, want)
	}
}

func decodeObject(t *testing.T, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decoding %q: %v", data, err)
	}
	return m
}
