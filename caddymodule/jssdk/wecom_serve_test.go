package jssdk

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

const weComEndpoint = "/.well-known/wechat-jssdk/config"

// weComBlockOf finds the one block of a page and decodes its JSON.
func weComBlockOf(t testing.TB, body string) weComConfig {
	t.Helper()
	rest, block, _ := splitBlock(t.(*testing.T), body)
	if rest != testPage {
		t.Errorf("page around the block differs:\n%q", rest)
	}
	m := weComBlockRE.FindStringSubmatch(block)
	if m == nil {
		t.Fatalf("block has not the expected shape:\n%s", block)
	}
	return parseWeComJSON(t, []byte(m[1]))
}

// checkWeComPage checks that rec is testPage with a WeCom block for
// pageURL, signed with api's current tickets.
func checkWeComPage(t *testing.T, rec *recorder, api *fakeWeComAPI, pageURL string) weComConfig {
	t.Helper()
	c := weComBlockOf(t, rec.body.String())
	checkWeComSignatures(t, c, pageURL, api.ticket("corp"), api.ticket("agent"))
	if c.AppID != api.corpID {
		t.Errorf("appId %q, want the corp ID", c.AppID)
	}
	return c
}

func wantCounts(t *testing.T, api *fakeWeComAPI, want [3]int32, what string) {
	t.Helper()
	if got := api.counts(); got != want {
		t.Errorf("%s: %d gettoken, %d get_jsapi_ticket, %d ticket/get calls, want %d, %d, %d",
			what, got[0], got[1], got[2], want[0], want[1], want[2])
	}
}

func TestWeComServeHTTP(t *testing.T) {
	api := newFakeWeComAPI("wwserve0000000001", "serve-secret")
	srv := newWeComAPIServer(t, api)
	h := weComHandler(t, srv.URL, api.corpID, "1000002", api.secret, nil, nil, nil)
	for i := range 3 {
		rec := weComPage(t, h, "/pay/?id=1")
		c := checkWeComPage(t, rec, api, "http://example.com/pay/?id=1")
		if c.AgentID != "1000002" || c.AgentConfig.AgentID != "1000002" {
			t.Errorf("page %d: agent IDs %q %q", i, c.AgentID, c.AgentConfig.AgentID)
		}
	}
	wantCounts(t, api, [3]int32{1, 1, 1}, "three pages")
}

// TestWeComColdConcurrent: a thousand pages on a cold cache cost one
// token, one corp-ticket and one agent-ticket call, and each page is
// signed with both tickets.
func TestWeComColdConcurrent(t *testing.T) {
	api := newFakeWeComAPI("wwcold00000000001", "cold-secret")
	api.hold = make(chan struct{})
	srv := newWeComAPIServer(t, api)
	h := weComHandler(t, srv.URL, api.corpID, "1000003", api.secret, nil, nil, func(h *Handler) {
		h.Timeout = 0 // the default, 5 s
	})
	const n = 1000
	recs := make([]*recorder, n)
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			started.Done()
			rec := newRecorder()
			_ = h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/p?n=1", nil), nextHTML)
			recs[i] = rec
		}()
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond) // most of them are waiting for WeCom now
	close(api.hold)
	done.Wait()
	wantCounts(t, api, [3]int32{1, 1, 1}, "1000 cold pages")
	for i, rec := range recs {
		c := weComBlockOf(t, rec.body.String())
		checkWeComSignatures(t, c, "http://example.com/p?n=1", api.ticket("corp"), api.ticket("agent"))
		if t.Failed() {
			t.Fatalf("page %d", i)
		}
	}
}

// TestWeComTwoInstancesShareStorage: two instances (two handlers in this
// process, each with its own token holder and ticket stores, on two
// file-system storages over one directory) hit by 500 cold pages each make
// one token, one corp-ticket and one agent-ticket call between them; a
// third instance started afterwards makes none.
func TestWeComTwoInstancesShareStorage(t *testing.T) {
	api := newFakeWeComAPI("wwshared000000001", "shared-secret")
	srv := newWeComAPIServer(t, api)
	dir := t.TempDir()
	slow := func(h *Handler) { h.Timeout = caddy.Duration(15 * time.Second) } // file locks are polled each second
	a := weComHandler(t, srv.URL, api.corpID, "1000004", api.secret, nil, &certmagic.FileStorage{Path: dir}, slow)
	b := weComHandler(t, srv.URL, api.corpID, "1000004", api.secret, nil, &certmagic.FileStorage{Path: dir}, slow)
	const n = 500
	var wg sync.WaitGroup
	bodies := make([]string, 2*n)
	for i := range 2 * n {
		h := a
		if i%2 == 1 {
			h = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := newRecorder()
			_ = h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/s", nil), nextHTML)
			bodies[i] = rec.body.String()
		}()
	}
	wg.Wait()
	wantCounts(t, api, [3]int32{1, 1, 1}, "two instances, 1000 cold pages")
	for i, body := range bodies {
		c := weComBlockOf(t, body)
		checkWeComSignatures(t, c, "http://example.com/s", api.ticket("corp"), api.ticket("agent"))
		if t.Failed() {
			t.Fatalf("page %d", i)
		}
	}
	c := weComHandler(t, srv.URL, api.corpID, "1000004", api.secret, nil, &certmagic.FileStorage{Path: dir}, slow)
	checkWeComPage(t, weComPage(t, c, "/s"), api, "http://example.com/s")
	wantCounts(t, api, [3]int32{1, 1, 1}, "a third instance")

	var files []string
	_ = filepath.Walk(filepath.Join(dir, "wechat_jssdk"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), api.secret) {
				t.Errorf("%s holds the secret", rel)
			}
		}
		return nil
	})
	p := weComParams{corpID: api.corpID, agentID: "1000004", secret: api.secret, apiBase: srv.URL}
	want := map[string]bool{
		weComSharedPrefix(p) + "/wecom_token":           true,
		weComSharedPrefix(p) + "/wecom_agent_ticket":    true,
		weComCorpSharedPrefix(p) + "/wecom_corp_ticket": true,
	}
	for _, f := range files {
		delete(want, f)
	}
	if len(want) > 0 {
		t.Errorf("L2 records %v, missing %v", files, want)
	}
}

// TestWeComInvalidTokenCostsOneRefetch: a 40014 on either ticket call
// costs one more token call, end to end through the handler, and the page
// is signed with good tickets.
func TestWeComInvalidTokenCostsOneRefetch(t *testing.T) {
	for _, which := range []string{"corp", "agent"} {
		t.Run(which, func(t *testing.T) {
			api := newFakeWeComAPI("wwinvalid00000001", "invalid-secret")
			fault := &api.corpFault
			if which == "agent" {
				fault = &api.agentFault
			}
			fault.Store(1)
			srv := newWeComAPIServer(t, api)
			h := weComHandler(t, srv.URL, api.corpID, "1000005", api.secret, nil, nil, nil)
			checkWeComPage(t, weComPage(t, h, "/i"), api, "http://example.com/i")
			got := api.counts()
			calls := map[string]int32{"corp": got[1], "agent": got[2]}
			if got[0] != 2 || calls[which] != 2 {
				t.Errorf("%d token and %d %s-ticket calls, want 2 and 2", got[0], calls[which], which)
			}
			for kind, n := range calls { // the other may have met the dropped token too
				if n < 1 || n > 2 {
					t.Errorf("%d %s-ticket calls", n, kind)
				}
			}
			// and it is over: more pages call nobody
			before := api.counts()
			checkWeComPage(t, weComPage(t, h, "/i"), api, "http://example.com/i")
			wantCounts(t, api, before, "the next page")
		})
	}
}

// TestWeComOnError: when either ticket cannot be had, on_error pass serves
// the page unmodified (counted, the cause logged once) and on_error fail
// answers 503.
func TestWeComOnError(t *testing.T) {
	for _, which := range []string{"corp", "agent"} {
		t.Run(which, func(t *testing.T) {
			api := newFakeWeComAPI("wwonerror00000001", "onerror-secret")
			if which == "corp" {
				api.corpDown.Store(true)
			} else {
				api.agentDown.Store(true)
			}
			srv := newWeComAPIServer(t, api)
			core, logs := observer.New(zapcore.DebugLevel)
			h := weComHandler(t, srv.URL, api.corpID, "1000006", api.secret, zap.New(core), nil, nil)
			passed := counterValue(t, passedNoTicket)
			for range 5 {
				rec := weComPage(t, h, "/e")
				if rec.body.String() != testPage || rec.statuses[len(rec.statuses)-1] != http.StatusOK {
					t.Fatalf("on_error pass: %v %q", rec.statuses, rec.body.String())
				}
			}
			if d := counterValue(t, passedNoTicket) - passed; d != 5 {
				t.Errorf("passed{no_ticket} grew by %v, want 5", d)
			}
			var failures []observer.LoggedEntry
			for _, e := range logs.All() {
				if e.Level >= zapcore.WarnLevel {
					failures = append(failures, e)
				}
			}
			if len(failures) != 1 || failures[0].ContextMap()["ticket"] != which || !strings.Contains(failures[0].ContextMap()["error"].(string), "48002") {
				t.Errorf("want the %s ticket's failure logged once, got %d entries: %+v", which, len(failures), failures)
			}

			fail := weComHandler(t, srv.URL, api.corpID, "1000006", api.secret, nil, nil, func(h *Handler) { h.OnError = "fail" })
			rec := newRecorder()
			err := fail.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/e", nil), nextHTML)
			var he caddyhttp.HandlerError
			if !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable || rec.body.Len() != 0 {
				t.Errorf("on_error fail: %v, body %q", err, rec.body.String())
			}
			if !strings.Contains(err.Error(), which) {
				t.Errorf("the error %q does not say which ticket", err)
			}
		})
	}
}

// endpointCall asks h's config endpoint for pageURL with the query extra.
func endpointCall(t *testing.T, h *Handler, pageURL, extra string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	target := weComEndpoint + "?url=" + url.QueryEscape(pageURL) + extra
	if err := h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil), failNext(t)); err != nil {
		t.Fatal(err)
	}
	return rec.Code, rec.Body.String()
}

func TestWeComConfigEndpoint(t *testing.T) {
	const page = "http://example.com/app/orders/1?x=%20#/frag"
	const signed = "http://example.com/app/orders/1?x=%20"
	withEndpoint := func(h *Handler) { h.ConfigEndpoint = weComEndpoint }
	tests := []struct {
		retry      string // the retry parameter; "-" for none
		corp, agnt int32  // ticket calls it adds after a warm page
	}{
		{"-", 0, 0},
		{"1", 1, 0},
		{"config", 1, 0},
		{"agent", 0, 1},
		{"config,agent", 1, 1},
		{"agent,config", 1, 1},
		{"bogus", 0, 0},
		{"", 0, 0},
	}
	for _, tt := range tests {
		t.Run("retry="+tt.retry, func(t *testing.T) {
			api := newFakeWeComAPI("wwendpoint0000001", "endpoint-secret")
			srv := newWeComAPIServer(t, api)
			h := weComHandler(t, srv.URL, api.corpID, "1000007", api.secret, nil, nil, withEndpoint)
			weComPage(t, h, "/app/") // warm
			extra := "&retry=" + tt.retry
			if tt.retry == "-" {
				extra = ""
			}
			code, body := endpointCall(t, h, page, extra)
			if code != http.StatusOK {
				t.Fatalf("%d %s", code, body)
			}
			c := parseWeComJSON(t, []byte(body))
			checkWeComSignatures(t, c, signed, api.ticket("corp"), api.ticket("agent"))
			wantCounts(t, api, [3]int32{1, 1 + tt.corp, 1 + tt.agnt}, "retry="+tt.retry)
		})
	}

	t.Run("503 names the missing ticket", func(t *testing.T) {
		api := newFakeWeComAPI("wwendpoint0000002", "endpoint-secret")
		api.agentDown.Store(true)
		srv := newWeComAPIServer(t, api)
		h := weComHandler(t, srv.URL, api.corpID, "1000007", api.secret, nil, nil, withEndpoint)
		code, body := endpointCall(t, h, page, "")
		if code != http.StatusServiceUnavailable || body != `{"error":"no ticket available: the agent_config ticket (wx.agentConfig)"}` {
			t.Errorf("%d %s", code, body)
		}
	})

	t.Run("an Official Account ignores retry=agent", func(t *testing.T) {
		src := &fakeSource{}
		h := newTestHandler(t, src, withEndpoint)
		for _, retry := range []string{"agent", "1", "config"} {
			code, body := endpointCall(t, h, page, "&retry="+retry)
			if code != http.StatusOK || strings.Contains(body, "agentConfig") {
				t.Fatalf("%d %s", code, body)
			}
		}
		// agent: nothing; 1: a refetch; config: within 5 s of it, refused
		if n := src.ticketCalls.Load(); n != 2 {
			t.Errorf("%d ticket calls, want 2", n)
		}
	})
}

// TestWeComProvision: through Provision and the process's pool, a WeCom
// app's stores are shared by its sites and across a reload, the pool key
// does not carry the secret, another secret or budget is another store,
// and the Official Account pool never sees it.
func TestWeComProvision(t *testing.T) {
	const corpID = "wwprovision000001"
	t.Setenv("JSSDK_TEST_CORP_SECRET", "provision-secret")
	api := newFakeWeComAPI(corpID, "provision-secret")
	srv := newWeComAPIServer(t, api)
	config := func() *Handler {
		return &Handler{CorpID: corpID, AgentID: "1000008", CorpSecret: "{env.JSSDK_TEST_CORP_SECRET}", APIBase: srv.URL}
	}
	old := config()
	provision(t, old)
	checkWeComPage(t, servePage(t, old), api, "http://example.com/pay/?id=1")
	if !strings.HasPrefix(old.poolKey, "wecom|"+corpID+"|1000008|") || strings.Contains(old.poolKey, "provision-secret") {
		t.Errorf("pool key %q", old.poolKey)
	}
	if _, ok := stores.References(old.poolKey); ok {
		t.Error("a WeCom app is in the Official Account pool")
	}

	reloaded := config()
	provision(t, reloaded)
	if reloaded.pages.store != old.pages.store || reloaded.pages.agent != old.pages.agent {
		t.Error("a reload got new stores")
	}
	if err := old.Cleanup(); err != nil {
		t.Fatal(err)
	}
	checkWeComPage(t, servePage(t, reloaded), api, "http://example.com/pay/?id=1")
	wantCounts(t, api, [3]int32{1, 1, 1}, "across a reload")

	budget := config()
	budget.AgentTicketBudget = 5
	provision(t, budget)
	if budget.pages.agent == reloaded.pages.agent {
		t.Error("another budget reused the stores")
	}
	if st := budget.pages.agent.Stats(); st.TicketBudget != 5 {
		t.Errorf("agent budget %d, want 5", st.TicketBudget)
	}
	if st := reloaded.pages.store.Stats(); st.TicketBudget != 20 {
		t.Errorf("default corp budget %d, want 20", st.TicketBudget)
	}
	t.Setenv("JSSDK_TEST_CORP_SECRET", "rotated-secret")
	rotated := config()
	provision(t, rotated)
	if rotated.pages.store == reloaded.pages.store {
		t.Error("a changed secret reused the stores")
	}
	for _, h := range []*Handler{reloaded, budget, rotated} {
		if err := h.Cleanup(); err != nil {
			t.Fatal(err)
		}
		if err := h.Cleanup(); err != nil {
			t.Fatalf("second Cleanup: %v", err)
		}
	}
	if _, ok := weComStores.References(reloaded.poolKey); ok {
		t.Error("the stores outlived their last user")
	}
}

func TestWeComProvisionErrors(t *testing.T) {
	h := Handler{CorpID: testCorpID, AgentID: testAgentID, CorpSecret: "{env.JSSDK_TEST_UNSET_4243}"}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	err := h.Provision(ctx)
	if err == nil || !strings.Contains(err.Error(), "wechat_jssdk: corp_secret") {
		t.Fatalf("Provision = %v", err)
	}
	if h.poolKey != "" {
		t.Error("a failed Provision holds stores")
	}
}

// TestWeComDirectiveStorage: with the directive's storage, a restarted
// app (its stores destroyed and created again) reads the L2 and calls
// nobody.
func TestWeComDirectiveStorage(t *testing.T) {
	const corpID = "wwrestart00000001"
	t.Setenv("JSSDK_TEST_CORP_SECRET", "restart-secret")
	api := newFakeWeComAPI(corpID, "restart-secret")
	srv := newWeComAPIServer(t, api)
	raw, _ := json.Marshal(map[string]string{"module": "file_system", "root": t.TempDir()})
	config := func() *Handler {
		return &Handler{CorpID: corpID, AgentID: "1000009", CorpSecret: "{env.JSSDK_TEST_CORP_SECRET}", APIBase: srv.URL, StorageRaw: raw}
	}
	first := config()
	provision(t, first)
	checkWeComPage(t, servePage(t, first), api, "http://example.com/pay/?id=1")
	if err := first.Cleanup(); err != nil {
		t.Fatal(err)
	}
	restarted := config()
	provision(t, restarted)
	defer restarted.Cleanup()
	if restarted.pages.store == first.pages.store {
		t.Fatal("not new stores")
	}
	checkWeComPage(t, servePage(t, restarted), api, "http://example.com/pay/?id=1")
	wantCounts(t, api, [3]int32{1, 1, 1}, "across a restart")
}
