package sandbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func TestWeComCaddyfile(t *testing.T) {
	mh, err := ParseCaddyfile(httpcaddyfile.Helper{Dispenser: caddyfile.NewTestDispenser(`wechat_sandbox {
		app_id     wx0123456789abcdef
		agent      1000002 {env.WECOM_SECRET}
		app_secret s
		corp_id    ww0123456789abcdef
		agent      1000003 {file./run/secrets/wecom}
	}`)})
	if err != nil {
		t.Fatal(err)
	}
	h := mh.(*Handler)
	raw, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"app_id":"wx0123456789abcdef","app_secret":"s","corp_id":"ww0123456789abcdef",` +
		`"agents":[{"agent_id":"1000002","secret":"{env.WECOM_SECRET}"},{"agent_id":"1000003","secret":"{file./run/secrets/wecom}"}]}`
	if string(raw) != want {
		t.Fatalf("JSON\n got %s\nwant %s", raw, want)
	}
	var back Handler
	if err := json.Unmarshal(raw, &back); err != nil || back.CorpID != h.CorpID || len(back.Agents) != 2 {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

func TestWeComCaddyfileErrors(t *testing.T) {
	const secretValue = "topsecretvalue"
	block := func(lines ...string) string {
		return "wechat_sandbox {\napp_id a\napp_secret s\n" + strings.Join(lines, "\n") + "\n}"
	}
	for _, tc := range []struct{ name, input, want string }{
		{"corp_id missing value", block("corp_id", "agent 1 x"), "wechat_sandbox: corp_id: missing value, at Testfile:4"},
		{"corp_id extra argument", block("corp_id ww1 ww2", "agent 1 x"), "wechat_sandbox: corp_id: takes exactly one value, at Testfile:4"},
		{"corp_id twice", block("corp_id ww1", "agent 1 x", "corp_id ww2"), "wechat_sandbox: corp_id: specified more than once, at Testfile:6"},
		{"agent without secret", block("corp_id ww1", "agent 1000002"),
			"wechat_sandbox: agent: takes an agent ID and its secret: agent <agent_id> <secret>, at Testfile:5"},
		{"agent with a third value", block("corp_id ww1", "agent 1000002 "+secretValue+" x"),
			"wechat_sandbox: agent: takes an agent ID and its secret: agent <agent_id> <secret>, at Testfile:5"},
		{"agent secret first", block("corp_id ww1", "agent "+secretValue+" 1000002"),
			`wechat_sandbox: agent: agent ID must be 1 to 10 digits, got "topsecretvalue", at Testfile:5`},
		{"agent ID too long", block("corp_id ww1", "agent 12345678901 x"),
			`wechat_sandbox: agent: agent ID must be 1 to 10 digits, got "12345678901", at Testfile:5`},
		{"agent twice", block("corp_id ww1", "agent 1000002 x", "agent 1000002 "+secretValue),
			"wechat_sandbox: agent 1000002: specified more than once, at Testfile:6"},
		{"agent without corp_id", block("agent 1000002 x"), "wechat_sandbox: agent needs corp_id, at Testfile:5"},
		{"corp_id without agent", block("corp_id ww1"), "wechat_sandbox: corp_id needs at least one agent <agent_id> <secret>, at Testfile:5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v\nwant    %s", err, tc.want)
			}
			if tc.name != "agent secret first" && strings.Contains(err.Error(), secretValue) {
				t.Fatalf("error reveals a secret: %v", err)
			}
		})
	}
}

// TestWeComProvisionErrors checks the JSON config's errors, which name
// the option.
func TestWeComProvisionErrors(t *testing.T) {
	t.Setenv("WECOM_TEST_SECRET", "same-secret")
	agents := func(a ...WeComAgent) []WeComAgent { return a }
	for _, tc := range []struct {
		name string
		w    WeCom
		want string
	}{
		{"agents without corp_id", WeCom{Agents: agents(WeComAgent{"1", "x"})}, "agents need corp_id"},
		{"corp_id without agents", WeCom{CorpID: "ww1"}, "corp_id needs at least one agent"},
		{"corp_id is app_id", WeCom{CorpID: "wx-app", Agents: agents(WeComAgent{"1", "x"})}, "corp_id must differ from app_id"},
		{"bad agent ID", WeCom{CorpID: "ww1", Agents: agents(WeComAgent{"10x", "x"})}, `agents: agent ID must be 1 to 10 digits, got "10x"`},
		{"duplicate agent", WeCom{CorpID: "ww1", Agents: agents(WeComAgent{"1", "x"}, WeComAgent{"1", "y"})}, "agents: agent 1: specified more than once"},
		{"no secret", WeCom{CorpID: "ww1", Agents: agents(WeComAgent{"1", ""})}, "agents: agent 1: secret is required"},
		{"shared secret", WeCom{CorpID: "ww1", Agents: agents(WeComAgent{"1", "{env.WECOM_TEST_SECRET}"}, WeComAgent{"2", "same-secret"})},
			"agents: agent 2 has the same secret as agent 1: gettoken tells the apps by their secret"},
		{"unset placeholder", WeCom{CorpID: "ww1", Agents: agents(WeComAgent{"7", "{env.WECOM_TEST_UNSET}"})},
			"wechat_sandbox: agent 7: evaluated placeholder {env.WECOM_TEST_UNSET} is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{AppID: "wx-app", AppSecret: "s", WeCom: tc.w}
			err := h.validateWeCom()
			if err == nil {
				err = h.provisionWeCom()
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v, want %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "same-secret") {
				t.Fatalf("error reveals a secret: %v", err)
			}
		})
	}
}

// wecomErrmsgRE is WeCom's errmsg: message, hint, query link.
var wecomErrmsgRE = regexp.MustCompile(`^[A-Za-z_ ]+(: .+)?, hint: \[\d+_\d+_[0-9a-f]{32}\], more info at https://open\.work\.weixin\.qq\.com/devtool/query\?e=\d+$`)

func TestWeComGetTokenErrors(t *testing.T) {
	h, _ := newWeComTestHandler(t)
	for _, tc := range []struct {
		name   string
		method string
		query  url.Values
		want   int
	}{
		{"no corpid", http.MethodGet, url.Values{"corpsecret": {testAgentSecret}}, 41002},
		{"wrong corpid", http.MethodGet, url.Values{"corpid": {"ww-other"}, "corpsecret": {testAgentSecret}}, 40013},
		{"app ID as corpid", http.MethodGet, url.Values{"corpid": {h.AppID}, "corpsecret": {testAgentSecret}}, 40013},
		{"no corpsecret", http.MethodGet, url.Values{"corpid": {testCorpID}}, 41004},
		{"wrong corpsecret", http.MethodGet, url.Values{"corpid": {testCorpID}, "corpsecret": {"nope"}}, 40001},
		{"the Official Account's secret", http.MethodGet, url.Values{"corpid": {testCorpID}, "corpsecret": {testSecret}}, 40001},
		{"POST", http.MethodPost, url.Values{"corpid": {testCorpID}, "corpsecret": {testAgentSecret}}, 43001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, h, tc.method, pathWeComToken+"?"+tc.query.Encode(), "")
			a := decode[wecomAnswer](t, rec)
			if rec.Code != http.StatusOK || a.ErrCode != tc.want || a.AccessToken != "" {
				t.Fatalf("%d %+v, want errcode %d", rec.Code, a, tc.want)
			}
			if !wecomErrmsgRE.MatchString(a.ErrMsg) || !strings.HasSuffix(a.ErrMsg, "?e="+itoa(tc.want)) {
				t.Errorf("errmsg %q: not WeCom's shape", a.ErrMsg)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestWeComGetToken checks that an app gets the same token while it is
// valid, with the seconds it has left, and a new one after; and that each
// app has its own.
func TestWeComGetToken(t *testing.T) {
	h, clk := newWeComTestHandler(t)
	q := url.Values{"corpid": {testCorpID}, "corpsecret": {testAgentSecret}}
	first := wecomGet(t, h, pathWeComToken, q)
	if first.ErrCode != 0 || first.ErrMsg != "ok" || first.ExpiresIn != 7200 ||
		len(first.AccessToken) < 100 || !credentialRE.MatchString(first.AccessToken) {
		t.Fatalf("first: %+v", first)
	}
	clk.advance(time.Hour)
	again := wecomGet(t, h, pathWeComToken, q)
	if again.AccessToken != first.AccessToken || again.ExpiresIn != 3600 {
		t.Fatalf("within its life: %+v, want the same token with 3600 s left", again)
	}
	if other := wecomToken(t, h, testAgent2Secret); other == first.AccessToken {
		t.Fatal("two apps share a token")
	}
	clk.advance(time.Hour)
	fresh := wecomGet(t, h, pathWeComToken, q)
	if fresh.AccessToken == first.AccessToken || fresh.ExpiresIn != 7200 {
		t.Fatalf("after expiry: %+v, want a new token", fresh)
	}
	if got := wecomGet(t, h, pathWeComCorpTicket, url.Values{"access_token": {first.AccessToken}}); got.ErrCode != 42001 {
		t.Errorf("the expired token: errcode %d, want 42001", got.ErrCode)
	}
}

func TestWeComTicketErrors(t *testing.T) {
	h, clk := newWeComTestHandler(t)
	token := wecomToken(t, h, testAgentSecret)
	oaToken := classicToken(t, h).AccessToken
	stranger := newCredential(tokenLen) // well shaped, never issued
	for _, path := range []string{pathWeComCorpTicket, pathWeComAgentTicket} {
		for _, tc := range []struct {
			name   string
			method string
			query  url.Values
			want   int
		}{
			{"no token", http.MethodGet, url.Values{"type": {"agent_config"}}, 41001},
			{"garbage token", http.MethodGet, url.Values{"access_token": {"garbage"}, "type": {"agent_config"}}, 40014},
			{"unknown token", http.MethodGet, url.Values{"access_token": {stranger}, "type": {"agent_config"}}, 40014},
			{"the Official Account's token", http.MethodGet, url.Values{"access_token": {oaToken}, "type": {"agent_config"}}, 40014},
			{"POST", http.MethodPost, url.Values{"access_token": {token}, "type": {"agent_config"}}, 43001},
		} {
			t.Run(path+" "+tc.name, func(t *testing.T) {
				rec := serve(t, h, tc.method, path+"?"+tc.query.Encode(), "")
				if a := decode[wecomAnswer](t, rec); a.ErrCode != tc.want || a.Ticket != "" || !wecomErrmsgRE.MatchString(a.ErrMsg) {
					t.Fatalf("%+v, want errcode %d", a, tc.want)
				}
			})
		}
	}
	for _, typ := range []string{"", "jsapi", "agent"} {
		a := wecomGet(t, h, pathWeComAgentTicket, url.Values{"access_token": {token}, "type": {typ}})
		if a.ErrCode != 40058 || !strings.Contains(a.ErrMsg, "type must be agent_config") {
			t.Errorf("type %q: %+v, want 40058", typ, a)
		}
	}
	// A WeCom token is not a WeChat one either.
	if code := tokenCode(t, h, token); code != codeInvalidCredential {
		t.Errorf("WeCom token at getticket: errcode %d, want 40001", code)
	}
	clk.advance(2 * time.Hour)
	for _, path := range []string{pathWeComCorpTicket, pathWeComAgentTicket} {
		if a := wecomGet(t, h, path, url.Values{"access_token": {token}, "type": {"agent_config"}}); a.ErrCode != 42001 {
			t.Errorf("%s with an expired token: %+v, want 42001", path, a)
		}
	}
}

// TestWeComTickets checks the two kinds: one corp ticket for every app,
// one agent_config ticket per app, each the same while valid.
func TestWeComTickets(t *testing.T) {
	h, clk := newWeComTestHandler(t)
	t1, t2 := wecomToken(t, h, testAgentSecret), wecomToken(t, h, testAgent2Secret)
	corp := wecomGet(t, h, pathWeComCorpTicket, url.Values{"access_token": {t1}})
	if corp.ErrCode != 0 || corp.ErrMsg != "ok" || corp.ExpiresIn != 7200 || len(corp.Ticket) != ticketLen {
		t.Fatalf("corp ticket: %+v", corp)
	}
	a1, a2 := agentTicket(t, h, t1), agentTicket(t, h, t2)
	if a1 == a2 || a1 == corp.Ticket || a2 == corp.Ticket {
		t.Fatal("the corp ticket and the agents' tickets must all differ")
	}
	clk.advance(30 * time.Minute)
	if again := wecomGet(t, h, pathWeComCorpTicket, url.Values{"access_token": {t2}}); again.Ticket != corp.Ticket || again.ExpiresIn != 5400 {
		t.Fatalf("corp ticket through the other app: %+v, want the same with 5400 s left", again)
	}
	if again := agentTicket(t, h, t1); again != a1 {
		t.Fatal("agent ticket changed within its life")
	}
	clk.advance(90 * time.Minute)
	t1 = wecomToken(t, h, testAgentSecret)
	if fresh := corpTicket(t, h, t1); fresh == corp.Ticket {
		t.Fatal("corp ticket not renewed after expiry")
	}
	if fresh := agentTicket(t, h, t1); fresh == a1 {
		t.Fatal("agent ticket not renewed after expiry")
	}
}

// TestWeComTicketQuota checks WeCom's hourly limits: 100 ticket fetches
// per app, 400 per corp, both kinds together; a refused fetch does not
// count; the window slides.
func TestWeComTicketQuota(t *testing.T) {
	clk := newFakeClock()
	var agents []WeComAgent
	for _, id := range []string{"1", "2", "3", "4", "5"} {
		agents = append(agents, WeComAgent{AgentID: id, Secret: "secret-of-agent-" + id})
	}
	h := &Handler{AppID: "wx-" + t.Name(), AppSecret: testSecret, now: clk.now, WeCom: WeCom{CorpID: testCorpID, Agents: agents}}
	provision(t, h)
	tokens := map[string]string{}
	for _, a := range agents {
		tokens[a.AgentID] = wecomToken(t, h, a.Secret)
	}
	fetch := func(agent string, i int) int {
		path, q := pathWeComCorpTicket, url.Values{"access_token": {tokens[agent]}}
		if i%2 == 1 {
			path, q = pathWeComAgentTicket, url.Values{"access_token": {tokens[agent]}, "type": {"agent_config"}}
		}
		a := wecomGet(t, h, path, q)
		if a.ErrCode == codeDailyQuota && !strings.Contains(a.ErrMsg, "api freq out of limit") {
			t.Errorf("45009 errmsg %q", a.ErrMsg)
		}
		return a.ErrCode
	}
	for i := range 100 {
		if code := fetch("1", i); code != 0 {
			t.Fatalf("fetch %d of agent 1: errcode %d", i+1, code)
		}
		clk.advance(time.Second)
	}
	for i := range 2 {
		if code := fetch("1", i); code != codeDailyQuota {
			t.Fatalf("fetch %d of agent 1: errcode %d, want 45009", 101+i, code)
		}
	}
	for _, agent := range []string{"2", "3", "4"} {
		for i := range 100 {
			if code := fetch(agent, i); code != 0 {
				t.Fatalf("fetch %d of agent %s: errcode %d", i+1, agent, code)
			}
		}
	}
	if code := fetch("5", 0); code != codeDailyQuota {
		t.Fatalf("401st fetch of the corp: errcode %d, want 45009", code)
	}
	// Agent 1's first fetch leaves the window an hour after it was made.
	clk.advance(time.Hour - 101*time.Second)
	if code := fetch("5", 0); code != codeDailyQuota {
		t.Fatalf("just before the window slides: errcode %d, want 45009", code)
	}
	clk.advance(time.Second)
	if code := fetch("5", 0); code != 0 {
		t.Fatalf("after the window slid by one: errcode %d, want 0", code)
	}
	if code := fetch("1", 0); code != codeDailyQuota {
		t.Fatalf("agent 1 at the corp's limit again: errcode %d, want 45009", code)
	}
	st := h.wecomStats()
	if got := st.Agents["1"].CorpTicket + st.Agents["1"].AgentTicket; got != 103 {
		t.Errorf("agent 1 ticket calls = %d, want 103 (refused ones count as calls)", got)
	}
}

// TestWeComStats checks the counters a test asserts on: per corp and per
// agent, failed and faulted calls included, and the JSON names.
func TestWeComStats(t *testing.T) {
	h, _ := newWeComTestHandler(t)
	token := wecomToken(t, h, testAgentSecret)
	corpTicket(t, h, token)
	agentTicket(t, h, token)
	rec := serve(t, h, http.MethodGet, pathStats, "")
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"corp_id": testCorpID, "gettoken": 1.0, "get_jsapi_ticket": 1.0, "agent_ticket": 1.0, "getuserinfo": 0.0, "verify": 0.0,
		"agents": map[string]any{
			testAgentID:  map[string]any{"gettoken": 1.0, "get_jsapi_ticket": 1.0, "agent_ticket": 1.0, "getuserinfo": 0.0},
			testAgent2ID: map[string]any{"gettoken": 0.0, "get_jsapi_ticket": 0.0, "agent_ticket": 0.0, "getuserinfo": 0.0},
		},
	}
	if a, b := mustJSON(t, got["wecom"]), mustJSON(t, want); a != b {
		t.Fatalf("stats.wecom\n got %s\nwant %s", a, b)
	}
	if got["token"] != 0.0 || got["getticket"] != 0.0 {
		t.Errorf("WeChat counters moved: %v", got)
	}

	// Failed calls count, for the agent when it is known.
	wecomGet(t, h, pathWeComToken, url.Values{"corpid": {"ww-wrong"}, "corpsecret": {testAgent2Secret}})
	wecomGet(t, h, pathWeComToken, url.Values{"corpid": {testCorpID}, "corpsecret": {"unknown"}})
	wecomGet(t, h, pathWeComAgentTicket, url.Values{"access_token": {token}, "type": {"jsapi"}})
	wecomGet(t, h, pathWeComCorpTicket, url.Values{"access_token": {"garbage"}})
	control(t, h, pathFault, `{"endpoint":"get_jsapi_ticket","errcode":-1}`)
	wecomGet(t, h, pathWeComCorpTicket, url.Values{"access_token": {token}})
	st := h.wecomStats()
	if st.GetToken != 3 || st.CorpTicket != 3 || st.AgentTicket != 2 ||
		st.Agents[testAgentID].CorpTicket != 2 || st.Agents[testAgentID].AgentTicket != 2 ||
		st.Agents[testAgent2ID].GetToken != 1 {
		t.Fatalf("after failed calls: %+v", *st)
	}

	control(t, h, pathReset, `{}`)
	if st := h.wecomStats(); st.GetToken != 0 || st.Agents[testAgentID] != (wecomCounts{}) {
		t.Fatalf("after reset: %+v", *st)
	}
	if a := wecomGet(t, h, pathWeComCorpTicket, url.Values{"access_token": {token}}); a.ErrCode != codeInvalidToken {
		t.Fatalf("a token issued before reset: %+v, want 40014", a)
	}

	// Without a corp, stats has no wecom object.
	plain, _ := newTestHandler(t)
	if body := serve(t, plain, http.MethodGet, pathStats, "").Body.String(); strings.Contains(body, "wecom") {
		t.Errorf("stats of a sandbox without corp: %s", body)
	}
}

// TestWeComFaults checks that /sandbox/fault, chaos and latency apply to
// the WeCom endpoints.
func TestWeComFaults(t *testing.T) {
	h, _ := newWeComTestHandler(t)
	token := wecomToken(t, h, testAgentSecret)
	steps := []struct {
		fault    string
		path     string
		query    url.Values
		wantCode int
		status   int
	}{
		{`{"endpoint":"gettoken","errcode":45009}`, pathWeComToken,
			url.Values{"corpid": {testCorpID}, "corpsecret": {testAgentSecret}}, 45009, http.StatusOK},
		{`{"endpoint":"get_jsapi_ticket","http_status":502}`, pathWeComCorpTicket,
			url.Values{"access_token": {token}}, 0, http.StatusBadGateway},
		{`{"endpoint":"agent_ticket","errcode":-1}`, pathWeComAgentTicket,
			url.Values{"access_token": {token}, "type": {"agent_config"}}, -1, http.StatusOK},
		{`{"endpoint":"getuserinfo","errcode":-1}`, pathWeComUserInfo,
			url.Values{"access_token": {token}, "code": {"x"}}, -1, http.StatusOK},
		{`{"endpoint":"*","errcode":42001}`, pathWeComCorpTicket,
			url.Values{"access_token": {token}}, 42001, http.StatusOK},
	}
	for _, s := range steps {
		if rec := control(t, h, pathFault, s.fault); rec.Code != http.StatusOK {
			t.Fatalf("fault %s: %d %s", s.fault, rec.Code, rec.Body.String())
		}
		rec := serve(t, h, http.MethodGet, s.path+"?"+s.query.Encode(), "")
		if rec.Code != s.status {
			t.Fatalf("%s: status %d, want %d", s.path, rec.Code, s.status)
		}
		if s.status == http.StatusOK {
			if a := decode[wecomAnswer](t, rec); a.ErrCode != s.wantCode {
				t.Fatalf("%s under %s: %+v", s.path, s.fault, a)
			}
		}
		// the fault is used up
		if s.path == pathWeComCorpTicket {
			if a := wecomGet(t, h, s.path, s.query); a.ErrCode != 0 {
				t.Fatalf("after the fault: %+v", a)
			}
		}
	}
	rec := control(t, h, pathFault, `{"endpoint":"wecom","errcode":1}`)
	if r := decode[controlReply](t, rec); rec.Code != http.StatusBadRequest ||
		!strings.Contains(r.ErrMsg, `"gettoken", "get_jsapi_ticket", "agent_ticket", "getuserinfo"`) {
		t.Errorf("unknown endpoint: %d %+v", rec.Code, r)
	}

	control(t, h, pathChaos, `{"error_rate":1,"error_codes":[45009]}`)
	if a := wecomGet(t, h, pathWeComCorpTicket, url.Values{"access_token": {token}}); a.ErrCode != 45009 {
		t.Fatalf("under chaos: %+v", a)
	}
	control(t, h, pathChaos, `{}`)
	if a := wecomGet(t, h, pathWeComCorpTicket, url.Values{"access_token": {token}}); a.ErrCode != 0 {
		t.Fatalf("chaos cleared: %+v", a)
	}
}

// TestWeComRotate checks that /sandbox/rotate replaces the WeCom tokens
// and tickets with WeChat's: the old token answers 40014, signatures with
// the old tickets no longer verify, and counters stay.
func TestWeComRotate(t *testing.T) {
	h, _ := newWeComTestHandler(t)
	token := wecomToken(t, h, testAgentSecret)
	corp, agent := corpTicket(t, h, token), agentTicket(t, h, token)
	const pageURL = "https://app.example/page"
	if c := h.checkWeComSignature("", pageURL, "1", "n", jsapiSignature(corp, "n", "1", pageURL)); !c.OK {
		t.Fatalf("before rotate: %+v", c)
	}
	if rec := control(t, h, pathRotate, `{}`); rec.Code != http.StatusOK {
		t.Fatalf("rotate: %d", rec.Code)
	}
	if a := wecomGet(t, h, pathWeComCorpTicket, url.Values{"access_token": {token}}); a.ErrCode != codeInvalidToken {
		t.Fatalf("old token after rotate: %+v, want 40014", a)
	}
	if c := h.checkWeComSignature("", pageURL, "1", "n", jsapiSignature(corp, "n", "1", pageURL)); c.OK || c.Reason != "no_ticket" {
		t.Fatalf("old corp ticket after rotate: %+v", c)
	}
	fresh := wecomToken(t, h, testAgentSecret)
	if fresh == token {
		t.Fatal("gettoken handed the old token back")
	}
	if corpTicket(t, h, fresh) == corp || agentTicket(t, h, fresh) == agent {
		t.Fatal("tickets not replaced")
	}
	if c := h.checkWeComSignature(testAgentID, pageURL, "1", "n", jsapiSignature(agent, "n", "1", pageURL)); c.OK ||
		c.Reason != "invalid_signature" {
		t.Fatalf("old agent ticket after rotate: %+v", c)
	}
	if st := h.wecomStats(); st.GetToken != 2 {
		t.Fatalf("counters after rotate: %+v", *st)
	}
}

// TestWeComPathsNeedCorp checks that a sandbox without corp_id knows none
// of WeCom's paths, and that one with it still answers WeChat's.
func TestWeComPathsNeedCorp(t *testing.T) {
	plain, _ := newTestHandler(t)
	for _, p := range []string{pathWeComToken, pathWeComCorpTicket, pathWeComAgentTicket, pathWeComUserInfo,
		pathWeComVerify, pathWeComBridge, pathWeComJwxwork, pathWeComWW} {
		rec := serve(t, plain, http.MethodGet, p, "")
		if a := decode[wecomAnswer](t, rec); rec.Code != http.StatusNotFound || a.ErrCode != codeInvalidURL {
			t.Errorf("%s without corp_id: %d %+v", p, rec.Code, a)
		}
	}
	h, _ := newWeComTestHandler(t)
	token := classicToken(t, h).AccessToken
	if r := getTicket(t, h, token); r.ErrCode != 0 || r.Ticket == "" {
		t.Fatalf("WeChat's getticket beside WeCom: %+v", r)
	}
	if rec := serve(t, h, http.MethodGet, "/cgi-bin/ticket/unknown", ""); rec.Code != http.StatusNotFound {
		t.Errorf("unknown path: %d", rec.Code)
	}
}

// TestWeComConcurrent drives every WeCom endpoint from several goroutines
// at once, for the race detector.
func TestWeComConcurrent(t *testing.T) {
	h, _ := newWeComTestHandler(t)
	const page = "https://app.example/"
	// call is serve without t.Fatal, which only the test's goroutine may call.
	call := func(method, target, contentType, body string) wecomAnswer {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		_ = h.ServeHTTP(rec, req, nil)
		var a wecomAnswer
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &a) != nil {
			t.Errorf("%s %s: %d %s", method, target, rec.Code, rec.Body.String())
		}
		return a
	}
	get := func(path string, q url.Values) wecomAnswer { return call(http.MethodGet, path+"?"+q.Encode(), "", "") }
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			secret := testAgentSecret
			if g%2 == 1 {
				secret = testAgent2Secret
			}
			for range 20 {
				token := get(pathWeComToken, url.Values{"corpid": {testCorpID}, "corpsecret": {secret}}).AccessToken
				ticket := get(pathWeComCorpTicket, url.Values{"access_token": {token}}).Ticket
				get(pathWeComAgentTicket, url.Values{"access_token": {token}, "type": {"agent_config"}})
				h.checkWeComSignature("", page, "1", "n", jsapiSignature(ticket, "n", "1", page))
				code := h.state.issueWeComCode(testCorpID, h.clock(), &wecomGrant{userID: "u"})
				get(pathWeComUserInfo, url.Values{"access_token": {token}, "code": {code}})
				get(pathStats, url.Values{})
				if g == 0 {
					call(http.MethodPost, pathRotate, "application/json", "{}")
				}
			}
		})
	}
	wg.Wait()
	if st := h.wecomStats(); st.GetToken != 80 || st.GetUserInfo != 80 {
		t.Fatalf("counts %+v", *st)
	}
}
