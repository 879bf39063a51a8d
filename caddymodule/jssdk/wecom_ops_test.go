package jssdk

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// weComAppsIn decodes the admin listing and returns the WeCom entries of
// corpID.
func weComAppsIn(t *testing.T, body []byte, corpID string) []weComStatus {
	t.Helper()
	var all []json.RawMessage
	if err := json.Unmarshal(body, &all); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	var out []weComStatus
	for _, raw := range all {
		var id struct {
			CorpID string `json:"corp_id"`
		}
		if err := json.Unmarshal(raw, &id); err != nil || id.CorpID != corpID {
			continue
		}
		var s weComStatus
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			t.Errorf("WeCom entry %s: %v", raw, err)
		}
		out = append(out, s)
	}
	return out
}

func TestWeComAdminAPI(t *testing.T) {
	const corpID = "wwadmin0000000001"
	const secret = "wecom-admin-secret-1f2e"
	t.Setenv("JSSDK_TEST_CORP_SECRET", secret)
	api := newFakeWeComAPI(corpID, secret)
	srv := newWeComAPIServer(t, api)
	h := &Handler{CorpID: corpID, AgentID: "1000010", CorpSecret: "{env.JSSDK_TEST_CORP_SECRET}", APIBase: srv.URL,
		AgentTicketBudget: 2}
	provision(t, h)
	defer h.Cleanup()
	oa := &fakeWeChat{appID: "wxadminmixed00001", secret: secret}
	oaSrv := httptest.NewServer(oa)
	defer oaSrv.Close()
	t.Setenv("JSSDK_TEST_APP_SECRET", secret)
	o := &Handler{AppID: oa.appID, AppSecret: "{env.JSSDK_TEST_APP_SECRET}", APIBase: oaSrv.URL}
	provision(t, o)
	defer o.Cleanup()
	servePage(t, h)
	servePage(t, o)

	var bodies strings.Builder
	list := mustList(t)
	bodies.Write(list)
	if got := appsIn(t, list, oa.appID); len(got) != 1 || got[0].Calls["stable_token"]["ok"] != 1 {
		t.Errorf("the Official Account's entry: %+v", got)
	}
	apps := weComAppsIn(t, list, corpID)
	if len(apps) != 1 {
		t.Fatalf("WeCom entries %+v in %s", apps, list)
	}
	a := apps[0]
	if a.AgentID != "1000010" || a.Source != "wecom" || a.TokenExpiresAt == nil || a.Shared != nil ||
		a.Calls["gettoken"]["ok"] != 1 || a.Calls["get_jsapi_ticket"]["ok"] != 1 || a.Calls["ticket_get_agent_config"]["ok"] != 1 ||
		a.CorpTicket.ExpiresAt == nil || a.AgentTicket.ExpiresAt == nil ||
		a.CorpTicket.BudgetPerHour != 20 || a.AgentTicket.BudgetPerHour != 2 ||
		a.CorpTicket.CallsLastHour != 1 || a.AgentTicket.CallsLastHour != 1 || a.AgentTicket.BudgetRefusals != 0 {
		t.Errorf("listing %+v", a)
	}

	// a budget refusal shows: a retry may use half the budget (1 of 2),
	// and the warm-up used it
	h.ConfigEndpoint = weComEndpoint
	code, body := endpointCall(t, h, "http://example.com/x", "&retry=agent")
	bodies.WriteString(body)
	code2, body2 := endpointCall(t, h, "http://example.com/x", "&retry=agent")
	bodies.WriteString(body2)
	if code != http.StatusOK || code2 != http.StatusOK {
		t.Fatalf("endpoint %d %d", code, code2)
	}
	a = weComAppsIn(t, mustList(t), corpID)[0]
	if a.AgentTicket.BudgetRefusals == 0 || a.Calls["ticket_get_agent_config"]["ok"] != 1 {
		t.Errorf("after retries over budget: %+v", a.AgentTicket)
	}

	// a refresh may use the whole budget (2 an hour): it takes the second
	rec, status := adminCall(t, http.MethodPost, "/wechat_jssdk/refresh?corp_id="+corpID+"&agent_id=1000010")
	bodies.Write(rec.Body.Bytes())
	if got := weComAppsIn(t, rec.Body.Bytes(), corpID); status != 0 || len(got) != 1 ||
		got[0].AgentTicket.CallsLastHour != 2 || got[0].Calls["ticket_get_agent_config"]["ok"] != 2 {
		t.Errorf("refresh: %d %s", status, rec.Body)
	}
	rec, status = adminCall(t, http.MethodPost, "/wechat_jssdk/refresh?corp_id="+corpID)
	bodies.Write(rec.Body.Bytes())
	if status != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("a second refresh: %d %s", status, rec.Body)
	}
	for _, tt := range []struct {
		target string
		status int
		want   string
	}{
		{"/wechat_jssdk/refresh?corp_id=wwnobody000000001", http.StatusNotFound, "not in use"},
		{"/wechat_jssdk/refresh?corp_id=" + corpID + "&agent_id=1", http.StatusNotFound, "not in use"},
		{"/wechat_jssdk/refresh", http.StatusBadRequest, "missing app_id"},
	} {
		rec, status := adminCall(t, http.MethodPost, tt.target)
		bodies.Write(rec.Body.Bytes())
		if status != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s: %d %s", tt.target, status, rec.Body)
		}
	}
	for _, s := range []string{secret, api.currentToken(), api.ticket("corp"), api.ticket("agent"), weComCanary} {
		if strings.Contains(bodies.String(), s) {
			t.Errorf("admin output contains a secret (%.16s…)", s)
		}
	}
}

func TestWeComAdminRefresh(t *testing.T) {
	const corpID = "wwadmin0000000002"
	t.Setenv("JSSDK_TEST_CORP_SECRET", "refresh-secret")
	api := newFakeWeComAPI(corpID, "refresh-secret")
	srv := newWeComAPIServer(t, api)
	h := &Handler{CorpID: corpID, AgentID: "1000011", CorpSecret: "{env.JSSDK_TEST_CORP_SECRET}", APIBase: srv.URL}
	provision(t, h)
	defer h.Cleanup()
	servePage(t, h)
	oldCorp, oldAgent := api.ticket("corp"), api.ticket("agent")
	rec, status := adminCall(t, http.MethodPost, "/wechat_jssdk/refresh?corp_id="+corpID)
	if status != 0 || rec.Code != http.StatusOK {
		t.Fatalf("refresh: %d %s", status, rec.Body)
	}
	got := weComAppsIn(t, rec.Body.Bytes(), corpID)
	if len(got) != 1 || got[0].Calls["get_jsapi_ticket"]["ok"] != 2 || got[0].Calls["ticket_get_agent_config"]["ok"] != 2 {
		t.Errorf("refresh answered %s", rec.Body)
	}
	if api.ticket("corp") == oldCorp || api.ticket("agent") == oldAgent {
		t.Error("the tickets were not fetched again")
	}
	checkWeComPage(t, servePage(t, h), api, "http://example.com/pay/?id=1")
	rec, status = adminCall(t, http.MethodPost, "/wechat_jssdk/refresh?corp_id="+corpID)
	if status != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "next one is allowed") {
		t.Errorf("refresh too soon: %d %s", status, rec.Body)
	}
}

func TestWeComMetrics(t *testing.T) {
	const corpID = "wwmetrics00000001"
	const secret = "wecom-metrics-secret"
	t.Setenv("JSSDK_TEST_CORP_SECRET", secret)
	api := newFakeWeComAPI(corpID, secret)
	srv := newWeComAPIServer(t, api)
	h := &Handler{CorpID: corpID, AgentID: "1000012", CorpSecret: "{env.JSSDK_TEST_CORP_SECRET}", APIBase: srv.URL,
		AgentTicketBudget: 1, ConfigEndpoint: weComEndpoint}
	provision(t, h)
	defer h.Cleanup()
	servePage(t, h)
	endpointCall(t, h, "http://example.com/m", "&retry=agent") // over the budget: refused

	reg := prometheus.NewPedanticRegistry()
	if err := registerMetrics(reg); err != nil {
		t.Fatal(err)
	}
	app := corpID + "/1000012"
	samples, families := gatherText(t, reg, app)
	for name, want := range map[string]float64{
		`caddy_wechat_api_calls_total{app_id=` + app + `,endpoint=gettoken,result=ok}`:                1,
		`caddy_wechat_api_calls_total{app_id=` + app + `,endpoint=get_jsapi_ticket,result=ok}`:        1,
		`caddy_wechat_api_calls_total{app_id=` + app + `,endpoint=ticket_get_agent_config,result=ok}`: 1,
		`caddy_wechat_api_calls_total{app_id=` + app + `,endpoint=gettoken,result=config}`:            0,
		`caddy_wechat_ticket_budget_per_hour{app_id=` + app + `,ticket=corp}`:                         20,
		`caddy_wechat_ticket_budget_per_hour{app_id=` + app + `,ticket=agent}`:                        1,
		`caddy_wechat_ticket_calls_last_hour{app_id=` + app + `,ticket=corp}`:                         1,
		`caddy_wechat_ticket_calls_last_hour{app_id=` + app + `,ticket=agent}`:                        1,
		`caddy_wechat_ticket_budget_refusals_total{app_id=` + app + `,ticket=corp}`:                   0,
		`caddy_wechat_ticket_budget_refusals_total{app_id=` + app + `,ticket=agent}`:                  1,
		`caddy_wechat_tickets_served_stale_total{app_id=` + app + `}`:                                 0,
	} {
		if got, ok := samples[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	for _, cred := range []string{"token", "corp_ticket", "agent_ticket"} {
		v := samples[`caddy_wechat_credential_expiry_seconds{app_id=`+app+`,credential=`+cred+`}`]
		if v < 7100 || v > 7200 {
			t.Errorf("%s expiry = %v s, want about 7200", cred, v)
		}
	}
	for name := range samples {
		for _, s := range []string{secret, weComCanary} {
			if strings.Contains(name, s) {
				t.Errorf("metric %s carries a secret", name)
			}
		}
	}
	var ours []*dto.MetricFamily
	for _, mf := range families {
		if strings.HasPrefix(mf.GetName(), "caddy_wechat_") {
			ours = append(ours, mf)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(ours).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	// An Official Account gets no budget series.
	for name := range samples {
		if strings.Contains(name, "budget") && !strings.Contains(name, app) {
			t.Errorf("budget series for another app: %s", name)
		}
	}
}

// TestWeComSecretsNeverLogged: at DEBUG, through success, a rejected
// token, a refused secret, an unreachable API and a refused ticket, no log
// entry, endpoint answer or page carries the secret, a token or a ticket.
func TestWeComSecretsNeverLogged(t *testing.T) {
	const secret = "wecom-leak-canary-secret-77"
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core)
	var out strings.Builder
	var seen []string // every token and ticket handed out
	run := func(api *fakeWeComAPI, apiBase, secretGiven string, pages int) {
		h := weComHandler(t, apiBase, api.corpID, "1000013", secretGiven, logger, nil, func(h *Handler) {
			h.ConfigEndpoint = weComEndpoint
			h.Timeout = caddy.Duration(2 * time.Second)
		})
		for range pages {
			out.WriteString(weComPage(t, h, "/leak").body.String())
		}
		_, body := endpointCall(t, h, "http://example.com/leak", "&retry=config,agent")
		out.WriteString(body)
		seen = append(seen, api.currentToken(), api.ticket("corp"), api.ticket("agent"))
	}
	ok := newFakeWeComAPI("wwleak00000000001", secret)
	okSrv := newWeComAPIServer(t, ok)
	run(ok, okSrv.URL, secret, 2)
	rejected := newFakeWeComAPI("wwleak00000000002", secret)
	rejected.corpFault.Store(1)
	rejected.agentFault.Store(1)
	run(rejected, newWeComAPIServer(t, rejected).URL, secret, 1)
	refused := newFakeWeComAPI("wwleak00000000003", "another-secret")
	run(refused, newWeComAPIServer(t, refused).URL, secret, 1)
	run(ok, "http://127.0.0.1:1", secret, 1)
	down := newFakeWeComAPI("wwleak00000000004", secret)
	down.agentDown.Store(true)
	run(down, newWeComAPIServer(t, down).URL, secret, 1)

	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	var logText strings.Builder
	for _, e := range logs.All() {
		buf, err := enc.EncodeEntry(e.Entry, e.Context)
		if err != nil {
			t.Fatal(err)
		}
		logText.Write(buf.Bytes())
	}
	if !strings.Contains(logText.String(), "40001") || !strings.Contains(logText.String(), "48002") {
		t.Fatalf("the failures were not logged; the test proves nothing:\n%s", logText.String())
	}
	if !strings.Contains(out.String(), `"agentConfig"`) {
		t.Fatal("nothing was signed; the test proves nothing")
	}
	for what, hay := range map[string]string{"logs": logText.String(), "answers": out.String()} {
		for _, s := range append([]string{secret, weComCanary + "-token"}, seen...) {
			if s != "" && strings.Contains(hay, s) {
				t.Errorf("%s contain a secret (%.20s…)", what, s)
			}
		}
		if strings.Contains(hay, weComCanary) {
			t.Errorf("%s contain a credential", what)
		}
	}
}
