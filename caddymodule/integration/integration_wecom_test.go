package integration_test

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// WeCom (企业微信) mode of wechat_jssdk in a real Caddy, against the
// sandbox's WeCom corp (its counts in /sandbox/stats) and, where a test
// must know the credentials' values, a fake WeCom of its own. Every test
// uses a corp of its own: the run's storage keeps the corp ticket under the
// corp's name, and a corp ticket left there by an earlier test would be
// one the reset sandbox no longer knows.

const (
	wecomAgentID = "1000002"
	wecomSecret  = "wecom-integration-secret-3c9d"
)

// wecomSandbox is a sandbox site playing corpID with one app, agent 1000002,
// whose secret is {env.JSSDK_TEST_WECOM_SECRET}. latency holds every
// /cgi-bin call, so that concurrent pages meet a cold cache.
func wecomSandbox(corpID, latency string) string {
	return `
http://` + sandAddr + `, http://127.0.0.1:9081 {
	wechat_sandbox {
		app_id     ` + testAppID + `
		app_secret ` + testSecret + `
		corp_id    ` + corpID + `
		agent      ` + wecomAgentID + ` {env.JSSDK_TEST_WECOM_SECRET}
		latency    ` + latency + `
	}
}
`
}

// wecomSite is the demo site with wechat_jssdk in WeCom mode for corpID.
func wecomSite(corpID, apiBase, extra string) string {
	return `
http://` + siteAddr + ` {
	wechat_jssdk {
		corp_id         ` + corpID + `
		agent_id        ` + wecomAgentID + `
		corp_secret     {env.JSSDK_TEST_WECOM_SECRET}
		api_base        ` + apiBase + `
		config_endpoint ` + configPath + `
		timeout         10s
		` + extra + `
	}
	root * ` + siteRoot + `
	file_server
}
`
}

// wecomConfig is the JSON a WeCom page gets.
type wecomConfig struct {
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

var wecomBlock = regexp.MustCompile(`<script id="wechat-jssdk-config" type="application/json">([^<]*)</script>`)

// wecomInjected decodes the one block of a page, strictly.
func wecomInjected(t *testing.T, body string) wecomConfig {
	t.Helper()
	m := wecomBlock.FindAllStringSubmatch(body, -1)
	if len(m) != 1 {
		t.Fatalf("want exactly one injected block, found %d in:\n%.300s", len(m), body)
	}
	return wecomDecode(t, m[0][1])
}

func wecomDecode(t *testing.T, raw string) wecomConfig {
	t.Helper()
	var c wecomConfig
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("WeCom JSON %s: %v", raw, err)
	}
	if !c.Beta || c.AppID == "" || c.AppID != c.CorpID || c.AgentConfig.CorpID != c.CorpID ||
		c.AgentID != wecomAgentID || c.AgentConfig.AgentID != wecomAgentID || c.AgentConfig.Timestamp != c.Timestamp {
		t.Errorf("WeCom JSON members: %s", raw)
	}
	return c
}

// wecomVerify asks the sandbox whether both signatures of c hold for
// pageURL: wx.config's against the corp ticket, wx.agentConfig's against
// the app's.
func wecomVerify(t *testing.T, c wecomConfig, pageURL string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"url": pageURL,
		"config": map[string]any{"appId": c.AppID, "timestamp": c.Timestamp, "nonceStr": c.NonceStr,
			"signature": c.Signature, "beta": c.Beta, "jsApiList": c.JSAPIList},
		"agentConfig": map[string]any{"corpid": c.AgentConfig.CorpID, "agentid": c.AgentConfig.AgentID,
			"timestamp": c.AgentConfig.Timestamp, "nonceStr": c.AgentConfig.NonceStr, "signature": c.AgentConfig.Signature},
	})
	resp, err := wecomPost(sandURL+"/sandbox/wecom/verify", string(body))
	if err != nil {
		t.Fatalf("sandbox wecom verify: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct {
		OK     bool   `json:"ok"`
		ErrMsg string `json:"errmsg"`
	}
	if err := json.Unmarshal(b, &r); err != nil || !r.OK {
		t.Errorf("the sandbox refuses the signatures for %s: %s", pageURL, b)
	}
}

// wecomStats returns the sandbox's WeCom call counts for the corp.
func wecomStats(t *testing.T) map[string]int {
	t.Helper()
	resp, err := http.Get(sandURL + "/sandbox/stats")
	if err != nil {
		t.Fatalf("sandbox stats: %v", err)
	}
	defer resp.Body.Close()
	var s struct {
		WeCom map[string]any `json:"wecom"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || s.WeCom == nil {
		t.Fatalf("sandbox stats: %v %+v", err, s)
	}
	out := map[string]int{}
	for _, k := range []string{"gettoken", "get_jsapi_ticket", "agent_ticket"} {
		n, _ := s.WeCom[k].(float64)
		out[k] = int(n)
	}
	return out
}

func wecomWant(t *testing.T, got map[string]int, token, corp, agent int, what string) {
	t.Helper()
	if got["gettoken"] != token || got["get_jsapi_ticket"] != corp || got["agent_ticket"] != agent {
		t.Errorf("%s: %d gettoken, %d get_jsapi_ticket, %d agent ticket calls, want %d, %d, %d",
			what, got["gettoken"], got["get_jsapi_ticket"], got["agent_ticket"], token, corp, agent)
	}
}

// wecomPost POSTs JSON on a connection of its own: a POST is not retried
// on a kept-alive connection that a config reload closed.
func wecomPost(target, body string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Close = true
	return http.DefaultClient.Do(req)
}

func sandboxPost(t *testing.T, path, body string) {
	t.Helper()
	resp, err := wecomPost(sandURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", path, body, resp.StatusCode, b)
	}
}

// TestWeComColdPages: 1,000 concurrent pages on a cold cache cost exactly
// one gettoken, one get_jsapi_ticket and one ticket/get?type=agent_config
// call, as the sandbox counts them, and every page carries both
// signatures, which the sandbox accepts.
func TestWeComColdPages(t *testing.T) {
	const corpID = "wwintcold00000001"
	t.Setenv("JSSDK_TEST_WECOM_SECRET", wecomSecret)
	startCaddy(t, globalOptions("")+wecomSandbox(corpID, "500ms")+wecomSite(corpID, sandURL, ""))
	sandboxPost(t, "/sandbox/reset", "{}")

	const n = 1000
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, DisableCompression: true}, Timeout: 60 * time.Second}
	defer client.CloseIdleConnections()
	bodies := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := client.Get(fmt.Sprintf("%s/pay/order.html?n=%d", siteURL, i))
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			bodies[i], errs[i] = string(b), err
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
	}
	wecomWant(t, wecomStats(t), 1, 1, 1, "1000 cold pages")
	for i, body := range bodies {
		c := wecomInjected(t, body)
		page := fmt.Sprintf("%s/pay/order.html?n=%d", siteURL, i)
		if c.URL != page {
			t.Fatalf("page %d signed for %q", i, c.URL)
		}
		if i%50 == 0 { // the sandbox checks a sample; all are signed alike
			wecomVerify(t, c, page)
		}
	}

	// the config endpoint answers the same shape; retry=agent refetches
	// only the app's ticket, retry=config only the corp's
	page := siteURL + "/app/#/orders/1"
	for _, tt := range []struct {
		retry              string
		token, corp, agent int
	}{{"", 1, 1, 1}, {"&retry=agent", 1, 1, 2}, {"&retry=config", 1, 2, 2}} {
		resp, body := get(t, http.MethodGet, siteURL+configPath+"?url="+url.QueryEscape(page)+tt.retry)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("endpoint%s: %d %s", tt.retry, resp.StatusCode, body)
		}
		c := wecomDecode(t, body)
		wecomVerify(t, c, siteURL+"/app/")
		wecomWant(t, wecomStats(t), tt.token, tt.corp, tt.agent, "endpoint"+tt.retry)
	}
}

// TestWeComInvalidTokenOneRefetch: a 40014 on either ticket call (the
// sandbox's fault) costs one more gettoken, end to end: the page is
// injected and both signatures hold.
func TestWeComInvalidTokenOneRefetch(t *testing.T) {
	t.Setenv("JSSDK_TEST_WECOM_SECRET", wecomSecret)
	for i, which := range []string{"get_jsapi_ticket", "agent_ticket"} {
		t.Run(which, func(t *testing.T) {
			corpID := fmt.Sprintf("wwintinvalid00%03d", i)
			startCaddy(t, globalOptions("")+wecomSandbox(corpID, "0s")+wecomSite(corpID, sandURL, ""))
			sandboxPost(t, "/sandbox/reset", "{}")
			sandboxPost(t, "/sandbox/fault", `{"endpoint":"`+which+`","errcode":40014,"times":1}`)
			page := siteURL + "/pay/order.html?fault=" + which
			_, body := get(t, http.MethodGet, page)
			wecomVerify(t, wecomInjected(t, body), page)
			got := wecomStats(t)
			want := map[string]int{"gettoken": 2, "get_jsapi_ticket": 1, "agent_ticket": 1}
			want[which] = 2
			wecomWant(t, got, want["gettoken"], want["get_jsapi_ticket"], want["agent_ticket"], "one 40014 on "+which)
			_, body = get(t, http.MethodGet, page)
			wecomVerify(t, wecomInjected(t, body), page)
			wecomWant(t, wecomStats(t), want["gettoken"], want["get_jsapi_ticket"], want["agent_ticket"], "the next page")
		})
	}
}

// fakeWeCom answers WeCom's credential calls with known values, so that a
// test can look for them where they must not be. failAgent makes the
// next agent ticket calls answer 40014; badSecret refuses every secret.
type fakeWeCom struct {
	token, corpTicket, agentTicket string
	failAgent                      atomic.Int32
	badSecret                      atomic.Bool
}

func (f *fakeWeCom) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	reply := func(v map[string]any) { _ = json.NewEncoder(w).Encode(v) }
	switch r.URL.Path {
	case "/cgi-bin/gettoken":
		if f.badSecret.Load() || r.URL.Query().Get("corpsecret") != wecomSecret {
			reply(map[string]any{"errcode": 40001, "errmsg": "invalid credential"})
			return
		}
		reply(map[string]any{"errcode": 0, "errmsg": "ok", "access_token": f.token, "expires_in": 7200})
	case "/cgi-bin/get_jsapi_ticket":
		reply(map[string]any{"errcode": 0, "errmsg": "ok", "ticket": f.corpTicket, "expires_in": 7200})
	case "/cgi-bin/ticket/get":
		if f.failAgent.Add(-1) >= 0 {
			reply(map[string]any{"errcode": 40014, "errmsg": "invalid access_token"})
			return
		}
		reply(map[string]any{"errcode": 0, "errmsg": "ok", "ticket": f.agentTicket, "expires_in": 7200})
	default:
		http.NotFound(w, r)
	}
}

// TestWeComSecretsNeverLeak: with the log at DEBUG, through success, a
// rejected token, a refused secret and an unreachable API, neither the
// corp_secret nor the token nor either ticket appears in the log, a
// response, the admin API (config and /wechat_jssdk/) or the metrics; the
// admin API lists the WeCom app by corp and agent ID, its metrics count
// its calls, and both signatures are made with the right tickets.
func TestWeComSecretsNeverLeak(t *testing.T) {
	t.Setenv("JSSDK_TEST_WECOM_SECRET", wecomSecret)
	fake := &fakeWeCom{
		token:       "wecom-leak-token-" + strings.Repeat("T", 80),
		corpTicket:  "wecom-leak-corp-ticket-" + strings.Repeat("C", 60),
		agentTicket: "wecom-leak-agent-ticket-" + strings.Repeat("A", 60),
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	global := globalOptions("log {\n\t\toutput file " + logFile + "\n\t\tlevel DEBUG\n\t}")
	site := func(corpID, apiBase string) string {
		return strings.Replace(wecomSite(corpID, apiBase, ""), "\tfile_server",
			"\tfile_server\n\tlog {\n\t\toutput file "+logFile+"\n\t\tlevel DEBUG\n\t}", 1)
	}
	var responses strings.Builder
	fetch := func(target string) string {
		resp, body := get(t, http.MethodGet, target)
		responses.WriteString(body)
		for k, v := range resp.Header {
			responses.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
		return body
	}
	admin := func(path string) string {
		resp, err := http.Get("http://localhost:2999" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	const corpID = "wwintleak00000001"
	page := siteURL + "/pay/order.html?leak=1"
	startCaddy(t, global+site(corpID, srv.URL))
	c := wecomInjected(t, fetch(page))
	sig := func(ticket, nonce string, ts int64) string {
		sum := sha1.Sum([]byte(fmt.Sprintf("jsapi_ticket=%s&noncestr=%s&timestamp=%d&url=%s", ticket, nonce, ts, page)))
		return hex.EncodeToString(sum[:])
	}
	if c.Signature != sig(fake.corpTicket, c.NonceStr, c.Timestamp) ||
		c.AgentConfig.Signature != sig(fake.agentTicket, c.AgentConfig.NonceStr, c.AgentConfig.Timestamp) {
		t.Errorf("signatures not made with the corp and the agent ticket: %+v", c)
	}
	fake.failAgent.Store(1)
	fetch(siteURL + configPath + "?url=" + url.QueryEscape(page) + "&retry=agent") // 40014, a token refetch
	var adminOut strings.Builder
	adminOut.WriteString(admin("/config/"))
	listing := admin("/wechat_jssdk/")
	adminOut.WriteString(listing)
	metrics := admin("/metrics")

	var apps []map[string]any
	if err := json.Unmarshal([]byte(listing), &apps); err != nil {
		t.Fatalf("listing %s: %v", listing, err)
	}
	found := false
	for _, a := range apps {
		if a["corp_id"] == corpID && a["agent_id"] == wecomAgentID && a["source"] == "wecom" {
			found = true
		}
	}
	if !found {
		t.Errorf("the admin API does not list the WeCom app: %s", listing)
	}
	app := corpID + "/" + wecomAgentID
	for _, want := range []string{
		`caddy_wechat_api_calls_total{app_id="` + app + `",endpoint="gettoken",result="ok"} 2`,
		`caddy_wechat_api_calls_total{app_id="` + app + `",endpoint="get_jsapi_ticket",result="ok"} 1`,
		`caddy_wechat_api_calls_total{app_id="` + app + `",endpoint="ticket_get_agent_config",result="invalid_token"} 1`,
		`caddy_wechat_api_calls_total{app_id="` + app + `",endpoint="ticket_get_agent_config",result="ok"} 2`,
		`caddy_wechat_ticket_budget_per_hour{app_id="` + app + `",ticket="corp"} 20`,
		`caddy_wechat_ticket_budget_per_hour{app_id="` + app + `",ticket="agent"} 30`,
		`caddy_wechat_ticket_budget_refusals_total{app_id="` + app + `",ticket="agent"} 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// WeCom refusing the secret, then unreachable
	fake.badSecret.Store(true)
	startCaddy(t, global+site("wwintleak00000002", srv.URL))
	fetch(page)
	startCaddy(t, global+site("wwintleak00000003", "http://127.0.0.1:1"))
	fetch(page)
	adminOut.WriteString(admin("/config/"))
	adminOut.WriteString(admin("/wechat_jssdk/"))
	metrics += admin("/metrics")

	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logs), "40001") || !strings.Contains(string(logs), `"level":"debug"`) {
		t.Fatalf("the refused secret or DEBUG lines are not in the log: the test would prove nothing:\n%.2000s", logs)
	}
	for name, hay := range map[string]string{"logs": string(logs), "responses": responses.String(),
		"admin API": adminOut.String(), "metrics": metrics} {
		for _, needle := range []string{wecomSecret, fake.token, fake.corpTicket, fake.agentTicket} {
			if strings.Contains(hay, needle) {
				t.Errorf("%s contain a secret (%.16s…)", name, needle)
			}
		}
	}
}

// TestWeComValidateNamesDirectiveAndOption: `caddy validate` refuses a bad
// WeCom configuration naming the directive and the option, without
// repeating a secret, and accepts a good one.
func TestWeComValidateNamesDirectiveAndOption(t *testing.T) {
	t.Setenv("JSSDK_EMPTY", "")
	t.Setenv("JSSDK_TEST_WECOM_SECRET", wecomSecret)
	jssdk := func(opts string) string {
		return "{\n\tadmin off\n}\nhttp://localhost:9099 {\n\twechat_jssdk {\n" + opts + "\n\t}\n\trespond ok\n}\n"
	}
	ok := "corp_id ww0123456789abcdef\n agent_id 1000002\n corp_secret {env.JSSDK_TEST_WECOM_SECRET}\n"
	for _, tc := range []struct {
		name, caddyfile string
		want            []string
	}{
		{"mixed with app_secret", jssdk(ok + "app_secret s3cr3t-value"), []string{"wechat_jssdk", "app_secret", "corp_id"}},
		{"mixed with token_header", jssdk(ok + "token_header X-Key s3cr3t-value"), []string{"wechat_jssdk", "token_header", "corp_id"}},
		{"missing corp_id", jssdk("agent_id 1000002\n corp_secret s3cr3t-value"), []string{"wechat_jssdk", "corp_id", "required"}},
		{"missing agent_id", jssdk("corp_id ww0123456789abcdef\n corp_secret s3cr3t-value"), []string{"wechat_jssdk", "agent_id", "required"}},
		{"missing corp_secret", jssdk("corp_id ww0123456789abcdef\n agent_id 1000002"), []string{"wechat_jssdk", "corp_secret", "required"}},
		{"placeholder corp_id", jssdk("corp_id ww_CORPID\n agent_id 1\n corp_secret s3cr3t-value"), []string{"wechat_jssdk", "corp_id"}},
		{"bad agent_id", jssdk("corp_id ww0123456789abcdef\n agent_id s3cr3t-value\n corp_secret x"), []string{"wechat_jssdk", "agent_id"}},
		{"bad budget", jssdk(ok + "corp_ticket_budget 1000"), []string{"wechat_jssdk", "corp_ticket_budget"}},
		{"empty secret placeholder", jssdk("corp_id ww0123456789abcdef\n agent_id 1000002\n corp_secret {env.JSSDK_EMPTY}"), []string{"wechat_jssdk", "corp_secret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(tc.caddyfile)
			if err == nil {
				t.Fatalf("config validated:\n%s", tc.caddyfile)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t-value") {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
	if err := validate(jssdk(ok)); err != nil {
		t.Errorf("a good config fails: %v", err)
	}
}
