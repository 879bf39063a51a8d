package sandbox

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestJweixinStub(t *testing.T) {
	h, _ := newTestHandler(t)
	for _, tc := range []struct {
		name, method, host string
		wantStatus         int
		wantInBody         string
	}{
		{"served with own origin", http.MethodGet, "sandbox.test:9081", http.StatusOK, `var sandbox = "http://sandbox.test:9081";`},
		{"hostile host stays a string", http.MethodGet, `x";alert(1);"`, http.StatusOK, `var sandbox = "http://x\";alert(1);\"";`},
		{"HEAD has no body", http.MethodHead, "sandbox.test", http.StatusOK, ""},
		{"POST refused", http.MethodPost, "sandbox.test", http.StatusMethodNotAllowed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/sandbox/jweixin.js", nil)
			r.Host = tc.host
			w := httptest.NewRecorder()
			if err := h.ServeHTTP(w, r, nil); err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tc.wantStatus)
			}
			body := w.Body.String()
			if tc.wantInBody != "" && !strings.Contains(body, tc.wantInBody) {
				t.Errorf("body lacks %q:\n%.300s", tc.wantInBody, body)
			}
			if tc.method == http.MethodHead && body != "" {
				t.Errorf("HEAD body %q", body)
			}
			if tc.wantStatus == http.StatusOK {
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
					t.Errorf("Content-Type %q", ct)
				}
				if strings.Contains(body, "SANDBOX_ORIGIN") {
					t.Error("placeholder left in the script")
				}
			}
		})
	}
}
