package pay

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// bigIntOrder has an integer no float64 can hold, and a prepay_id that is
// not at the top level before the one that is.
const bigIntOrder = `{"id": 9007199254740993123, "nested": {"prepay_id": "x"}, "prepay_id": "` + testPrepayID + `"}`

func TestSignsV3(t *testing.T) {
	h, _ := newHandler(t, nil)
	up := jsonUpstream(bigIntOrder)
	up.header["Etag"] = `"v1"`
	up.header["Accept-Ranges"] = "bytes"
	up.header["Content-Length"] = strconv.Itoa(len(bigIntOrder))
	up.header["X-Request-Id"] = "r1"
	rec := serve(t, h, http.MethodPost, up.handler())

	out := rec.Body.String()
	p, at := splitSigned(t, bigIntOrder, out, "wechat_pay")
	if at != len(bigIntOrder)-1 {
		t.Errorf("inserted at %d, want just before the final brace (%d)", at, len(bigIntOrder)-1)
	}
	want := payParams{AppID: testAppID, TimeStamp: "1414561699", NonceStr: p.NonceStr,
		Package: "prepay_id=" + testPrepayID, SignType: "RSA", PaySign: p.PaySign}
	if p != want {
		t.Errorf("params = %+v\nwant     %+v", p, want)
	}
	if len(p.NonceStr) != 16 {
		t.Errorf("nonceStr %q: want 16 characters", p.NonceStr)
	}
	verifyRSA(t, p)

	var decoded struct {
		ID json.Number `json:"id"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&decoded); err != nil || decoded.ID != "9007199254740993123" {
		t.Errorf("id = %q (%v), want 9007199254740993123 exactly", decoded.ID, err)
	}
	hdr := rec.Header()
	if got := hdr.Get("Content-Length"); got != strconv.Itoa(len(out)) {
		t.Errorf("Content-Length %s, body is %d bytes", got, len(out))
	}
	if got := hdr.Get("Etag"); got != `W/"v1"` {
		t.Errorf("Etag %q, want the weak W/\"v1\"", got)
	}
	if _, ok := hdr["Accept-Ranges"]; ok {
		t.Error("Accept-Ranges kept on a changed body")
	}
	if hdr.Get("X-Request-Id") != "r1" || hdr.Get("Content-Type") != "application/json" {
		t.Errorf("unrelated headers changed: %v", hdr)
	}
	if rec.Code != http.StatusOK {
		t.Errorf("status %d", rec.Code)
	}
}

func TestSignsV2(t *testing.T) {
	for _, signType := range []string{"MD5", "HMAC-SHA256", ""} {
		t.Run("sign_type "+signType, func(t *testing.T) {
			t.Setenv("PAY_TEST_API_KEY", testAPIKey)
			h, logs := newHandler(t, func(h *Handler) {
				h.PrivateKey, h.APIKey, h.SignType = "", "{env.PAY_TEST_API_KEY}", signType
			})
			body := `{"prepay_id":"` + testPrepayID + `"}`
			rec := serve(t, h, http.MethodPost, jsonUpstream(body).handler())
			p, _ := splitSigned(t, body, rec.Body.String(), "wechat_pay")
			wantType := signType
			if wantType == "" {
				wantType = "MD5" // the default with api_key
			}
			if p.SignType != wantType {
				t.Errorf("signType %q, want %q", p.SignType, wantType)
			}
			// recomputed here, independently of package sign
			s := "appId=" + p.AppID + "&nonceStr=" + p.NonceStr + "&package=" + p.Package +
				"&signType=" + p.SignType + "&timeStamp=" + p.TimeStamp + "&key=" + testAPIKey
			var sum []byte
			if wantType == "MD5" {
				d := md5.Sum([]byte(s))
				sum = d[:]
			} else {
				m := hmac.New(sha256.New, []byte(testAPIKey))
				m.Write([]byte(s))
				sum = m.Sum(nil)
			}
			if want := strings.ToUpper(hex.EncodeToString(sum)); p.PaySign != want {
				t.Errorf("paySign %s, want %s", p.PaySign, want)
			}
			if len(logs.All()) == 0 {
				t.Fatal("nothing logged: the check below would prove nothing")
			}
			for _, e := range logs.All() {
				if strings.Contains(fmt.Sprint(e.Message, e.ContextMap()), testAPIKey) {
					t.Errorf("log %q shows the API key", e.Message)
				}
			}
		})
	}
}

// TestSpliceKeepsEveryByte: the member goes right after the last member's
// value; whitespace, newlines and what follows the object stay as they
// were.
func TestSpliceKeepsEveryByte(t *testing.T) {
	for _, tc := range []struct{ name, body, before, after string }{
		{"compact", `{"prepay_id":"wx1"}`, `{"prepay_id":"wx1"`, `}`},
		{"pretty", "{\n  \"a\": [1, 2],\n  \"prepay_id\": \"wx1\"\n}\n", "{\n  \"a\": [1, 2],\n  \"prepay_id\": \"wx1\"", "\n}\n"},
		{"CRLF and tabs", "{\r\n\t\"prepay_id\" : \"wx1\" ,\r\n\t\"n\" : null\r\n}\r\n", "{\r\n\t\"prepay_id\" : \"wx1\" ,\r\n\t\"n\" : null", "\r\n}\r\n"},
		{"trailing whitespace", `{"prepay_id":"wx1", "z": 1.50e+3}` + "   \n\t ", `{"prepay_id":"wx1", "z": 1.50e+3`, "}   \n\t "},
		{"leading whitespace", "\n\n {\"prepay_id\":\"wx1\"}", "\n\n {\"prepay_id\":\"wx1\"", "}"},
		{"last value an object", `{"prepay_id":"wx1","o":{"k":{}}}`, `{"prepay_id":"wx1","o":{"k":{}}`, `}`},
		{"escaped key and unicode", `{"prepay\u005fid":"wx1","名":"\u00e9\ud83d\ude00"}`, `{"prepay\u005fid":"wx1","名":"\u00e9\ud83d\ude00"`, `}`},
		{"escaped id", `{"prepay_id":"wx\u0031"}`, `{"prepay_id":"wx\u0031"`, `}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newHandler(t, nil)
			out := serve(t, h, http.MethodGet, jsonUpstream(tc.body).handler()).Body.String()
			p, at := splitSigned(t, tc.body, out, "wechat_pay")
			if tc.body[:at] != tc.before || tc.body[at:] != tc.after {
				t.Errorf("inserted after %q, want after %q", tc.body[:at], tc.before)
			}
			if p.Package != "prepay_id=wx1" {
				t.Errorf("package %q", p.Package)
			}
			if !json.Valid([]byte(out)) {
				t.Errorf("output is not JSON: %s", out)
			}
		})
	}
}

func TestSignsVariants(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body, wantPackage string
		mutate                               func(*Handler)
	}{
		{"charset", "application/json; charset=utf-8", `{"prepay_id":"wx1"}`, "prepay_id=wx1", nil},
		{"upper case", "APPLICATION/JSON", `{"prepay_id":"wx1"}`, "prepay_id=wx1", nil},
		{"+json suffix", "application/vnd.shop.order+json", `{"prepay_id":"wx1"}`, "prepay_id=wx1", nil},
		{"already a package", "application/json", `{"prepay_id":"prepay_id=wx1"}`, "prepay_id=wx1", nil},
		{"64 characters", "application/json", `{"prepay_id":"` + strings.Repeat("a", 64) + `"}`, "prepay_id=" + strings.Repeat("a", 64), nil},
		{"custom fields", "application/json", `{"data":1,"pid":"wx9"}`, "prepay_id=wx9", func(h *Handler) {
			h.PrepayField, h.OutputField = "pid", "pay"
		}},
		{"the whole alphabet", "application/json", `{"prepay_id":"wx_AZaz09-"}`, "prepay_id=wx_AZaz09-", nil},
		{"escaped letters", "application/json", `{"prepay_id":"\u0077x\u005f1"}`, "prepay_id=wx_1", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newHandler(t, tc.mutate)
			up := jsonUpstream(tc.body)
			up.header["Content-Type"] = tc.contentType
			up.status = http.StatusCreated
			rec := serve(t, h, http.MethodPost, up.handler())
			out := rec.Body.String()
			p, _ := splitSigned(t, tc.body, out, h.OutputField)
			if p.Package != tc.wantPackage {
				t.Errorf("package %q, want %q", p.Package, tc.wantPackage)
			}
			verifyRSA(t, p)
			if rec.Code != http.StatusCreated {
				t.Errorf("status %d, want 201", rec.Code)
			}
			if strings.ContainsAny(out[len(tc.body)-1:], "<>&") {
				t.Errorf("member carries raw HTML characters: %s", out)
			}
		})
	}
}

// TestPassThrough: every response that is not a signable order reaches the
// client byte for byte, with exactly the headers and status the next
// handler set.
func TestPassThrough(t *testing.T) {
	order := `{"prepay_id":"wx1"}`
	longOrder := `{"prepay_id":"wx1","pad":"` + strings.Repeat("x", 80) + `"}`
	js := jsonUpstream
	with := func(u upstream, k, v string) upstream { u.header[k] = v; return u }
	status := func(u upstream, s int) upstream { u.status = s; return u }
	for _, tc := range []struct {
		name   string
		method string
		up     upstream
		mutate func(*Handler)
		cause  string // the warning logged, if any
	}{
		{name: "text/plain", up: with(js(order), "Content-Type", "text/plain")},
		{name: "text/html", up: with(js(order), "Content-Type", "text/html")},
		{name: "no Content-Type", up: upstream{header: map[string]string{}, body: order}},
		{name: "application/jsonx", up: with(js(order), "Content-Type", "application/jsonx")},
		{name: "text/json", up: with(js(order), "Content-Type", "text/json")},
		{name: "application/+json", up: with(js(order), "Content-Type", "application/+json")},
		{name: "404", up: status(js(order), http.StatusNotFound)},
		{name: "500", up: status(js(order), http.StatusInternalServerError)},
		{name: "302", up: status(with(js(order), "Location", "/x"), http.StatusFound)},
		{name: "206", up: status(with(js(order), "Content-Range", "bytes 0-18/19"), http.StatusPartialContent)},
		{name: "HEAD", method: http.MethodHead, up: with(js(""), "Content-Length", "19")},
		{name: "gzip", up: with(js(order), "Content-Encoding", "gzip")},
		{name: "Trailer", up: with(js(order), "Trailer", "X-Checksum")},
		{name: "empty body", up: js("")},
		{name: "whitespace body", up: js(" \n")},
		{name: "no field", up: js(`{"id":1,"status":"paid"}`)},
		{name: "field only nested", up: js(`{"order":{"prepay_id":"wx1"}}`)},
		{name: "top-level array", up: js(`[{"prepay_id":"wx1"}]`)},
		{name: "top-level string", up: js(`"prepay_id"`)},
		{name: "top-level number", up: js(`9007199254740993123`)},
		{name: "output field exists", up: js(`{"prepay_id":"wx1","wechat_pay":null}`), cause: causeMessages[causeOutputExists]},
		{name: "output field exists first", up: js(`{"wechat_pay":{},"prepay_id":"wx1"}`), cause: causeMessages[causeOutputExists]},
		{name: "prepay field twice", up: js(`{"prepay_id":"wx1","prepay_id":"wx2"}`), cause: causeMessages[causeDuplicateKey]},
		{name: "prepay number", up: js(`{"prepay_id":12345}`), cause: causeMessages[causeNotString]},
		{name: "prepay null", up: js(`{"prepay_id":null}`), cause: causeMessages[causeNotString]},
		{name: "prepay object", up: js(`{"prepay_id":{"id":"wx1"}}`), cause: causeMessages[causeNotString]},
		{name: "prepay empty", up: js(`{"prepay_id":""}`), cause: causeMessages[causeBadPrepayID]},
		{name: "prepay only the prefix", up: js(`{"prepay_id":"prepay_id="}`), cause: causeMessages[causeBadPrepayID]},
		{name: "prepay with a space", up: js(`{"prepay_id":"wx 1"}`), cause: causeMessages[causeBadPrepayID]},
		{name: "prepay with a quote", up: js(`{"prepay_id":"wx\"1"}`), cause: causeMessages[causeBadPrepayID]},
		{name: "prepay with a backslash", up: js(`{"prepay_id":"wx\\1"}`), cause: causeMessages[causeBadPrepayID]},
		{name: "prepay with a control character", up: js(`{"prepay_id":"wx\u00011"}`), cause: causeMessages[causeBadPrepayID]},
		{name: "prepay not ASCII", up: js(`{"prepay_id":"wx微信"}`), cause: causeMessages[causeBadPrepayID]},
		{name: "prepay too long", up: js(`{"prepay_id":"` + strings.Repeat("a", 65) + `"}`), cause: causeMessages[causeBadPrepayID]},
		{name: "prepay too long after the prefix", up: js(`{"prepay_id":"prepay_id=` + strings.Repeat("a", 65) + `"}`), cause: causeMessages[causeBadPrepayID]},
		{name: "prepay with a query", up: js(`{"prepay_id":"wx1&signType=MD5&key=x"}`), cause: causeMessages[causeBadPrepayID]},
		{name: "prepay with an escaped query", up: js(`{"prepay_id":"wx1\u0026signType=MD5"}`), cause: causeMessages[causeBadPrepayID]},
		{name: "prepay package with a query", up: js(`{"prepay_id":"prepay_id=wx1&signType=MD5"}`), cause: causeMessages[causeBadPrepayID]},
		{name: "prepay package twice", up: js(`{"prepay_id":"prepay_id=prepay_id=wx1"}`), cause: causeMessages[causeBadPrepayID]},
		{name: "prepay with HTML characters", up: js(`{"prepay_id":"wx<&>"}`), cause: causeMessages[causeBadPrepayID]},
		{name: "prepay percent-encoded", up: js(`{"prepay_id":"wx1%26a"}`), cause: causeMessages[causeBadPrepayID]},
		{name: "unterminated", up: js(`{"prepay_id":"wx1"`), cause: causeMessages[causeMalformed]},
		{name: "trailing comma", up: js(`{"prepay_id":"wx1",}`), cause: causeMessages[causeMalformed]},
		{name: "trailing garbage", up: js(`{"prepay_id":"wx1"} x`), cause: causeMessages[causeMalformed]},
		{name: "two objects", up: js(`{"prepay_id":"wx1"}{}`), cause: causeMessages[causeMalformed]},
		{name: "bad nested value", up: js(`{"prepay_id":"wx1","a":[1,]}`), cause: causeMessages[causeMalformed]},
		{name: "byte order mark", up: js("\xef\xbb\xbf" + order), cause: causeMessages[causeMalformed]},
		{name: "over max_body", up: js(`{"pad":"` + strings.Repeat("x", 100) + `","prepay_id":"wx1"}`),
			mutate: func(h *Handler) { h.MaxBody = 64 }, cause: causeMessages[causeTooLarge]},
		{name: "over max_body in chunks", up: upstream{header: map[string]string{"Content-Type": "application/json"},
			body: `{"pad":"` + strings.Repeat("x", 100) + `","prepay_id":"wx1"}`, chunks: 7},
			mutate: func(h *Handler) { h.MaxBody = 64 }, cause: causeMessages[causeTooLarge]},
		{name: "Content-Length over max_body", up: with(js(longOrder), "Content-Length", strconv.Itoa(len(longOrder))),
			mutate: func(h *Handler) { h.MaxBody = 64 }, cause: causeMessages[causeTooLarge]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			direct := httptest.NewRecorder()
			if err := tc.up.handler().ServeHTTP(direct, httptest.NewRequest(method, "/api/orders", nil)); err != nil {
				t.Fatal(err)
			}
			h, logs := newHandler(t, tc.mutate)
			rec := serve(t, h, method, tc.up.handler())
			if rec.Code != direct.Code {
				t.Errorf("status %d, want %d", rec.Code, direct.Code)
			}
			if rec.Body.String() != direct.Body.String() {
				t.Errorf("body changed:\n got %q\nwant %q", rec.Body, direct.Body)
			}
			if got, want := rec.Header(), direct.Header(); !equalHeaders(got, want) {
				t.Errorf("headers changed:\n got %v\nwant %v", got, want)
			}
			w := warnings(logs)
			if tc.cause == "" && len(w) != 0 || tc.cause != "" && (len(w) != 1 || w[0] != tc.cause) {
				t.Errorf("warnings %q, want %q", w, tc.cause)
			}
		})
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\x00") != strings.Join(b[k], "\x00") {
			return false
		}
	}
	return true
}

// TestWarnsOncePerCause: a backend that keeps sending bad JSON costs one
// warning per cause, not one per request.
func TestWarnsOncePerCause(t *testing.T) {
	h, logs := newHandler(t, nil)
	for range 3 {
		serve(t, h, http.MethodPost, jsonUpstream(`{"prepay_id":`).handler())
		serve(t, h, http.MethodPost, jsonUpstream(`{"prepay_id":"wx1","wechat_pay":1}`).handler())
		serve(t, h, http.MethodPost, jsonUpstream(`{"prepay_id":"wx1"}`).handler())
	}
	want := []string{causeMessages[causeMalformed], causeMessages[causeOutputExists]}
	if got := warnings(logs); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("warnings %q, want %q", got, want)
	}
	// a reload provisions a new handler, which warns again
	h2, logs2 := newHandler(t, nil)
	serve(t, h2, http.MethodPost, jsonUpstream(`{"prepay_id":`).handler())
	if got := warnings(logs2); len(got) != 1 {
		t.Errorf("new handler: warnings %q, want one", got)
	}
}

// TestFlushWhileHeld: flushes of a held body send nothing early (not even
// the header); the body is signed at the end.
func TestFlushWhileHeld(t *testing.T) {
	h, _ := newHandler(t, nil)
	body := `{"a":"` + strings.Repeat("y", 50) + `","prepay_id":"wx1"}`
	rec := httptest.NewRecorder()
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body[:10])
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		if rec.Flushed || rec.Body.Len() != 0 {
			t.Error("a flush sent a held body early")
		}
		io.WriteString(w, body[10:])
		return nil
	})
	if err := h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil), next); err != nil {
		t.Fatal(err)
	}
	splitSigned(t, body, rec.Body.String(), "wechat_pay")
}

// TestFlushPassing: a response that passes through is flushed at once.
func TestFlushPassing(t *testing.T) {
	h, _ := newHandler(t, nil)
	rec := httptest.NewRecorder()
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: 1\n\n")
		http.NewResponseController(w).Flush()
		if !rec.Flushed || rec.Body.String() != "data: 1\n\n" {
			t.Error("a passing response was not flushed through")
		}
		return nil
	})
	if err := h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil), next); err != nil {
		t.Fatal(err)
	}
}

// TestReadFrom: a next handler that copies its body in with io.Copy (as
// file_server does) goes through the signing path too.
func TestReadFrom(t *testing.T) {
	h, _ := newHandler(t, nil)
	body := `{"prepay_id":"wx1"}`
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, err := w.(io.ReaderFrom).ReadFrom(strings.NewReader(body))
		return err
	})
	splitSigned(t, body, serve(t, h, http.MethodGet, next).Body.String(), "wechat_pay")
}

// informational records every WriteHeader; httptest's recorder would
// latch a 1xx as the final status.
type informational struct {
	*httptest.ResponseRecorder
	codes []int
}

func (w *informational) WriteHeader(code int) {
	w.codes = append(w.codes, code)
	if code >= 200 {
		w.ResponseRecorder.WriteHeader(code)
	}
}

func TestEarlyHintsPassAndDecideNothing(t *testing.T) {
	h, _ := newHandler(t, nil)
	rec := &informational{ResponseRecorder: httptest.NewRecorder()}
	body := `{"prepay_id":"wx1"}`
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Link", "</app.js>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
		return nil
	})
	if err := h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil), next); err != nil {
		t.Fatal(err)
	}
	if len(rec.codes) != 2 || rec.codes[0] != http.StatusEarlyHints || rec.codes[1] != http.StatusOK {
		t.Errorf("WriteHeader calls %v, want [103 200]", rec.codes)
	}
	splitSigned(t, body, rec.Body.String(), "wechat_pay")
}

func TestAcceptEncodingIdentityThenRestored(t *testing.T) {
	h, _ := newHandler(t, nil)
	for _, ae := range []string{"gzip, br", ""} {
		var seen string
		next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			seen = r.Header.Get("Accept-Encoding")
			return nil
		})
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if ae != "" {
			req.Header.Set("Accept-Encoding", ae)
		}
		if err := h.ServeHTTP(httptest.NewRecorder(), req, next); err != nil {
			t.Fatal(err)
		}
		if seen != "identity" {
			t.Errorf("next saw Accept-Encoding %q, want identity", seen)
		}
		if v, ok := req.Header["Accept-Encoding"]; ae == "" && ok || ae != "" && (len(v) != 1 || v[0] != ae) {
			t.Errorf("client's Accept-Encoding %q became %q", ae, v)
		}
	}
}

// TestNextFailsMidBody: what the next handler wrote before failing goes out
// untouched, and its error is returned.
func TestNextFailsMidBody(t *testing.T) {
	h, _ := newHandler(t, nil)
	broken := io.ErrUnexpectedEOF
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"prepay_id":"wx1"}`)
		return broken
	})
	rec := httptest.NewRecorder()
	if err := h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil), next); err != broken {
		t.Errorf("ServeHTTP returned %v, want the next handler's error", err)
	}
	if rec.Body.String() != `{"prepay_id":"wx1"}` {
		t.Errorf("body %q, want it untouched", rec.Body)
	}
}

func TestUnwrap(t *testing.T) {
	h, _ := newHandler(t, nil)
	rec := httptest.NewRecorder()
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok || u.Unwrap() != rec {
			t.Error("Unwrap does not return the underlying writer")
		}
		return nil
	})
	if err := h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil), next); err != nil {
		t.Fatal(err)
	}
}

func TestUpgradeAndConnectNotWrapped(t *testing.T) {
	h, _ := newHandler(t, nil)
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodConnect, "/", nil),
		func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Upgrade", "websocket")
			return r
		}(),
	} {
		rec := httptest.NewRecorder()
		next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			if w != rec {
				t.Errorf("%s: the writer was wrapped", r.Method)
			}
			return nil
		})
		if err := h.ServeHTTP(rec, req, next); err != nil {
			t.Fatal(err)
		}
	}
}
