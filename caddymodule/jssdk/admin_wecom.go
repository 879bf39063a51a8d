package jssdk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-wechat/jssdk/caddymodule/credential"
)

// The endpoint labels of a WeCom app's calls, in the admin API and the
// metrics: its token, the corp ticket and the agent_config ticket.
const (
	endpointWeComToken       = "gettoken"
	endpointWeComCorpTicket  = "get_jsapi_ticket"
	endpointWeComAgentTicket = "ticket_get_agent_config"
)

// weComStatus is one WeCom app in the listing: its token and each of its
// tickets, never a value of them.
type weComStatus struct {
	CorpID         string               `json:"corp_id"`
	AgentID        string               `json:"agent_id"`
	Source         string               `json:"source"` // "wecom"
	Storage        string               `json:"storage,omitempty"`
	TokenExpiresAt *time.Time           `json:"token_expires_at"`
	CorpTicket     weComTicketStatus    `json:"corp_ticket"`
	AgentTicket    weComTicketStatus    `json:"agent_ticket"`
	Calls          map[string]callCount `json:"calls"`
	// Shared is the token's L2 record and lock; each ticket has its own.
	Shared *sharedStatus `json:"shared,omitempty"`
}

// weComTicketStatus is one ticket store of a WeCom app.
type weComTicketStatus struct {
	ExpiresAt    *time.Time   `json:"expires_at"`
	BackoffUntil *time.Time   `json:"backoff_until,omitempty"`
	LastError    *errorStatus `json:"last_error"`
	ServedStale  uint64       `json:"served_stale"`
	// BudgetPerHour is the most calls the store makes in any hour;
	// CallsLastHour those it made; BudgetRefusals the calls it refused
	// to make because of the budget.
	BudgetPerHour  int           `json:"budget_per_hour"`
	CallsLastHour  int           `json:"calls_last_hour"`
	BudgetRefusals uint64        `json:"budget_refusals"`
	Shared         *sharedStatus `json:"shared,omitempty"`
}

func listWeComs(entries []*weComEntry) []weComStatus {
	out := make([]weComStatus, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.status())
	}
	slices.SortFunc(out, func(a, b weComStatus) int {
		return cmp.Or(cmp.Compare(a.CorpID, b.CorpID), cmp.Compare(a.AgentID, b.AgentID))
	})
	return out
}

func (e *weComEntry) status() weComStatus {
	tok := e.wecom.TokenStats()
	corp, agent := e.wecom.Corp.Stats(), e.wecom.Agent.Stats()
	s := weComStatus{
		CorpID:         e.corpID,
		AgentID:        e.agentID,
		Source:         "wecom",
		TokenExpiresAt: timeOrNil(tok.ExpiresAt),
		CorpTicket:     ticketStatus(corp),
		AgentTicket:    ticketStatus(agent),
		Calls: map[string]callCount{
			endpointWeComToken:       classCounts(tok.Calls),
			endpointWeComCorpTicket:  classCounts(corp.TicketCalls),
			endpointWeComAgentTicket: classCounts(agent.TicketCalls),
		},
		Shared: sharedStatusOf(tok.Shared),
	}
	if e.shared != nil {
		s.Storage = e.shared.kind()
	}
	return s
}

func ticketStatus(st credential.Stats) weComTicketStatus {
	t := weComTicketStatus{
		ExpiresAt:      timeOrNil(st.TicketExpiresAt),
		BackoffUntil:   timeOrNil(st.BackoffUntil),
		ServedStale:    st.ServedStale,
		BudgetPerHour:  st.TicketBudget,
		CallsLastHour:  st.TicketCallsLastHour,
		BudgetRefusals: st.BudgetRefusals,
		Shared:         sharedStatusOf(st.Shared),
	}
	if st.LastError != "" {
		t.LastError = &errorStatus{Message: st.LastError, Class: st.LastErrorClass.String(), At: st.LastErrorAt}
	}
	return t
}

// sharedStatusOf is the listing's view of L2 counters; nil without an L2.
func sharedStatusOf(sh *credential.SharedStats) *sharedStatus {
	if sh == nil {
		return nil
	}
	s := &sharedStatus{
		Hits: sh.Hits, Misses: sh.Misses, LocksAcquired: sh.LocksAcquired, LockTimeouts: sh.LockTimeouts,
		LockWaitSeconds: math.Round(sh.LockWait.Seconds()*1000) / 1000,
		Errors:          sh.Errors,
	}
	if sh.LastError != "" {
		s.LastError = &errorStatus{Message: sh.LastError, At: sh.LastErrorAt}
	}
	return s
}

// refreshWeCom forces a refresh of the token and both tickets of every
// WeCom app of the corp_id the query names (of its agent_id only, when
// given). The two ticket stores refresh side by side, so that they share
// the token fetch.
func refreshWeCom(w http.ResponseWriter, r *http.Request) error {
	corpID, agentID := r.URL.Query().Get("corp_id"), r.URL.Query().Get("agent_id")
	var matched []*weComEntry
	for _, e := range liveWeComs() {
		if e.corpID == corpID && (agentID == "" || e.agentID == agentID) {
			matched = append(matched, e)
		}
	}
	if len(matched) == 0 {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("WeCom app corp_id %q agent_id %q is not in use", corpID, agentID)}
	}
	ctx, cancel := context.WithTimeout(r.Context(), adminRefreshTimeout)
	defer cancel()
	for _, e := range matched {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, st := range []*credential.Store{e.wecom.Corp, e.wecom.Agent} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = st.Refresh(ctx)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err == nil {
				continue
			}
			var limited *credential.RefreshLimitedError
			var budget *credential.BudgetError
			switch {
			case errors.As(err, &limited):
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(limited.RetryAfter.Seconds()))))
				return caddy.APIError{HTTPStatus: http.StatusTooManyRequests, Err: err}
			case errors.As(err, &budget):
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(budget.RetryAfter.Seconds()))))
				return caddy.APIError{HTTPStatus: http.StatusTooManyRequests, Err: err}
			}
			what := weComCorpTicket
			if i == 1 {
				what = weComAgentTicket
			}
			return caddy.APIError{HTTPStatus: http.StatusBadGateway, Err: fmt.Errorf("refreshing %s of %s/%s: %w", what, e.corpID, e.agentID, err)}
		}
	}
	return writeAdminJSON(w, http.StatusOK, listWeComs(matched))
}
