package sandbox

import (
	"maps"
	"slices"
	"time"
)

// WeCom's hourly limits on ticket fetches: a corp may fetch tickets, of
// both kinds together, at most 400 times an hour, and each app at most 100
// (WeCom's JS-SDK documentation: "一小时内，一个企业最多可获取400次，且单个
// 应用不能超过100次"). Beyond them a fetch answers 45009.
const (
	wecomCorpTicketQuota  = 400
	wecomAgentTicketQuota = 100
	wecomQuotaWindow      = time.Hour
)

// wecomCred is an issued WeCom token or ticket: the agent it belongs to
// ("" for the corp ticket, which any app's token fetches) and its expiry.
type wecomCred struct {
	agent string
	exp   time.Time
}

// wecomFetch is one ticket fetch, for the hourly limits.
type wecomFetch struct {
	at    time.Time
	agent string
}

// wecomCounts counts calls to the WeCom endpoints. Its JSON form is part
// of /sandbox/stats.
type wecomCounts struct {
	GetToken    int64 `json:"gettoken"`
	CorpTicket  int64 `json:"get_jsapi_ticket"`
	AgentTicket int64 `json:"agent_ticket"`
	GetUserInfo int64 `json:"getuserinfo"`
}

func (c *wecomCounts) add(ep endpoint) {
	switch ep {
	case endpointWeComToken:
		c.GetToken++
	case endpointWeComCorpTicket:
		c.CorpTicket++
	case endpointWeComAgentTicket:
		c.AgentTicket++
	case endpointWeComUserInfo:
		c.GetUserInfo++
	}
}

// wecomStats is the "wecom" object of /sandbox/stats: the corp's calls
// per endpoint, failed and faulted ones included; the verify checks; and
// the calls per agent, for the calls whose agent is known (by the secret of
// gettoken, by the access token of the others; a call with a token the
// sandbox never issued counts for the corp only).
type wecomStats struct {
	CorpID string `json:"corp_id"`
	wecomCounts
	Verify int64                  `json:"verify"`
	Agents map[string]wecomCounts `json:"agents"`
}

// wecomCorp is what the sandbox issued for one WeCom corp. It is part of an
// app's state and guarded by the state's mutex.
type wecomCorp struct {
	// tokens maps every remembered access token to its agent and expiry;
	// expired ones stay (up to pruneAt) so that they answer 42001.
	tokens  map[string]wecomCred
	pruneAt int
	// current is each agent's token: gettoken answers it while it is valid.
	current map[string]string
	// tickets maps every issued ticket, corp and agent_config, to its
	// agent ("" for the corp ticket) and expiry; corpTicket and
	// agentTicket are the ones the ticket calls hand out.
	tickets     map[string]wecomCred
	corpTicket  string
	agentTicket map[string]string
	// fetches are the ticket fetches of the last hour, oldest first.
	fetches []wecomFetch
	// codes are the sign-in codes issued (wecom_oauth.go).
	codes        map[string]*wecomGrant
	codesPruneAt int
	calls        wecomCounts
	agentCalls   map[string]*wecomCounts
	verify       int64
}

func newWeComCorp() *wecomCorp {
	return &wecomCorp{
		tokens:       make(map[string]wecomCred),
		pruneAt:      minPrune,
		current:      make(map[string]string),
		tickets:      make(map[string]wecomCred),
		agentTicket:  make(map[string]string),
		codes:        make(map[string]*wecomGrant),
		codesPruneAt: minPrune,
		agentCalls:   make(map[string]*wecomCounts),
	}
}

// corp returns the WeCom state of corpID, creating it on first use. The
// caller holds s.mu.
func (s *state) corp(corpID string) *wecomCorp {
	if s.wecom == nil {
		s.wecom = make(map[string]*wecomCorp)
	}
	c := s.wecom[corpID]
	if c == nil {
		c = newWeComCorp()
		s.wecom[corpID] = c
	}
	return c
}

// forgetWeComCredentials drops every WeCom token and ticket, keeping
// codes, counters and the hourly fetch record. The caller holds s.mu.
func (s *state) forgetWeComCredentials() {
	for _, c := range s.wecom {
		c.tokens, c.pruneAt, c.current = make(map[string]wecomCred), minPrune, make(map[string]string)
		c.tickets, c.corpTicket, c.agentTicket = make(map[string]wecomCred), "", make(map[string]string)
	}
}

// countWeCom records one call to ep of corp, by agent when it is known.
func (s *state) countWeCom(corpID string, ep endpoint, agent string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.corp(corpID)
	c.calls.add(ep)
	if agent == "" {
		return
	}
	a := c.agentCalls[agent]
	if a == nil {
		a = new(wecomCounts)
		c.agentCalls[agent] = a
	}
	a.add(ep)
}

// countWeComVerify records one check of /sandbox/wecom/verify.
func (s *state) countWeComVerify(corpID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corp(corpID).verify++
}

// wecomSnapshot returns the counters of corpID, with every agent of agents
// listed even when it made no call.
func (s *state) wecomSnapshot(corpID string, agents []string) *wecomStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.corp(corpID)
	st := &wecomStats{CorpID: corpID, wecomCounts: c.calls, Verify: c.verify, Agents: make(map[string]wecomCounts)}
	for _, a := range agents {
		st.Agents[a] = wecomCounts{}
	}
	for a, n := range c.agentCalls {
		st.Agents[a] = *n
	}
	return st
}

// wecomToken returns agent's current access token and its remaining
// lifetime in whole seconds, issuing a new one valid for ttl when it has
// none or it has expired: WeCom answers the same token while it is valid.
func (s *state) wecomToken(corpID, agent string, now time.Time, ttl time.Duration) (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.corp(corpID)
	if t := c.current[agent]; t != "" {
		if left := remainingSeconds(c.tokens[t].exp, now); left > 0 {
			return t, left
		}
	}
	if len(c.tokens) >= c.pruneAt {
		for t, cred := range c.tokens {
			if !now.Before(cred.exp) {
				delete(c.tokens, t)
			}
		}
		c.pruneAt = max(minPrune, 2*len(c.tokens))
	}
	t := newCredential(tokenLen)
	c.tokens[t] = wecomCred{agent: agent, exp: now.Add(ttl)}
	c.current[agent] = t
	return t, remainingSeconds(now.Add(ttl), now)
}

// checkWeComToken returns the agent of token and 0, or WeCom's error
// code: 40014 for a token the sandbox did not issue (or forgot in a
// rotation), 42001 for an expired one.
func (s *state) checkWeComToken(corpID, token string, now time.Time) (string, int) {
	if !isCredential(token, tokenLen) {
		return "", codeInvalidToken
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cred, ok := s.corp(corpID).tokens[token]
	switch {
	case !ok:
		return "", codeInvalidToken
	case !now.Before(cred.exp):
		return "", codeTokenExpired
	}
	return cred.agent, 0
}

// tokenOwner returns the agent token was issued to, expired or not, or ""
// when the sandbox does not know it: the agent a call is counted for.
func (s *state) tokenOwner(corpID, token string) string {
	if token == "" {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.corp(corpID).tokens[token].agent
}

// wecomTicket hands out a ticket to agent's token: the corp ticket when
// agentTicket is false, agent's agent_config ticket otherwise. It returns
// the current one while it is valid and issues a new one valid for ttl
// after it expires; every fetch counts against the hourly limits, and one
// beyond them answers 45009 (and is not counted).
func (s *state) wecomTicket(corpID, agent string, agentTicket bool, now time.Time, ttl time.Duration) (string, int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.corp(corpID)
	cut := 0 // fetches older than the window
	for cut < len(c.fetches) && !c.fetches[cut].at.After(now.Add(-wecomQuotaWindow)) {
		cut++
	}
	c.fetches = c.fetches[cut:]
	byAgent := 0
	for _, f := range c.fetches {
		if f.agent == agent {
			byAgent++
		}
	}
	if len(c.fetches) >= wecomCorpTicketQuota || byAgent >= wecomAgentTicketQuota {
		return "", 0, codeDailyQuota
	}
	c.fetches = append(c.fetches, wecomFetch{at: now, agent: agent})

	current := c.corpTicket
	owner := ""
	if agentTicket {
		current, owner = c.agentTicket[agent], agent
	}
	if current != "" {
		if left := remainingSeconds(c.tickets[current].exp, now); left > 0 {
			return current, left, 0
		}
	}
	for t, cred := range c.tickets {
		if !now.Before(cred.exp) {
			delete(c.tickets, t)
		}
	}
	t := newCredential(ticketLen)
	c.tickets[t] = wecomCred{agent: owner, exp: now.Add(ttl)}
	if agentTicket {
		c.agentTicket[agent] = t
	} else {
		c.corpTicket = t
	}
	return t, remainingSeconds(now.Add(ttl), now), 0
}

// wecomTickets returns the corp's tickets valid at now, each with its
// agent ("" for a corp ticket), in a stable order.
func (s *state) wecomTickets(corpID string, now time.Time) []wecomIssued {
	s.mu.Lock()
	defer s.mu.Unlock()
	var valid []wecomIssued
	for _, t := range slices.Sorted(maps.Keys(s.corp(corpID).tickets)) {
		if cred := s.corp(corpID).tickets[t]; now.Before(cred.exp) {
			valid = append(valid, wecomIssued{ticket: t, agent: cred.agent})
		}
	}
	return valid
}

// wecomIssued is a valid ticket and whose it is.
type wecomIssued struct {
	ticket, agent string
}
