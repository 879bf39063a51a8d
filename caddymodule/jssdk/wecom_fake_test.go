package jssdk

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// fakeWeComAPI answers WeCom's gettoken, get_jsapi_ticket and
// ticket/get?type=agent_config for one corp, like WeCom: gettoken hands
// back the same token while it is valid, a ticket call with a token that
// is not the current one answers 40014. It counts every call. Its tokens
// and tickets carry a canary so that a test can look for them where they
// must not be.
type fakeWeComAPI struct {
	corpID, secret string

	tokenCalls, corpCalls, agentCalls atomic.Int32
	// corpFault and agentFault make the next calls of that ticket answer
	// 40014 and invalidate the token, as when WeCom dropped it.
	corpFault, agentFault atomic.Int32
	// corpDown and agentDown make every call of that ticket answer errcode
	// 48002 (the app may not call the API): a configuration error.
	corpDown, agentDown atomic.Bool
	// hold, when set, holds every call until closed.
	hold chan struct{}

	mu      sync.Mutex
	tokenN  int
	token   string // the valid token; "" after an invalidation
	tickets map[string]string
	ticketN int
}

const weComCanary = "wecom-canary"

func newFakeWeComAPI(corpID, secret string) *fakeWeComAPI {
	return &fakeWeComAPI{corpID: corpID, secret: secret, tickets: map[string]string{}}
}

// ticket returns the last ticket of kind ("corp", or "agent-<agent_id>").
func (f *fakeWeComAPI) ticket(kind string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tickets[kind]
}

// currentToken is the token WeCom accepts now.
func (f *fakeWeComAPI) currentToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.token
}

func (f *fakeWeComAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.hold != nil {
		<-f.hold
	}
	w.Header().Set("Content-Type", "application/json")
	q := r.URL.Query()
	reply := func(v map[string]any) { _ = json.NewEncoder(w).Encode(v) }
	switch r.URL.Path {
	case "/cgi-bin/gettoken":
		f.tokenCalls.Add(1)
		if q.Get("corpid") != f.corpID {
			reply(map[string]any{"errcode": 40013, "errmsg": "invalid corpid"})
			return
		}
		if q.Get("corpsecret") != f.secret {
			reply(map[string]any{"errcode": 40001, "errmsg": "invalid credential"})
			return
		}
		f.mu.Lock()
		if f.token == "" {
			f.tokenN++
			f.token = fmt.Sprintf("%s-token-%d-%s", weComCanary, f.tokenN, strings.Repeat("T", 60))
		}
		tok := f.token
		f.mu.Unlock()
		reply(map[string]any{"errcode": 0, "errmsg": "ok", "access_token": tok, "expires_in": 7200})
	case "/cgi-bin/get_jsapi_ticket", "/cgi-bin/ticket/get":
		corp := r.URL.Path == "/cgi-bin/get_jsapi_ticket"
		fault, down, calls, kind := &f.agentFault, &f.agentDown, &f.agentCalls, "agent"
		if corp {
			fault, down, calls, kind = &f.corpFault, &f.corpDown, &f.corpCalls, "corp"
		} else if q.Get("type") != "agent_config" {
			reply(map[string]any{"errcode": 40004, "errmsg": "invalid type"})
			return
		}
		calls.Add(1)
		f.mu.Lock()
		defer f.mu.Unlock()
		if fault.Add(-1) >= 0 {
			f.token = "" // WeCom dropped it: the next gettoken hands out another
			reply(map[string]any{"errcode": 40014, "errmsg": "invalid access_token"})
			return
		}
		if down.Load() {
			reply(map[string]any{"errcode": 48002, "errmsg": "api forbidden"})
			return
		}
		if tok := q.Get("access_token"); tok == "" || tok != f.token {
			reply(map[string]any{"errcode": 40014, "errmsg": "invalid access_token"})
			return
		}
		f.ticketN++
		t := fmt.Sprintf("%s-%s-ticket-%d-%s", weComCanary, kind, f.ticketN, strings.Repeat("K", 50))
		f.tickets[kind] = t
		reply(map[string]any{"errcode": 0, "errmsg": "ok", "ticket": t, "expires_in": 7200})
	default:
		http.NotFound(w, r)
	}
}

// counts is the fake's calls: token, corp ticket, agent ticket.
func (f *fakeWeComAPI) counts() [3]int32 {
	return [3]int32{f.tokenCalls.Load(), f.corpCalls.Load(), f.agentCalls.Load()}
}

// newWeComAPIServer starts f on a test server.
func newWeComAPIServer(t testing.TB, f *fakeWeComAPI) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

// weComHandler builds a WeCom Handler as Provision would, over a store of
// its own (not the process's pool), so that a test chooses its logger and
// storage and two handlers can stand for two instances. The secret is
// given resolved.
func weComHandler(t testing.TB, apiBase, corpID, agentID, secret string, logger *zap.Logger, storage certmagic.Storage, modify func(h *Handler)) *Handler {
	t.Helper()
	if logger == nil {
		logger = zap.NewNop()
	}
	h := &Handler{CorpID: corpID, AgentID: agentID, CorpSecret: "{env.WECOM_SECRET}", APIBase: apiBase,
		Timeout: caddy.Duration(3 * time.Second)}
	if modify != nil {
		modify(h)
	}
	h.applyDefaults()
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	h.logger = logger
	if err := h.preparePages(); err != nil {
		t.Fatal(err)
	}
	e, err := newWeComEntry(weComParams{corpID: corpID, agentID: agentID, secret: secret, apiBase: h.APIBase,
		corpBudget: h.CorpTicketBudget, agentBudget: h.AgentTicketBudget,
		timeout: time.Duration(h.Timeout), logger: logger, storage: storage})
	if err != nil {
		t.Fatal(err)
	}
	if storage != nil {
		detach := e.shared.attach(storage)
		t.Cleanup(detach)
	}
	t.Cleanup(e.wecom.Close)
	h.pages.store, h.pages.agent = e.wecom.Corp, e.wecom.Agent
	return h
}

// weComPage serves one page at target through h and returns the recorder.
func weComPage(t testing.TB, h *Handler, target string) *recorder {
	t.Helper()
	rec := newRecorder()
	if err := h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil), nextHTML); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return rec
}
