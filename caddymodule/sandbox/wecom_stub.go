package sandbox

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"strings"
)

// The WeCom scripts the sandbox serves for pages, each with the sandbox's
// origin written in:
//
//   - /sandbox/wecom/bridge.js: an emulation of the WeCom client's side,
//     window.WeixinJSBridge, whose preVerifyJSAPI (wx.config) and
//     agentConfig (wx.agentConfig) check the signatures through
//     /sandbox/wecom/verify. Loaded before the real @wecom/jssdk (with a
//     user agent saying wxwork/…), it lets that SDK run its whole
//     handshake in a plain browser.
//   - /sandbox/wecom/jwxwork.js: the bridge and a stub of the jweixin WeCom
//     pages load, with wx.config, wx.ready, wx.error, wx.agentConfig and
//     wx.invoke.
//   - /sandbox/wecom/ww.js: the bridge and a stub of @wecom/jssdk's global
//     ww: ww.register, ww.ensureConfigReady, ww.invoke and a few APIs.
var (
	//go:embed wecom_bridge.js
	wecomBridgeJS string
	//go:embed wecom_jwxwork.js
	wecomJwxworkJS string
	//go:embed wecom_ww.js
	wecomWWJS string
)

// serveWeComScript answers script, with the sandbox's own origin (as the
// browser reached it) written in so its checks come back here.
func (h *Handler) serveWeComScript(w http.ResponseWriter, r *http.Request, script string) {
	if !requireMethod(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	origin, _ := json.Marshal(scheme + "://" + r.Host) // a Host header is data, not code
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte(strings.Replace(script, "SANDBOX_ORIGIN", string(origin), 1)))
	}
}
