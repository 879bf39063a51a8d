package wechat

import (
	"context"
	"net/http"
	"testing"
)

func TestApp(t *testing.T) {
	tests := []struct {
		name      string
		classic   bool
		force     bool
		wantPath  string
		wantForce any
	}{
		{"stable", false, false, PathStableToken, false},
		{"stable forced", false, true, PathStableToken, true},
		{"classic ignores force", true, true, PathToken, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFake(t, http.StatusOK, calls[0].success)
			app := &App{Client: c, AppID: testAppID, Secret: testSecret, Classic: tt.classic}
			cred, err := app.AccessToken(context.Background(), tt.force)
			if err != nil || cred.Value != testToken {
				t.Fatalf("AccessToken = %v, %v", cred, err)
			}
			req := f.only(t)
			if req.path != tt.wantPath || req.body["force_refresh"] != tt.wantForce {
				t.Errorf("request %s force_refresh=%v, want %s %v", req.path, req.body["force_refresh"], tt.wantPath, tt.wantForce)
			}
		})
	}
	t.Run("ticket", func(t *testing.T) {
		f, c := newFake(t, http.StatusOK, calls[2].success)
		app := &App{Client: c, AppID: testAppID, Secret: testSecret}
		cred, err := app.Ticket(context.Background(), testToken)
		if err != nil || cred.Value != testTicket {
			t.Fatalf("Ticket = %v, %v", cred, err)
		}
		if got := f.only(t).query.Get("access_token"); got != testToken {
			t.Errorf("access_token = %q", got)
		}
	})
}
