package jssdk

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

const (
	testCorpID  = "ww0123456789abcdef"
	testAgentID = "1000002"
)

// validWeCom is a WeCom configuration Validate accepts; cases change one
// thing.
func validWeCom() Handler {
	return Handler{CorpID: testCorpID, AgentID: testAgentID, CorpSecret: "{env.WECOM_SECRET}"}
}

func TestWeComValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(h *Handler)
		want   []string // substrings of the error besides "wechat_jssdk"; nil: no error
	}{
		{name: "valid", modify: func(*Handler) {}},
		{name: "valid with budgets and lists", modify: func(h *Handler) {
			h.CorpTicketBudget, h.AgentTicketBudget = 1, 100
			h.JSAPIList = []string{"chooseImage"}
			h.AgentJSAPIList = []string{"selectExternalContact", "openUserProfile"}
			h.APIBase = "http://127.0.0.1:9081"
		}},
		{name: "corp from the 企业号 era", modify: func(h *Handler) { h.CorpID = "wx1234567890abcdef" }},
		{name: "encrypted corp ID", modify: func(h *Handler) { h.CorpID = "wpAbCdEfGh0123456789XyZxxxxqrst" }},
		{name: "sandbox corp ID", modify: func(h *Handler) { h.CorpID = "wwSandbox01" }},
		{name: "built-in app agent ID", modify: func(h *Handler) { h.AgentID = "3010040" }},
		{name: "a literal secret is allowed (Provision warns)", modify: func(h *Handler) { h.CorpSecret = "literal-secret" }},

		// mixing the two kinds
		{name: "app_id with corp_id", modify: func(h *Handler) { h.AppID = testAppID },
			want: []string{"app_id cannot be used with corp_id, agent_id, corp_secret", "Official Account", "WeCom"}},
		{name: "app_secret with corp_id", modify: func(h *Handler) { h.AppSecret = "{env.S}" },
			want: []string{"app_secret cannot be used with corp_id"}},
		{name: "both OA options with one WeCom option", modify: func(h *Handler) {
			*h = Handler{AppID: testAppID, AppSecret: "{env.S}", CorpID: testCorpID}
		}, want: []string{"app_id, app_secret cannot be used with corp_id:"}},
		{name: "agent_id alone with app_id", modify: func(h *Handler) {
			*h = Handler{AppID: testAppID, AppSecret: "{env.S}", AgentID: testAgentID}
		}, want: []string{"app_id, app_secret cannot be used with agent_id:"}},
		{name: "token_source with corp_id", modify: func(h *Handler) { h.TokenSource = "stable" },
			want: []string{"token_source cannot be used with corp_id", "gettoken"}},
		{name: "token_url with corp_id", modify: func(h *Handler) { h.TokenSource, h.TokenURL = "url", "https://t.internal/" },
			want: []string{"token_source, token_url cannot be used with corp_id"}},
		{name: "token_header with corp_id", modify: func(h *Handler) { h.TokenHeader = &TokenHeader{Name: "X-Key", Value: "v"} },
			want: []string{"token_header cannot be used with corp_id"}},
		{name: "corp_ticket_budget for an Official Account", modify: func(h *Handler) {
			*h = validHandler()
			h.CorpTicketBudget = 10
		}, want: []string{"corp_ticket_budget", "only used in WeCom mode"}},
		{name: "agent_ticket_budget for an Official Account", modify: func(h *Handler) {
			*h = validHandler()
			h.AgentTicketBudget = 10
		}, want: []string{"agent_ticket_budget", "only used in WeCom mode"}},
		{name: "agent_js_api_list for an Official Account", modify: func(h *Handler) {
			*h = validHandler()
			h.AgentJSAPIList = []string{}
		}, want: []string{"agent_js_api_list", "only used in WeCom mode"}},

		// required
		{name: "missing corp_id", modify: func(h *Handler) { h.CorpID = "" }, want: []string{"corp_id is required"}},
		{name: "missing agent_id", modify: func(h *Handler) { h.AgentID = "" }, want: []string{"agent_id is required"}},
		{name: "missing corp_secret", modify: func(h *Handler) { h.CorpSecret = "" }, want: []string{"corp_secret is required"}},
		{name: "corp_secret alone", modify: func(h *Handler) { *h = Handler{CorpSecret: "{env.S}"} }, want: []string{"corp_id is required"}},

		// shapes
		{name: "corp_id without prefix", modify: func(h *Handler) { h.CorpID = "ab0123456789abcdef" }, want: []string{"corp_id: not a WeCom corp ID"}},
		{name: "corp_id too short", modify: func(h *Handler) { h.CorpID = "ww12" }, want: []string{"corp_id: not a WeCom corp ID"}},
		{name: "corp_id with a dash", modify: func(h *Handler) { h.CorpID = "ww-0123456789" }, want: []string{"corp_id: not a WeCom corp ID"}},
		{name: "corp_id with a space", modify: func(h *Handler) { h.CorpID = "ww0123 456789" }, want: []string{"corp_id: not a WeCom corp ID"}},
		{name: "corp_id non-ASCII", modify: func(h *Handler) { h.CorpID = "ww企业微信" }, want: []string{"corp_id: not a WeCom corp ID"}},
		{name: "corp_id too long", modify: func(h *Handler) { h.CorpID = "ww" + strings.Repeat("a1", 32) }, want: []string{"corp_id: not a WeCom corp ID"}},
		{name: "corp_id uppercase prefix", modify: func(h *Handler) { h.CorpID = "WW0123456789abcdef" }, want: []string{"corp_id: not a WeCom corp ID"}},
		{name: "corp_id placeholder x", modify: func(h *Handler) { h.CorpID = "wwxxxxxxxxxxxxxxxx" }, want: []string{"corp_id", "placeholder"}},
		{name: "corp_id placeholder zeros", modify: func(h *Handler) { h.CorpID = "ww0000000000000000" }, want: []string{"corp_id", "placeholder"}},
		{name: "corp_id placeholder word", modify: func(h *Handler) { h.CorpID = "wwYourCorpID" }, want: []string{"corp_id", "placeholder"}},
		{name: "corp_id placeholder CORPID", modify: func(h *Handler) { h.CorpID = "wwCORPID" }, want: []string{"corp_id", "placeholder"}},
		{name: "corp_id placeholder braces", modify: func(h *Handler) { h.CorpID = "{env.CORP_ID}" }, want: []string{"corp_id: not a WeCom corp ID"}},
		{name: "corp_id with partial x's", modify: func(h *Handler) { h.CorpID = "ww12xxxx5678" }, want: []string{"corp_id", "placeholder"}},
		{name: "agent_id letters", modify: func(h *Handler) { h.AgentID = "agent1" }, want: []string{"agent_id: not an AgentId"}},
		{name: "agent_id leading zero", modify: func(h *Handler) { h.AgentID = "01000002" }, want: []string{"agent_id: not an AgentId"}},
		{name: "agent_id zero", modify: func(h *Handler) { h.AgentID = "0" }, want: []string{"agent_id: not an AgentId"}},
		{name: "agent_id negative", modify: func(h *Handler) { h.AgentID = "-1" }, want: []string{"agent_id: not an AgentId"}},
		{name: "agent_id too long", modify: func(h *Handler) { h.AgentID = "12345678901" }, want: []string{"agent_id: not an AgentId"}},
		{name: "corp_ticket_budget too high", modify: func(h *Handler) { h.CorpTicketBudget = 101 }, want: []string{"corp_ticket_budget", "101", "between 1 and 100"}},
		{name: "agent_ticket_budget negative", modify: func(h *Handler) { h.AgentTicketBudget = -1 }, want: []string{"agent_ticket_budget", "between 1 and 100"}},
		{name: "api_base checked in WeCom mode", modify: func(h *Handler) { h.APIBase = "ftp://qyapi.weixin.qq.com" }, want: []string{"api_base", "scheme"}},
		{name: "page options checked in WeCom mode", modify: func(h *Handler) { h.Inject = "footer" }, want: []string{"inject", `"footer"`}},
		{name: "agent_js_api_list names checked", modify: func(h *Handler) { h.AgentJSAPIList = []string{"a</script>"} }, want: []string{"agent_js_api_list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := validWeCom()
			tt.modify(&h)
			h.applyDefaults()
			err := h.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range append([]string{"wechat_jssdk"}, tt.want...) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			// the values of corp_id and agent_id are never repeated: a
			// secret pasted there would end up in the log
			if h.CorpID != testCorpID && len(h.CorpID) > 6 && strings.Contains(err.Error(), h.CorpID) {
				t.Errorf("error %q repeats corp_id", err)
			}
			if h.AgentID != testAgentID && len(h.AgentID) > 3 && strings.Contains(err.Error(), h.AgentID) {
				t.Errorf("error %q repeats agent_id", err)
			}
		})
	}
}

func TestWeComDefaults(t *testing.T) {
	h := validWeCom()
	h.applyDefaults()
	if h.APIBase != wechat.DefaultWeComBaseURL || h.TokenSource != "" {
		t.Errorf("api_base %q, token_source %q: want WeCom's origin and no token source", h.APIBase, h.TokenSource)
	}
	if !reflect.DeepEqual(h.AgentJSAPIList, DefaultJSAPIList) {
		t.Errorf("agent_js_api_list defaults to %v, want js_api_list", h.AgentJSAPIList)
	}
	h = validWeCom()
	h.JSAPIList = []string{"chooseImage"}
	h.applyDefaults()
	if !reflect.DeepEqual(h.AgentJSAPIList, []string{"chooseImage"}) {
		t.Errorf("agent_js_api_list = %v, want js_api_list's", h.AgentJSAPIList)
	}
	h = validWeCom()
	h.AgentJSAPIList = []string{}
	h.applyDefaults()
	if h.AgentJSAPIList == nil || len(h.AgentJSAPIList) != 0 {
		t.Errorf("an explicit empty agent_js_api_list became %v", h.AgentJSAPIList)
	}
	// An Official Account is as before.
	oa := validHandler()
	oa.applyDefaults()
	if oa.APIBase != wechat.DefaultBaseURL || oa.TokenSource != "stable" || oa.AgentJSAPIList != nil {
		t.Errorf("OA defaults changed: %q %q %v", oa.APIBase, oa.TokenSource, oa.AgentJSAPIList)
	}
}

func TestWeComUnmarshalCaddyfile(t *testing.T) {
	input := `wechat_jssdk {
		corp_id     ww0123456789abcdef
		agent_id    1000002
		corp_secret {env.WECOM_SECRET}
		corp_ticket_budget  10
		agent_ticket_budget 15
		js_api_list chooseImage
		agent_js_api_list selectExternalContact openUserProfile
		config_endpoint /.well-known/wechat-jssdk/config
	}`
	var got Handler
	if err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatal(err)
	}
	want := Handler{CorpID: testCorpID, AgentID: testAgentID, CorpSecret: "{env.WECOM_SECRET}",
		CorpTicketBudget: 10, AgentTicketBudget: 15, JSAPIList: []string{"chooseImage"},
		AgentJSAPIList: []string{"selectExternalContact", "openUserProfile"},
		ConfigEndpoint: "/.well-known/wechat-jssdk/config"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	var empty Handler
	if err := empty.UnmarshalCaddyfile(caddyfile.NewTestDispenser("wechat_jssdk {\n corp_id " + testCorpID +
		"\n agent_id 1\n corp_secret {env.S}\n agent_js_api_list\n}")); err != nil || empty.AgentJSAPIList == nil {
		t.Errorf("explicit empty agent_js_api_list: %v %#v", err, empty.AgentJSAPIList)
	}
}

func TestWeComUnmarshalCaddyfileErrors(t *testing.T) {
	const wecom = "corp_id " + testCorpID + "\n agent_id 1000002\n corp_secret {env.S}\n "
	tests := []struct {
		name, body string
		want       []string
	}{
		{"mixed with app_id", wecom + "app_id " + testAppID, []string{"app_id cannot be used with corp_id, agent_id, corp_secret"}},
		{"mixed with token_source", wecom + "token_source classic", []string{"token_source cannot be used with corp_id"}},
		{"missing agent_id", "corp_id " + testCorpID + "\n corp_secret {env.S}", []string{"agent_id is required"}},
		{"missing corp_secret", "corp_id " + testCorpID + "\n agent_id 1", []string{"corp_secret is required"}},
		{"bad corp_id", "corp_id corp\n agent_id 1\n corp_secret {env.S}", []string{"corp_id: not a WeCom corp ID"}},
		{"bad agent_id", "corp_id " + testCorpID + "\n agent_id x1\n corp_secret {env.S}", []string{"agent_id: not an AgentId"}},
		{"budget not a number", wecom + "corp_ticket_budget lots", []string{"corp_ticket_budget", "from 1 to 100", `"lots"`}},
		{"budget zero", wecom + "agent_ticket_budget 0", []string{"agent_ticket_budget", "from 1 to 100"}},
		{"budget too high", wecom + "agent_ticket_budget 500", []string{"agent_ticket_budget", "from 1 to 100"}},
		{"budget missing", wecom + "corp_ticket_budget", []string{"corp_ticket_budget:", "missing value"}},
		{"budget for an OA", "app_id " + testAppID + "\n app_secret {env.S}\n corp_ticket_budget 5", []string{"corp_ticket_budget", "only used in WeCom mode"}},
		{"corp_id missing value", "corp_id", []string{"corp_id:", "missing value"}},
		{"agent_id extra value", "agent_id 1 2", []string{"agent_id:", "one value"}},
		{"secret not echoed", "corp_secret S3CRET more", []string{"corp_secret:", "one value"}},
		{"secret in agent_id not echoed", "corp_id " + testCorpID + "\n agent_id S3CRETS3CRET\n corp_secret {env.S}", []string{"agent_id: not an AgentId"}},
		{"secret in corp_id not echoed", "corp_id S3CRETS3CRET\n agent_id 1\n corp_secret {env.S}", []string{"corp_id: not a WeCom corp ID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("wechat_jssdk {\n " + tt.body + "\n}"))
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range append([]string{"wechat_jssdk"}, tt.want...) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "S3CRET") {
				t.Errorf("error %q repeats a misplaced value", err)
			}
		})
	}
}

// weComConfig is the JSON element of a WeCom block.
type weComConfig struct {
	Debug       bool     `json:"debug"`
	Beta        bool     `json:"beta"`
	AppID       string   `json:"appId"`
	Timestamp   int64    `json:"timestamp"`
	NonceStr    string   `json:"nonceStr"`
	Signature   string   `json:"signature"`
	JSAPIList   []string `json:"jsApiList"`
	OpenTagList []string `json:"openTagList"`
	URL         string   `json:"url"`
	CorpID      string   `json:"corpId"`
	AgentID     string   `json:"agentId"`
	AgentConfig struct {
		CorpID    string   `json:"corpid"`
		AgentID   string   `json:"agentid"`
		Timestamp int64    `json:"timestamp"`
		NonceStr  string   `json:"nonceStr"`
		Signature string   `json:"signature"`
		JSAPIList []string `json:"jsApiList"`
	} `json:"agentConfig"`
}

// weComKeyOrder is the members of the WeCom JSON in the order they are
// written: wx.config's first, in the Official Account's order.
var weComKeyOrder = regexp.MustCompile(`^\{"debug":(true|false),"beta":true,"appId":"[^"]*","timestamp":\d+,"nonceStr":"[A-Za-z0-9]{16}",` +
	`"signature":"[0-9a-f]{40}","jsApiList":\[[^\]]*\],"openTagList":\[[^\]]*\],"url":"(?:[^"\\]|\\.)*",` +
	`"corpId":"[^"]*","agentId":"[0-9]+","agentConfig":\{"corpid":"[^"]*","agentid":"[0-9]+","timestamp":\d+,` +
	`"nonceStr":"[A-Za-z0-9]{16}","signature":"[0-9a-f]{40}","jsApiList":\[[^\]]*\]\}\}$`)

// parseWeComJSON decodes a WeCom object strictly and checks its member order.
func parseWeComJSON(t testing.TB, raw []byte) weComConfig {
	t.Helper()
	if !weComKeyOrder.Match(raw) {
		t.Errorf("WeCom JSON has not the documented shape:\n%s", raw)
	}
	var c weComConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("WeCom JSON %s: %v", raw, err)
	}
	return c
}

var weComBlockRE = regexp.MustCompile(`^<script id="wechat-jssdk-config" type="application/json">([^<]*)</script>` +
	`<script id="wechat-jssdk-boot"( nonce="[^"]*")?>([^<]*(?:<[^/][^<]*)*)</script>$`)

// checkWeComSignatures verifies both signatures of c for url, each against
// its own ticket and not against the other's, with crypto/sha1 here.
func checkWeComSignatures(t testing.TB, c weComConfig, url, corpTicket, agentTicket string) {
	t.Helper()
	if c.URL != url {
		t.Errorf("signed URL %q, want %q", c.URL, url)
	}
	if want := wantSignature(corpTicket, c.NonceStr, c.Timestamp, url); c.Signature != want {
		t.Errorf("wx.config signature %s, want %s (corp ticket)", c.Signature, want)
	}
	a := c.AgentConfig
	if want := wantSignature(agentTicket, a.NonceStr, a.Timestamp, url); a.Signature != want {
		t.Errorf("wx.agentConfig signature %s, want %s (agent ticket)", a.Signature, want)
	}
	// the classic bug: one ticket for both
	if c.Signature == wantSignature(agentTicket, c.NonceStr, c.Timestamp, url) ||
		a.Signature == wantSignature(corpTicket, a.NonceStr, a.Timestamp, url) {
		t.Error("a signature was made with the other ticket")
	}
}

func TestWeComBlock(t *testing.T) {
	const corpTicket, agentTicket = "corp-ticket-0123456789", "agent-ticket-9876543210"
	now := time.Unix(1717171717, 999_000_000)
	tests := []struct {
		name   string
		modify func(h *Handler)
		url    string
		check  func(t *testing.T, c weComConfig)
	}{
		{name: "defaults", url: "https://work.example.com/app/?id=1",
			check: func(t *testing.T, c weComConfig) {
				if c.Debug || !c.Beta || c.AppID != testCorpID || c.CorpID != testCorpID || c.AgentID != testAgentID ||
					c.AgentConfig.CorpID != testCorpID || c.AgentConfig.AgentID != testAgentID {
					t.Errorf("identity members %+v", c)
				}
				if !reflect.DeepEqual(c.JSAPIList, DefaultJSAPIList) || !reflect.DeepEqual(c.AgentConfig.JSAPIList, DefaultJSAPIList) ||
					c.OpenTagList == nil || len(c.OpenTagList) != 0 {
					t.Errorf("lists %v %v %v", c.JSAPIList, c.AgentConfig.JSAPIList, c.OpenTagList)
				}
			}},
		{name: "own lists, debug", url: "http://work.example.com:8080/a?b=1&c=%20",
			modify: func(h *Handler) {
				h.Debug = true
				h.JSAPIList = []string{"chooseImage"}
				h.AgentJSAPIList = []string{"selectExternalContact"}
				h.OpenTagList = []string{"wx-open-launch-weapp"}
			},
			check: func(t *testing.T, c weComConfig) {
				if !c.Debug || !reflect.DeepEqual(c.JSAPIList, []string{"chooseImage"}) ||
					!reflect.DeepEqual(c.AgentConfig.JSAPIList, []string{"selectExternalContact"}) ||
					!reflect.DeepEqual(c.OpenTagList, []string{"wx-open-launch-weapp"}) {
					t.Errorf("lists %+v", c)
				}
			}},
		{name: "hostile URL stays inside the JSON", url: "http://work.example.com/x?q=</script><script>alert(1)</script>&u=\u2028",
			check: func(t *testing.T, c weComConfig) {}},
		{name: "empty agent list", url: "http://work.example.com/", modify: func(h *Handler) { h.AgentJSAPIList = []string{} },
			check: func(t *testing.T, c weComConfig) {
				if c.AgentConfig.JSAPIList == nil || len(c.AgentConfig.JSAPIList) != 0 {
					t.Errorf("agent list %v", c.AgentConfig.JSAPIList)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := validWeCom()
			if tt.modify != nil {
				tt.modify(&h)
			}
			h.applyDefaults()
			if err := h.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := h.preparePages(); err != nil {
				t.Fatal(err)
			}
			for _, cspNonce := range []string{"", "cnVuLW5vbmNl"} {
				block := h.pages.wecom.appendBlock(nil, &h.pages.tmpl, corpTicket, agentTicket, tt.url, now, cspNonce)
				m := weComBlockRE.FindSubmatch(block)
				if m == nil {
					t.Fatalf("block has not the expected shape:\n%s", block)
				}
				if cspNonce != "" && string(m[2]) != ` nonce="`+cspNonce+`"` {
					t.Errorf("nonce attribute %q", m[2])
				}
				if string(m[3]) != strings.TrimSuffix(strings.TrimPrefix(h.pages.tmpl.boot, `}</script><script id="wechat-jssdk-boot">`), "</script>") {
					t.Error("the boot script is not the Official Account's")
				}
				for _, bad := range []string{"</script><script>alert", "\u2028"} {
					if bytes.Contains(m[1], []byte(bad)) {
						t.Errorf("JSON carries %q literally", bad)
					}
				}
				c := parseWeComJSON(t, m[1])
				if c.Timestamp != 1717171717 || c.AgentConfig.Timestamp != c.Timestamp {
					t.Errorf("timestamps %d and %d, want 1717171717 (seconds, shared)", c.Timestamp, c.AgentConfig.Timestamp)
				}
				if c.NonceStr == c.AgentConfig.NonceStr {
					t.Error("the two signatures share a nonce")
				}
				checkWeComSignatures(t, c, tt.url, corpTicket, agentTicket)
				tt.check(t, c)
			}
		})
	}
}

// TestWeComBlockIndependentOfOA: the Official Account's block is the same
// whether or not a WeCom template exists in the process, and a WeCom
// handler's wx.config half is the Official Account shape plus beta.
func TestWeComBlockIndependentOfOA(t *testing.T) {
	oa := validHandler()
	oa.applyDefaults()
	if err := oa.preparePages(); err != nil {
		t.Fatal(err)
	}
	if oa.pages.wecom != nil {
		t.Fatal("an Official Account got a WeCom template")
	}
	w := validWeCom()
	w.applyDefaults()
	if err := w.preparePages(); err != nil {
		t.Fatal(err)
	}
	// the boot script is the WeCom variant (block.go: bootScript), and the
	// Official Account's has none of it
	if !strings.Contains(w.pages.tmpl.boot, "agentConfig") || strings.Contains(oa.pages.tmpl.boot, "agentConfig") {
		t.Error("the WeCom page did not get the boot script's WeCom part, or the Official Account page did")
	}
	// preparePages again in OA mode drops the WeCom template
	w.CorpID, w.AgentID, w.CorpSecret, w.AppID, w.AppSecret, w.APIBase, w.AgentJSAPIList = "", "", "", testAppID, "{env.S}", "", nil
	w.applyDefaults()
	if err := w.preparePages(); err != nil {
		t.Fatal(err)
	}
	if w.pages.wecom != nil {
		t.Error("the WeCom template outlived WeCom mode")
	}
}
