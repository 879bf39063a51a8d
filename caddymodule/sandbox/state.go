package sandbox

import (
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// pool holds one *state per app ID. A reload provisions the new handler
// before the old one is cleaned up, so the reference count never drops to
// zero in between and issued tokens survive the reload.
var pool = caddy.NewUsagePool()

// minPrune is the number of remembered tokens below which expired ones are
// kept, so that they keep answering 42001 rather than 40001.
const minPrune = 4096

// endpoint names an emulated endpoint in counters and faults.
type endpoint string

// The endpoints, named as in /sandbox/stats and /sandbox/fault.
const (
	endpointToken       endpoint = "token"
	endpointStableToken endpoint = "stable_token"
	endpointTicket      endpoint = "getticket"
	endpointVerify      endpoint = "verify"
	endpointPayOrder    endpoint = "pay_order"
	endpointPayVerify   endpoint = "pay_verify"
	endpointAny         endpoint = "*"
)

// stats counts calls per endpoint, failed ones included. Its JSON form is
// the /sandbox/stats answer.
type stats struct {
	Token       int64 `json:"token"`
	StableToken int64 `json:"stable_token"`
	GetTicket   int64 `json:"getticket"`
	Verify      int64 `json:"verify"`
	PayOrder    int64 `json:"pay_order"`
	PayVerify   int64 `json:"pay_verify"`
	// WeCom is the corp's counters, when the sandbox plays one (wecom_state.go).
	WeCom *wecomStats `json:"wecom,omitempty"`
}

// state is everything the sandbox has issued for one app ID. All methods
// are safe for concurrent use; the ones that depend on time take it as an
// argument so that the handler's clock is the only clock.
type state struct {
	mu sync.Mutex
	// tokens maps every remembered access token, classic and stable, to its
	// expiry. Expired tokens stay so that they answer 42001, not 40001.
	tokens map[string]time.Time
	// pruneAt is the size of tokens at which expired entries are dropped;
	// it grows with the live set so pruning stays amortised O(1).
	pruneAt int
	// latestClassic and currentStable are the newest token of each kind:
	// the only ones whose expiry a newer token may still shorten.
	latestClassic string
	currentStable string
	// tickets maps each issued JS-API ticket to its expiry; currentTicket
	// is the one getticket hands out.
	tickets       map[string]time.Time
	currentTicket string
	calls         stats
	faults        []fault
	// orders maps each prepay_id issued by the order call to whether it
	// has been paid; a prepay_id pays once.
	orders map[string]bool
	// oauth holds the web OAuth codes issued (oauth.go).
	oauth oauthCodes
	// wecom holds what was issued for each WeCom corp (wecom_state.go).
	wecom map[string]*wecomCorp
}

func newState() *state {
	return &state{
		tokens:  make(map[string]time.Time),
		pruneAt: minPrune,
		tickets: make(map[string]time.Time),
		orders:  make(map[string]bool),
	}
}

// Destruct implements caddy.Destructor. The state holds no resources
// besides memory.
func (s *state) Destruct() error { return nil }

// reset forgets every issued credential, counter and pending fault.
func (s *state) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetCredentials()
	s.calls = stats{}
	s.faults = nil
	s.orders = make(map[string]bool)
	s.oauth = oauthCodes{}
	s.wecom = nil
}

// count records one call to ep.
func (s *state) count(ep endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ep {
	case endpointToken:
		s.calls.Token++
	case endpointStableToken:
		s.calls.StableToken++
	case endpointTicket:
		s.calls.GetTicket++
	case endpointVerify:
		s.calls.Verify++
	case endpointPayOrder:
		s.calls.PayOrder++
	case endpointPayVerify:
		s.calls.PayVerify++
	}
}

// snapshot returns the call counters.
func (s *state) snapshot() stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// issueClassic issues a new classic access token valid for ttl. The
// previous classic token stays valid for supersededGrace more, or until its
// own expiry if that is sooner, as WeChat does.
func (s *state) issueClassic(now time.Time, ttl time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.supersede(s.latestClassic, now)
	s.latestClassic = s.addToken(now, ttl)
	return s.latestClassic
}

// stableToken returns the current stable token and its remaining lifetime
// in whole seconds, issuing a new one when there is none, when it has
// expired, or when force is set (the previous one then keeps
// supersededGrace).
func (s *state) stableToken(now time.Time, ttl time.Duration, force bool) (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !force && s.currentStable != "" {
		if left := remainingSeconds(s.tokens[s.currentStable], now); left > 0 {
			return s.currentStable, left
		}
	}
	s.supersede(s.currentStable, now)
	s.currentStable = s.addToken(now, ttl)
	return s.currentStable, remainingSeconds(s.tokens[s.currentStable], now)
}

// checkToken classifies an access token as WeChat does: 0 when valid,
// 40014 when it does not have the shape of a token this sandbox issues,
// 40001 when it was never issued, 42001 when it expired or was superseded.
func (s *state) checkToken(token string, now time.Time) int {
	if !isCredential(token, tokenLen) {
		return codeInvalidToken
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[token]
	switch {
	case !ok:
		return codeInvalidCredential
	case !now.Before(exp):
		return codeTokenExpired
	}
	return 0
}

// ticket returns the current JS-API ticket and its remaining lifetime in
// whole seconds, issuing a new one valid for ttl once it has expired.
func (s *state) ticket(now time.Time, ttl time.Duration) (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.currentTicket != "" {
		if left := remainingSeconds(s.tickets[s.currentTicket], now); left > 0 {
			return s.currentTicket, left
		}
	}
	for t, exp := range s.tickets {
		if !now.Before(exp) {
			delete(s.tickets, t)
		}
	}
	t := newCredential(ticketLen)
	s.tickets[t] = now.Add(ttl)
	s.currentTicket = t
	return t, remainingSeconds(s.tickets[t], now)
}

// validTickets returns the tickets a signature may currently be made with.
func (s *state) validTickets(now time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var valid []string
	for t, exp := range s.tickets {
		if now.Before(exp) {
			valid = append(valid, t)
		}
	}
	return valid
}

// supersede shortens the life of token, a token a newer one replaces, to
// supersededGrace from now. The caller holds s.mu.
func (s *state) supersede(token string, now time.Time) {
	if token == "" {
		return
	}
	if exp, ok := s.tokens[token]; ok {
		s.tokens[token] = earliest(exp, now.Add(supersededGrace))
	}
}

// addToken remembers and returns a new token valid for ttl from now,
// dropping expired tokens first when too many are remembered. The caller
// holds s.mu.
func (s *state) addToken(now time.Time, ttl time.Duration) string {
	if len(s.tokens) >= s.pruneAt {
		for t, exp := range s.tokens {
			if !now.Before(exp) {
				delete(s.tokens, t)
			}
		}
		s.pruneAt = max(minPrune, 2*len(s.tokens))
	}
	t := newCredential(tokenLen)
	s.tokens[t] = now.Add(ttl)
	return t
}

// remainingSeconds returns the whole seconds left before exp, truncated
// so a client never believes a credential lives longer than it does.
func remainingSeconds(exp, now time.Time) int {
	left := exp.Sub(now)
	if left <= 0 {
		return 0
	}
	return int(left / time.Second)
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
