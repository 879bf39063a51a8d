package sandbox

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
)

// WeCom is the WeCom (企业微信) corp the sandbox plays besides the Official
// Account: its corp ID and apps (agents). It is embedded in Handler, so its
// fields sit beside app_id in the JSON config:
//
//	{"handler": "wechat_sandbox", "app_id": "wx…", "app_secret": "…",
//	 "corp_id": "ww0123456789abcdef",
//	 "agents": [{"agent_id": "1000002", "secret": "{env.WECOM_SECRET}"}]}
//
// Without corp_id the sandbox plays no WeCom corp and the WeCom paths answer
// 404 like any unknown path.
type WeCom struct {
	// The corp ID (corpid) the sandbox accepts, as in gettoken and as the
	// appId of a WeCom wx.config. Its shape is not checked (real ones are
	// "ww" and 16 hex digits; older corps have "wx" ones). It must differ
	// from app_id: the authorize page tells the two apart by it.
	CorpID string `json:"corp_id,omitempty"`

	// The corp's apps: each has its own secret, token and agent_config
	// ticket. At least one when corp_id is set.
	Agents []WeComAgent `json:"agents,omitempty"`

	// agentSecrets maps each agent ID to its secret, placeholders
	// resolved at provision.
	agentSecrets map[string]string
}

// WeComAgent is one app of the sandbox's WeCom corp.
type WeComAgent struct {
	// The app's AgentId, digits (WeCom's are numbers such as 1000002;
	// written as a string here, as @wecom/jssdk and wx.agentConfig send it).
	AgentID string `json:"agent_id"`
	// The app's secret (corpsecret in gettoken). `{env.NAME}` and
	// `{file.PATH}` placeholders are resolved at provision. Secrets must
	// differ between the apps: gettoken tells the app by its secret.
	Secret string `json:"secret"`
}

// WeCom request paths. In real life they are on qyapi.weixin.qq.com; the
// sandbox serves them beside WeChat's on the same listener, which works
// because no path is shared: gettoken is not token, get_jsapi_ticket and
// ticket/get are not ticket/getticket, auth/getuserinfo is WeCom's alone.
const (
	pathWeComToken       = "/cgi-bin/gettoken"
	pathWeComCorpTicket  = "/cgi-bin/get_jsapi_ticket"
	pathWeComAgentTicket = "/cgi-bin/ticket/get"
	pathWeComUserInfo    = "/cgi-bin/auth/getuserinfo"
	pathWeComVerify      = "/sandbox/wecom/verify"
	pathWeComBridge      = "/sandbox/wecom/bridge.js"
	pathWeComJwxwork     = "/sandbox/wecom/jwxwork.js"
	pathWeComWW          = "/sandbox/wecom/ww.js"
)

// The WeCom endpoints, named as in /sandbox/stats and /sandbox/fault.
const (
	endpointWeComToken       endpoint = "gettoken"
	endpointWeComCorpTicket  endpoint = "get_jsapi_ticket"
	endpointWeComAgentTicket endpoint = "agent_ticket"
	endpointWeComUserInfo    endpoint = "getuserinfo"
)

// maxAgentIDLen bounds an agent ID: WeCom's are 32-bit numbers.
const maxAgentIDLen = 10

// isWeComOption reports whether opt is one of the WeCom subdirectives.
func isWeComOption(opt string) bool { return opt == "corp_id" || opt == "agent" }

// unmarshalWeComOption reads one WeCom subdirective, the current token of
// d. Syntax:
//
//	corp_id <corp_id>
//	agent   <agent_id> <secret>   # once per app
//
// Error messages never repeat a secret.
func (h *Handler) unmarshalWeComOption(d *caddyfile.Dispenser, seen map[string]bool) error {
	opt := d.Val()
	switch opt {
	case "corp_id":
		if seen[opt] {
			return d.Err("wechat_sandbox: corp_id: specified more than once")
		}
		seen[opt] = true
		if !d.NextArg() {
			return d.Err("wechat_sandbox: corp_id: missing value")
		}
		h.CorpID = d.Val()
		if d.NextArg() {
			return d.Err("wechat_sandbox: corp_id: takes exactly one value")
		}
	case "agent":
		seen[opt] = true
		args := d.RemainingArgs()
		if len(args) != 2 {
			// Not echoed: one of them may be the secret.
			return d.Err("wechat_sandbox: agent: takes an agent ID and its secret: agent <agent_id> <secret>")
		}
		if err := checkAgentID(args[0]); err != nil {
			return d.Errf("wechat_sandbox: agent: %v", err)
		}
		for _, a := range h.Agents {
			if a.AgentID == args[0] {
				return d.Errf("wechat_sandbox: agent %s: specified more than once", args[0])
			}
		}
		h.Agents = append(h.Agents, WeComAgent{AgentID: args[0], Secret: args[1]})
	}
	return nil
}

// checkWeComCaddyfile reports, at the end of the block, a WeCom option
// that needs another.
func checkWeComCaddyfile(d *caddyfile.Dispenser, seen map[string]bool) error {
	switch {
	case seen["agent"] && !seen["corp_id"]:
		return d.Err("wechat_sandbox: agent needs corp_id")
	case seen["corp_id"] && !seen["agent"]:
		return d.Err("wechat_sandbox: corp_id needs at least one agent <agent_id> <secret>")
	}
	return nil
}

// checkAgentID says what is wrong with id as a WeCom agent ID.
func checkAgentID(id string) error {
	if id == "" || len(id) > maxAgentIDLen || strings.ContainsFunc(id, func(c rune) bool { return c < '0' || c > '9' }) {
		return fmt.Errorf("agent ID must be 1 to %d digits, got %q", maxAgentIDLen, id)
	}
	return nil
}

// validateWeCom checks the WeCom part of the configuration.
func (h *Handler) validateWeCom() error {
	if h.CorpID == "" {
		if len(h.Agents) > 0 {
			return errors.New("agents need corp_id")
		}
		return nil
	}
	if h.CorpID == h.AppID {
		return errors.New("corp_id must differ from app_id")
	}
	if len(h.Agents) == 0 {
		return errors.New("corp_id needs at least one agent")
	}
	ids := make(map[string]bool)
	for _, a := range h.Agents {
		if err := checkAgentID(a.AgentID); err != nil {
			return fmt.Errorf("agents: %v", err)
		}
		if ids[a.AgentID] {
			return fmt.Errorf("agents: agent %s: specified more than once", a.AgentID)
		}
		ids[a.AgentID] = true
		if a.Secret == "" {
			return fmt.Errorf("agents: agent %s: secret is required", a.AgentID)
		}
	}
	return nil
}

// provisionWeCom resolves the agents' secrets. It runs before Validate, so
// it checks what it needs itself.
func (h *Handler) provisionWeCom() error {
	if h.CorpID == "" {
		return nil
	}
	if err := h.validateWeCom(); err != nil {
		return err
	}
	h.agentSecrets = make(map[string]string, len(h.Agents))
	owner := make(map[string]string) // secret -> agent, to refuse a shared one
	for _, a := range h.Agents {
		secret, err := config.ResolveSecret("wechat_sandbox", "agent "+a.AgentID, a.Secret)
		if err != nil {
			return err
		}
		if other, ok := owner[secret]; ok {
			return fmt.Errorf("agents: agent %s has the same secret as agent %s: gettoken tells the apps by their secret", a.AgentID, other)
		}
		owner[secret] = a.AgentID
		h.agentSecrets[a.AgentID] = secret
	}
	return nil
}

// isWeComCorp reports whether id is the corp ID of the sandbox's corp.
func (h *Handler) isWeComCorp(id string) bool { return h.CorpID != "" && id == h.CorpID }

// agentBySecret returns the agent whose secret is secret, or "".
func (h *Handler) agentBySecret(secret string) string {
	found := ""
	for id, s := range h.agentSecrets { // every one compared, in constant time
		if subtle.ConstantTimeCompare([]byte(secret), []byte(s)) == 1 {
			found = id
		}
	}
	return found
}

// isAgent reports whether id is one of the corp's agents.
func (h *Handler) isAgent(id string) bool {
	_, ok := h.agentSecrets[id]
	return ok
}

// serveWeCom answers r when its path is one of WeCom's and the sandbox
// plays a corp; it reports whether it did.
func (h *Handler) serveWeCom(w http.ResponseWriter, r *http.Request) bool {
	if h.CorpID == "" {
		return false
	}
	switch r.URL.Path {
	case pathWeComToken:
		h.countWeCom(endpointWeComToken, h.agentBySecret(r.URL.Query().Get("corpsecret")))
		h.serveCGI(w, r, endpointWeComToken, h.serveWeComToken)
	case pathWeComCorpTicket:
		h.countWeCom(endpointWeComCorpTicket, h.tokenAgent(r.URL.Query().Get("access_token")))
		h.serveCGI(w, r, endpointWeComCorpTicket, h.serveWeComCorpTicket)
	case pathWeComAgentTicket:
		h.countWeCom(endpointWeComAgentTicket, h.tokenAgent(r.URL.Query().Get("access_token")))
		h.serveCGI(w, r, endpointWeComAgentTicket, h.serveWeComAgentTicket)
	case pathWeComUserInfo:
		h.countWeCom(endpointWeComUserInfo, h.tokenAgent(r.URL.Query().Get("access_token")))
		h.serveCGI(w, r, endpointWeComUserInfo, h.serveWeComUserInfo)
	case pathWeComVerify:
		h.allowStubOrigin(w, r) // the stubs' check (cors.go)
		h.countWeComVerify()
		h.serveWeComVerify(w, r)
	case pathWeComBridge:
		h.serveWeComScript(w, r, wecomBridgeJS)
	case pathWeComJwxwork:
		h.serveWeComScript(w, r, wecomBridgeJS+wecomJwxworkJS)
	case pathWeComWW:
		h.serveWeComScript(w, r, wecomBridgeJS+wecomWWJS)
	default:
		return false
	}
	return true
}
