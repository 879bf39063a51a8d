package sandbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// wecomVerify posts body to /sandbox/wecom/verify as the stubs do.
func wecomVerify(t *testing.T, h *Handler, body string) wecomVerifyReply {
	t.Helper()
	rec := serveCT(t, h, http.MethodPost, pathWeComVerify, "text/plain", body)
	if rec.Code != http.StatusOK {
		t.Fatalf("verify: %d %s", rec.Code, rec.Body.String())
	}
	return decode[wecomVerifyReply](t, rec)
}

// signedPart is a config part signed with ticket for pageURL.
func signedPart(kind, ticket, pageURL, agent string) map[string]any {
	ts, nonce := "1700000000", "Wm3WZYTPz0wzccnW"
	p := map[string]any{"timestamp": 1700000000, "nonceStr": nonce, "signature": jsapiSignature(ticket, nonce, ts, pageURL)}
	if kind == "config" {
		p["appId"], p["beta"], p["jsApiList"] = testCorpID, true, []string{"getContext"}
	} else {
		p["corpid"], p["agentid"] = testCorpID, agent
	}
	return p
}

func TestWeComVerify(t *testing.T) {
	h, _ := newWeComTestHandler(t)
	const page = "https://app.example/wecom/index.html?from=menu&x=%E4%B8%AD"
	t1, t2 := wecomToken(t, h, testAgentSecret), wecomToken(t, h, testAgent2Secret)
	corp, a1, a2 := corpTicket(t, h, t1), agentTicket(t, h, t1), agentTicket(t, h, t2)
	oa := getTicket(t, h, classicToken(t, h).AccessToken).Ticket

	with := func(p map[string]any, k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range p {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	okConfig := signedPart("config", corp, page, "")
	okAgent := signedPart("agentConfig", a1, page, testAgentID)
	type verdicts struct{ config, agent string } // "" not sent, "ok", or the reason
	for _, tc := range []struct {
		name    string
		body    map[string]any
		want    verdicts
		inError string
	}{
		{"config", map[string]any{"url": page, "config": okConfig}, verdicts{config: "ok"}, ""},
		{"agentConfig", map[string]any{"url": page, "agentConfig": okAgent}, verdicts{agent: "ok"}, ""},
		{"both", map[string]any{"url": page, "config": okConfig, "agentConfig": okAgent}, verdicts{"ok", "ok"}, ""},
		{"agent ID as a number", map[string]any{"url": page, "agentConfig": with(okAgent, "agentid", 1000002)}, verdicts{agent: "ok"}, ""},
		{"timestamp as a string", map[string]any{"url": page, "config": with(okConfig, "timestamp", "1700000000")}, verdicts{config: "ok"}, ""},
		{"bridge names", map[string]any{"url": page, "config": map[string]any{"appId": testCorpID, "verifyAppId": testCorpID,
			"verifySignType": "sha1", "verifyTimestamp": "1700000000", "verifyNonceStr": okConfig["nonceStr"],
			"verifySignature": okConfig["signature"], "verifyJsApiList": []string{"getContext"}}}, verdicts{config: "ok"}, ""},
		{"per-part url", map[string]any{"url": "https://elsewhere.example/", "config": with(okConfig, "url", page),
			"agentConfig": with(okAgent, "url", page)}, verdicts{"ok", "ok"}, ""},

		{"config signed with the agent ticket", map[string]any{"url": page, "config": signedPart("config", a1, page, "")},
			verdicts{config: "agent_ticket"}, "config: invalid signature: signed with the agent ticket of agent 1000002"},
		{"agentConfig signed with the corp ticket", map[string]any{"url": page, "agentConfig": signedPart("agentConfig", corp, page, testAgentID)},
			verdicts{agent: "corp_ticket"}, "agentConfig: invalid signature: signed with the corp ticket (get_jsapi_ticket)"},
		{"both swapped", map[string]any{"url": page, "config": signedPart("config", a1, page, ""),
			"agentConfig": signedPart("agentConfig", corp, page, testAgentID)}, verdicts{"agent_ticket", "corp_ticket"},
			"config: invalid signature: signed with the agent ticket of agent 1000002 (ticket/get?type=agent_config); wx.config needs the corp ticket (get_jsapi_ticket); " +
				"agentConfig: invalid signature: signed with the corp ticket (get_jsapi_ticket); wx.agentConfig needs the agent ticket of agent 1000002 (ticket/get?type=agent_config)"},
		{"one of two wrong", map[string]any{"url": page, "config": okConfig, "agentConfig": signedPart("agentConfig", a1, page+"&y", testAgentID)},
			verdicts{"ok", "invalid_signature"}, "agentConfig: invalid signature"},
		{"another agent's ticket", map[string]any{"url": page, "agentConfig": signedPart("agentConfig", a2, page, testAgentID)},
			verdicts{agent: "other_agent_ticket"}, "signed with the agent ticket of agent 1000003, not of agent 1000002"},
		{"the Official Account's ticket", map[string]any{"url": page, "config": signedPart("config", oa, page, "")},
			verdicts{config: "official_account_ticket"}, "signed with the Official Account's jsapi ticket"},
		{"a fragment", map[string]any{"url": page + "#frag", "config": okConfig}, verdicts{config: "fragment"}, verifyFragment},
		{"no url", map[string]any{"config": okConfig}, verdicts{config: "missing_url"}, verifyMissingURL},
		{"signed for another URL", map[string]any{"url": "https://app.example/wecom/index.html", "config": okConfig},
			verdicts{config: "invalid_signature"}, "config: invalid signature"},
		{"wrong corp ID", map[string]any{"url": page, "config": with(okConfig, "appId", "ww-other")}, verdicts{config: "invalid_corpid"}, "invalid corpid"},
		{"the app ID as corp ID", map[string]any{"url": page, "agentConfig": with(okAgent, "corpid", h.AppID)},
			verdicts{agent: "invalid_corpid"}, "is the Official Account's app ID"},
		{"no agentid", map[string]any{"url": page, "agentConfig": with(okAgent, "agentid", nil)}, verdicts{agent: "missing_agentid"}, "missing agentid"},
		{"unknown agentid", map[string]any{"url": page, "agentConfig": with(okAgent, "agentid", "42")}, verdicts{agent: "invalid_agentid"},
			"invalid agentid: 42 is not an agent of this corp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := wecomVerify(t, h, mustJSON(t, tc.body))
			got := verdicts{config: verdictOf(r.Config), agent: verdictOf(r.AgentConfig)}
			if got != tc.want {
				t.Fatalf("verdicts %+v, want %+v (%+v)", got, tc.want, r)
			}
			wantOK := (tc.want.config == "" || tc.want.config == "ok") && (tc.want.agent == "" || tc.want.agent == "ok")
			if r.OK != wantOK || (tc.inError == "") != (r.ErrMsg == "") || !strings.Contains(r.ErrMsg, tc.inError) {
				t.Fatalf("ok %v errmsg %q, want %v with %q", r.OK, r.ErrMsg, wantOK, tc.inError)
			}
			for _, secret := range []string{corp, a1, a2, oa} {
				if strings.Contains(mustJSON(t, r), secret) {
					t.Fatal("the answer reveals a ticket")
				}
			}
		})
	}
}

func verdictOf(c *wecomCheck) string {
	switch {
	case c == nil:
		return ""
	case c.OK:
		return "ok"
	}
	return c.Reason
}

// TestWeComVerifyNoTicket checks what a signature is told before any
// ticket of the needed kind is issued, and after it expired.
func TestWeComVerifyNoTicket(t *testing.T) {
	h, clk := newWeComTestHandler(t)
	const page = "https://app.example/"
	body := func(kind, ticket string) string {
		return mustJSON(t, map[string]any{"url": page, kind: signedPart(kind, ticket, page, testAgentID)})
	}
	r := wecomVerify(t, h, body("config", "made-up"))
	if r.OK || r.Config.Reason != "no_ticket" || r.ErrMsg != "config: no ticket issued: no valid corp ticket (get_jsapi_ticket)" {
		t.Fatalf("%+v", r)
	}
	token := wecomToken(t, h, testAgentSecret)
	corp := corpTicket(t, h, token)
	r = wecomVerify(t, h, body("agentConfig", corp))
	if r.AgentConfig.Reason != "corp_ticket" {
		t.Fatalf("corp ticket for agentConfig before any agent ticket: %+v", r.AgentConfig)
	}
	r = wecomVerify(t, h, body("agentConfig", "made-up"))
	if r.AgentConfig.Reason != "no_ticket" || !strings.Contains(r.ErrMsg, "no valid agent ticket of agent 1000002") {
		t.Fatalf("%+v", r)
	}
	clk.advance(2 * time.Hour)
	if r = wecomVerify(t, h, body("config", corp)); r.Config.Reason != "no_ticket" {
		t.Fatalf("an expired corp ticket: %+v", r.Config)
	}
}

func TestWeComVerifyRequests(t *testing.T) {
	h, _ := newWeComTestHandler(t)
	h.AllowOrigins = []string{"http://site.test"}
	for _, tc := range []struct {
		name, method, body string
		status             int
		inBody             string
	}{
		{"GET", http.MethodGet, "", http.StatusMethodNotAllowed, "method not allowed"},
		{"malformed", http.MethodPost, "{", http.StatusBadRequest, "malformed JSON body"},
		{"nothing to check", http.MethodPost, `{"url":"https://a.example/"}`, http.StatusBadRequest, "config or agentConfig is required"},
		{"a check", http.MethodPost, `{"url":"https://a.example/","config":{}}`, http.StatusOK, `"ok":false`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, pathWeComVerify, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "text/plain")
			req.Header.Set("Origin", "http://site.test")
			rec := serveReq(t, h, req)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.inBody) {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "http://site.test" {
				t.Errorf("Access-Control-Allow-Origin %q: the stubs' check must be readable by allow_origin pages", got)
			}
		})
	}
	req := httptest.NewRequest(http.MethodPost, pathWeComVerify, strings.NewReader(`{"config":{}}`))
	req.Header.Set("Origin", "http://evil.test")
	if got := serveReq(t, h, req).Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("another origin gets Access-Control-Allow-Origin %q", got)
	}
	if st := h.wecomStats(); st.Verify != 5 {
		t.Errorf("verify count %d, want 5", st.Verify)
	}
}

// TestVerifyTakesWeComConfig checks that WeChat's /sandbox/verify, which
// the stub jweixin calls, checks a WeCom wx.config (appId the corp ID)
// against the corp ticket.
func TestVerifyTakesWeComConfig(t *testing.T) {
	h, _ := newWeComTestHandler(t)
	const page = "https://app.example/p"
	token := wecomToken(t, h, testAgentSecret)
	corp, agent := corpTicket(t, h, token), agentTicket(t, h, token)
	post := func(ticket string) controlReply {
		b, _ := json.Marshal(verifyRequest{AppID: testCorpID, Timestamp: "1", NonceStr: "n", Signature: jsapiSignature(ticket, "n", "1", page), URL: page})
		return decode[controlReply](t, serve(t, h, http.MethodPost, pathVerify, string(b)))
	}
	if r := post(corp); !r.OK {
		t.Fatalf("corp ticket: %+v", r)
	}
	if r := post(agent); r.OK || !strings.HasPrefix(r.ErrMsg, "invalid signature: signed with the agent ticket of agent 1000002") {
		t.Fatalf("agent ticket: %+v", r)
	}
}
