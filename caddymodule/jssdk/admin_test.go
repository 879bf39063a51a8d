package jssdk

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// adminCall runs one admin request and returns the recorder and the
// handler's error status (0 when it answered itself).
func adminCall(t *testing.T, method, target string) (*httptest.ResponseRecorder, int) {
	t.Helper()
	rec := httptest.NewRecorder()
	err := AdminAPI{}.serve(rec, httptest.NewRequest(method, target, nil))
	if err == nil {
		return rec, 0
	}
	var apiErr caddy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("%s %s: %v is not an APIError", method, target, err)
	}
	rec.Body.WriteString(apiErr.Error())
	return rec, apiErr.HTTPStatus
}

// appsIn decodes the listing and returns the entries of appID.
func appsIn(t *testing.T, body []byte, appID string) []appStatus {
	t.Helper()
	var all []appStatus
	if err := json.Unmarshal(body, &all); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	var out []appStatus
	for _, a := range all {
		if a.AppID == appID {
			out = append(out, a)
		}
	}
	return out
}

func TestAdminAPI(t *testing.T) {
	const appID = "wxadmin00000000001"
	const secret = "admin-secret-9e8d"
	t.Setenv("JSSDK_TEST_APP_SECRET", secret)
	api := &fakeWeChat{appID: appID, secret: secret}
	srv := httptest.NewServer(api)
	defer srv.Close()
	h := &Handler{AppID: appID, AppSecret: "{env.JSSDK_TEST_APP_SECRET}", APIBase: srv.URL}
	provision(t, h)
	defer h.Cleanup()
	servePage(t, h)

	var bodies strings.Builder
	rec, status := adminCall(t, http.MethodGet, "/wechat_jssdk/")
	bodies.Write(rec.Body.Bytes())
	apps := appsIn(t, rec.Body.Bytes(), appID)
	if status != 0 || rec.Code != http.StatusOK || len(apps) != 1 {
		t.Fatalf("GET: %d/%d %s", status, rec.Code, rec.Body)
	}
	a := apps[0]
	if a.Source != "stable" || a.TokenExpiresAt == nil || a.TicketExpiresAt == nil || a.LastError != nil ||
		a.Calls["stable_token"]["ok"] != 1 || a.Calls["getticket"]["ok"] != 1 || a.Shared != nil {
		t.Errorf("listing %+v", a)
	}

	rec, status = adminCall(t, http.MethodPost, "/wechat_jssdk/refresh?app_id="+appID)
	bodies.Write(rec.Body.Bytes())
	if status != 0 || rec.Code != http.StatusOK || api.tokenCalls.Load() != 2 || api.ticketCalls.Load() != 2 {
		t.Fatalf("refresh: %d/%d %s; %d token, %d ticket calls", status, rec.Code, rec.Body, api.tokenCalls.Load(), api.ticketCalls.Load())
	}
	if got := appsIn(t, rec.Body.Bytes(), appID); len(got) != 1 || got[0].Calls["stable_token"]["ok"] != 2 {
		t.Errorf("refresh answered %s", rec.Body)
	}

	tests := []struct {
		name, method, target string
		status               int
		want                 string
	}{
		{"refresh too soon", http.MethodPost, "/wechat_jssdk/refresh?app_id=" + appID, http.StatusTooManyRequests, "next one is allowed in 30s"},
		{"unknown app", http.MethodPost, "/wechat_jssdk/refresh?app_id=wxnobody", http.StatusNotFound, "not in use"},
		{"no app", http.MethodPost, "/wechat_jssdk/refresh", http.StatusBadRequest, "missing app_id"},
		{"GET refresh", http.MethodGet, "/wechat_jssdk/refresh?app_id=" + appID, http.StatusMethodNotAllowed, "use POST"},
		{"POST listing", http.MethodPost, "/wechat_jssdk/", http.StatusMethodNotAllowed, "use GET"},
		{"unknown path", http.MethodGet, "/wechat_jssdk/nothing", http.StatusNotFound, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, status := adminCall(t, tt.method, tt.target)
			bodies.Write(rec.Body.Bytes())
			if status != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("got %d %q, want %d with %q", status, rec.Body, tt.status, tt.want)
			}
		})
	}
	if got := appsIn(t, mustList(t), appID); got[0].Calls["stable_token"]["ok"] != 2 {
		t.Error("a refused refresh called WeChat")
	}

	bodies.Write(mustList(t))
	for _, secret := range []string{secret, "TOKEN-" + appID, testTicket} {
		if strings.Contains(bodies.String(), secret) {
			t.Errorf("admin output contains a secret (%.12s…)", secret)
		}
	}
}

// TestAdminRefreshFailure: a refresh WeChat refuses answers 502 and shows
// up as the app's last error.
func TestAdminRefreshFailure(t *testing.T) {
	const appID = "wxadmin00000000002"
	t.Setenv("JSSDK_TEST_APP_SECRET", "admin-secret-7a6b")
	api := &fakeWeChat{appID: appID, secret: "not-what-we-have"}
	srv := httptest.NewServer(api)
	defer srv.Close()
	h := &Handler{AppID: appID, AppSecret: "{env.JSSDK_TEST_APP_SECRET}", APIBase: srv.URL}
	provision(t, h)
	defer h.Cleanup()

	rec, status := adminCall(t, http.MethodPost, "/wechat_jssdk/refresh?app_id="+appID)
	if status != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "40125") {
		t.Fatalf("got %d %s, want 502 naming errcode 40125", status, rec.Body)
	}
	a := appsIn(t, mustList(t), appID)[0]
	if a.LastError == nil || a.LastError.Class != "config" || !strings.Contains(a.LastError.Message, "40125") ||
		a.LastError.At.IsZero() || a.BackoffUntil == nil || a.Calls["stable_token"]["config"] != 1 {
		t.Errorf("listing after the failure: %+v %+v", a, a.LastError)
	}
	if strings.Contains(rec.Body.String(), "admin-secret-7a6b") {
		t.Error("the error carries the secret")
	}
}

func mustList(t *testing.T) []byte {
	t.Helper()
	rec, status := adminCall(t, http.MethodGet, "/wechat_jssdk/")
	if status != 0 {
		t.Fatalf("GET listing: %d %s", status, rec.Body)
	}
	return rec.Body.Bytes()
}

func TestAdminRoutes(t *testing.T) {
	routes := AdminAPI{}.Routes()
	if len(routes) != 1 || routes[0].Pattern != "/wechat_jssdk/" {
		t.Errorf("routes %+v", routes)
	}
	if id := (AdminAPI{}).CaddyModule().ID; id != "admin.api.wechat_jssdk" {
		t.Errorf("module ID %q", id)
	}
}
