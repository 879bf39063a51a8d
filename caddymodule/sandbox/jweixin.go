package sandbox

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"strings"
)

// jweixinJS is the stub of WeChat's jweixin script that the sandbox serves
// at /sandbox/jweixin.js: point wechat_jssdk's sdk_url at it and a plain
// browser runs the whole wx.config handshake offline.
//
//go:embed jweixin.js
var jweixinJS string

// serveJweixin answers the stub script, with the sandbox's own origin (as
// the browser reached it) written in so its verify calls come back here.
func (h *Handler) serveJweixin(w http.ResponseWriter, r *http.Request) {
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
		_, _ = w.Write([]byte(strings.Replace(jweixinJS, "SANDBOX_ORIGIN", string(origin), 1)))
	}
}
