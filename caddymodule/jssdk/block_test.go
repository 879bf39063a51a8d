package jssdk

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

const (
	testAppID  = "wx1234567890abcdef"
	testTicket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
)

// wantSignature is the wx.config signature computed here independently of
// package sign.
func wantSignature(ticket, nonce string, ts int64, url string) string {
	sum := sha1.Sum([]byte(fmt.Sprintf("jsapi_ticket=%s&noncestr=%s&timestamp=%d&url=%s", ticket, nonce, ts, url)))
	return hex.EncodeToString(sum[:])
}

// wxConfig is the JSON element of the block.
type wxConfig struct {
	Debug       bool     `json:"debug"`
	AppID       string   `json:"appId"`
	Timestamp   int64    `json:"timestamp"`
	NonceStr    string   `json:"nonceStr"`
	Signature   string   `json:"signature"`
	JSAPIList   []string `json:"jsApiList"`
	OpenTagList []string `json:"openTagList"`
	URL         string   `json:"url"`
}

var (
	blockRE = regexp.MustCompile(`^<script id="wechat-jssdk-config" type="application/json">([^<]*)</script>` +
		`<script id="wechat-jssdk-boot"( nonce="[^"]*")?>([^<]*(?:<[^/][^<]*)*)</script>$`)
	nonceRE = regexp.MustCompile(`^[A-Za-z0-9]{16}$`)
)

// parsedBlock is a block taken apart.
type parsedBlock struct {
	rawJSON    string
	config     wxConfig
	nonceAttr  string // ` nonce="…"` or ""
	boot       string
	configKeys []string
}

// parseBlock checks the block's shape and decodes its JSON element.
func parseBlock(t *testing.T, block []byte) parsedBlock {
	t.Helper()
	m := blockRE.FindSubmatch(block)
	if m == nil {
		t.Fatalf("block has not the expected shape:\n%s", block)
	}
	p := parsedBlock{rawJSON: string(m[1]), nonceAttr: string(m[2]), boot: string(m[3])}
	dec := json.NewDecoder(bytes.NewReader(m[1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p.config); err != nil {
		t.Fatalf("config JSON %s: %v", m[1], err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(m[1], &keys); err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		p.configKeys = append(p.configKeys, k)
	}
	sort.Strings(p.configKeys)
	return p
}

func newTestTemplate(t testing.TB, modify func(h *Handler)) blockTemplate {
	t.Helper()
	h := &Handler{AppID: testAppID, AppSecret: "s"}
	if modify != nil {
		modify(h)
	}
	h.applyDefaults()
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	tmpl, err := templateFor(h)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestAppendBlock(t *testing.T) {
	now := time.Unix(1717171717, 999_000_000)
	tests := []struct {
		name      string
		modify    func(h *Handler)
		url       string
		cspNonce  string
		debug     bool
		jsAPIs    []string
		openTags  []string
		sdkInBoot string // the JSON literal SDK_URL must have become
		epInBoot  string // the literal CONFIG_ENDPOINT must have become; "" means null
	}{
		{name: "defaults", url: "https://example.com/pay/order.html?id=1&x=%20",
			jsAPIs: DefaultJSAPIList, openTags: []string{}, sdkInBoot: `"` + DefaultSDKURL + `"`},
		{name: "every option", modify: func(h *Handler) {
			h.Debug = true
			h.JSAPIList = []string{"chooseImage"}
			h.OpenTagList = []string{"wx-open-launch-weapp"}
			h.SDKURL = "/static/jweixin.js?v=1&x=2"
			h.ConfigEndpoint = "/.well-known/wechat-jssdk/config"
		}, epInBoot: `"/.well-known/wechat-jssdk/config"`, url: "http://example.com:8080/", debug: true, jsAPIs: []string{"chooseImage"},
			openTags: []string{"wx-open-launch-weapp"}, sdkInBoot: `"/static/jweixin.js?v=1\u0026x=2"`},
		{name: "explicitly empty jsApiList", modify: func(h *Handler) {
			h.JSAPIList = []string{}
			h.OpenTagList = []string{"wx-open-subscribe"}
		}, url: "https://example.com/", jsAPIs: []string{}, openTags: []string{"wx-open-subscribe"},
			sdkInBoot: `"` + DefaultSDKURL + `"`},
		{name: "sdk_url off", modify: func(h *Handler) { h.SDKURL = "off" },
			url: "https://example.com/", jsAPIs: DefaultJSAPIList, openTags: []string{}, sdkInBoot: "null"},
		{name: "script breakout in the URL", url: "https://example.com/p?q=</script><script>alert(1)</script>&l=\u2028\u2029<!--",
			jsAPIs: DefaultJSAPIList, openTags: []string{}, sdkInBoot: `"` + DefaultSDKURL + `"`},
		{name: "invalid UTF-8 and quotes in the URL", url: "https://example.com/p?q=\xff\"'\\",
			jsAPIs: DefaultJSAPIList, openTags: []string{}, sdkInBoot: `"` + DefaultSDKURL + `"`},
		{name: "CSP nonce", url: "https://example.com/", cspNonce: "rAnd0m+/_-==",
			jsAPIs: DefaultJSAPIList, openTags: []string{}, sdkInBoot: `"` + DefaultSDKURL + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := newTestTemplate(t, tt.modify)
			out := tmpl.appendBlock([]byte("<html><head>"), testTicket, tt.url, now, tt.cspNonce)
			block, ok := bytes.CutPrefix(out, []byte("<html><head>"))
			if !ok {
				t.Fatalf("dst prefix lost: %q", out)
			}
			p := parseBlock(t, block)

			wantKeys := []string{"appId", "debug", "jsApiList", "nonceStr", "openTagList", "signature", "timestamp", "url"}
			if !reflect.DeepEqual(p.configKeys, wantKeys) {
				t.Errorf("config keys = %q, want %q", p.configKeys, wantKeys)
			}
			c := p.config
			if c.Debug != tt.debug || c.AppID != testAppID || c.Timestamp != now.Unix() || c.URL != strings.ToValidUTF8(tt.url, "\ufffd") {
				t.Errorf("config = %+v", c)
			}
			if !nonceRE.MatchString(c.NonceStr) {
				t.Errorf("nonceStr %q is not 16 letters and digits", c.NonceStr)
			}
			if want := wantSignature(testTicket, c.NonceStr, now.Unix(), tt.url); c.Signature != want {
				t.Errorf("signature = %s, want %s", c.Signature, want)
			}
			if !reflect.DeepEqual(c.JSAPIList, tt.jsAPIs) || !reflect.DeepEqual(c.OpenTagList, tt.openTags) {
				t.Errorf("jsApiList = %q, openTagList = %q", c.JSAPIList, c.OpenTagList)
			}
			if strings.ContainsAny(p.rawJSON, "<>\u2028\u2029") {
				t.Errorf("config element holds <, > or a line separator: %s", p.rawJSON)
			}
			if strings.Contains(p.rawJSON, testTicket) {
				t.Error("the ticket is in the page")
			}

			wantAttr := ""
			if tt.cspNonce != "" {
				wantAttr = ` nonce="` + tt.cspNonce + `"`
			}
			if p.nonceAttr != wantAttr {
				t.Errorf("boot script attribute = %q, want %q", p.nonceAttr, wantAttr)
			}
			if strings.Contains(p.boot, "SDK_URL") || !strings.Contains(p.boot, "!"+tt.sdkInBoot+")") ||
				!strings.Contains(p.boot, "s.src = "+tt.sdkInBoot+";") {
				t.Errorf("boot script does not use %s for the SDK:\n%s", tt.sdkInBoot, p.boot)
			}
			ep := tt.epInBoot
			if ep == "" {
				ep = "null"
			}
			if strings.Contains(p.boot, "CONFIG_ENDPOINT") || !strings.Contains(p.boot, "ep = "+ep+",") {
				t.Errorf("boot script does not use %s for the config endpoint:\n%s", ep, p.boot)
			}
			if tt.sdkInBoot == "null" && strings.Contains(p.boot, "res.wx.qq.com") {
				t.Error("sdk_url off still names the default SDK")
			}
			if strings.Contains(p.boot, "\t") || strings.Contains(strings.ToLower(p.boot), "</script") {
				t.Errorf("boot script not folded or not closed cleanly:\n%s", p.boot)
			}
		})
	}
}

func TestAppendBlockFreshNonce(t *testing.T) {
	tmpl := newTestTemplate(t, nil)
	now := time.Unix(1717171717, 0)
	seen := make(map[string]bool)
	for range 50 {
		c := parseBlock(t, tmpl.appendBlock(nil, testTicket, "https://example.com/", now, "")).config
		if seen[c.NonceStr] {
			t.Fatalf("nonce %q repeated", c.NonceStr)
		}
		seen[c.NonceStr] = true
	}
}

// The long URL makes appendBlock's own growth and sign's heap path matter.
func TestAppendBlockLongURL(t *testing.T) {
	tmpl := newTestTemplate(t, nil)
	now := time.Unix(1717171717, 0)
	url := "https://example.com/p?q=" + strings.Repeat("<\u2028\xff&", 1000)
	c := parseBlock(t, tmpl.appendBlock(nil, testTicket, url, now, "n")).config
	if c.Signature != wantSignature(testTicket, c.NonceStr, now.Unix(), url) {
		t.Error("signature mismatch on a long URL")
	}
}

func BenchmarkAppendBlock(b *testing.B) {
	tmpl := newTestTemplate(b, nil)
	now := time.Unix(1717171717, 0)
	url := "https://example.com/pay/order.html?id=12345&from=singlemessage&isappinstalled=0"
	dst := make([]byte, 0, 8<<10)
	b.ReportAllocs()
	for b.Loop() {
		dst = tmpl.appendBlock(dst[:0], testTicket, url, now, "")
	}
}

// TestAppendBlockTicketChange signs with one ticket, then another (a
// refresh), then the first again, from one template: the prepared ticket
// the template keeps must follow the ticket it is given, and a template
// without one (not made by newBlockTemplate) signs all the same.
func TestAppendBlockTicketChange(t *testing.T) {
	now := time.Unix(1717171717, 0)
	const url = "https://example.com/a?b=1&c=2"
	tmpl := newTestTemplate(t, nil)
	bare := tmpl
	bare.ticket = nil
	for _, ticket := range []string{testTicket, "refreshed-" + testTicket, testTicket, "short", testTicket} {
		for _, tm := range []*blockTemplate{&tmpl, &bare} {
			c := parseBlock(t, tm.appendBlock(nil, ticket, url, now, "")).config
			if c.Signature != wantSignature(ticket, c.NonceStr, now.Unix(), url) {
				t.Fatalf("ticket %q (cached %v): signature does not match", ticket, tm.ticket != nil)
			}
		}
	}
}
