package sandbox

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWeComStubs(t *testing.T) {
	h, _ := newWeComTestHandler(t)
	for _, tc := range []struct {
		path string
		want []string // what the script must define
	}{
		{pathWeComBridge, []string{"w.WeixinJSBridge = bridge", `"preVerifyJSAPI"`, `"agentConfig"`, "/sandbox/wecom/verify"}},
		{pathWeComJwxwork, []string{"w.WeixinJSBridge = bridge", "w.wx = w.jWeixin = wx", "agentConfig: function"}},
		{pathWeComWW, []string{"w.WeixinJSBridge = bridge", "w.ww = ww", "getAgentConfigSignature", "getConfigSignature"}},
	} {
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
			t.Run(method+" "+tc.path, func(t *testing.T) {
				r := httptest.NewRequest(method, tc.path, nil)
				r.Host = "sandbox.test:9081"
				rec := serveReq(t, h, r)
				if method == http.MethodPost {
					if rec.Code != http.StatusMethodNotAllowed {
						t.Fatalf("POST: %d", rec.Code)
					}
					return
				}
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d", rec.Code)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				body := rec.Body.String()
				if method == http.MethodHead {
					if body != "" {
						t.Errorf("HEAD body %q", body)
					}
					return
				}
				if !strings.Contains(body, `var sandbox = "http://sandbox.test:9081";`) || strings.Contains(body, "SANDBOX_ORIGIN") {
					t.Errorf("the sandbox's origin is not written in:\n%.400s", body)
				}
				for _, s := range tc.want {
					if !strings.Contains(body, s) {
						t.Errorf("script lacks %q", s)
					}
				}
			})
		}
	}
}

// TestWeComStubSources checks what serving relies on: only the bridge
// has the origin placeholder, once, and comes first in the stubs.
func TestWeComStubSources(t *testing.T) {
	if n := strings.Count(wecomBridgeJS, "SANDBOX_ORIGIN"); n != 1 {
		t.Errorf("bridge: %d placeholders, want 1", n)
	}
	for name, src := range map[string]string{"jwxwork": wecomJwxworkJS, "ww": wecomWWJS} {
		if strings.Contains(src, "SANDBOX_ORIGIN") {
			t.Errorf("%s has the placeholder: only the bridge's is replaced", name)
		}
		if !strings.Contains(src, "w.__wecomSandbox") {
			t.Errorf("%s does not go through the bridge", name)
		}
	}
}
