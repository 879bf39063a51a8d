package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	serviceKey   = "service-key-6c2f9e1d"
	serviceQuery = "query-secret-8a7b6c5d"
)

// tokenService answers with status and body, and records what it was sent.
type tokenService struct {
	status int
	body   string
	calls  atomic.Int32
	header atomic.Value // the X-Auth header of the last call
	method atomic.Value
}

func (s *tokenService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	s.header.Store(r.Header.Get("X-Auth"))
	s.method.Store(r.Method)
	if s.status == http.StatusFound {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
		return
	}
	w.WriteHeader(s.status)
	fmt.Fprint(w, s.body)
}

func newService(t *testing.T, status int, body string) (*tokenService, *TokenService) {
	t.Helper()
	fake := &tokenService{status: status, body: body}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, &TokenService{URL: srv.URL + "/wx/token?key=" + serviceQuery, Header: "X-Auth", HeaderValue: serviceKey}
}

func TestTokenService(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		wantValue string
		wantClass Class
		wantErr   string
	}{
		{"token", 200, `{"access_token":"` + testToken + `","expires_in":7200}`, testToken, ClassOK, ""},
		{"wechat error", 200, `{"errcode":40013,"errmsg":"invalid appid, key ` + serviceKey + `"}`, "", ClassConfig, "errcode 40013"},
		{"busy", 200, `{"errcode":-1,"errmsg":"system busy"}`, "", ClassRetryable, "errcode -1"},
		{"no token", 200, `{"expires_in":7200}`, "", ClassRetryable, "no access_token"},
		{"no lifetime", 200, `{"access_token":"` + testToken + `"}`, "", ClassRetryable, "expires_in 0"},
		{"not json", 200, `<html>` + serviceKey, "", ClassRetryable, "not a WeChat JSON answer"},
		{"unauthorized", 401, `bad key ` + serviceKey, "", ClassUnknown, "HTTP 401"},
		{"down", 503, ``, "", ClassRetryable, "HTTP 503"},
		{"redirect not followed", 302, ``, "", ClassUnknown, "HTTP 302"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, svc := newService(t, tt.status, tt.body)
			cred, err := svc.Token(context.Background())
			if cred.Value != tt.wantValue || Classify(err) != tt.wantClass {
				t.Fatalf("Token = %v, %v (%v); want %q, %v", cred, err, Classify(err), tt.wantValue, tt.wantClass)
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not say %q", err, tt.wantErr)
			}
			if err != nil {
				msg := err.Error()
				if strings.Contains(msg, serviceKey) || strings.Contains(msg, serviceQuery) || !strings.Contains(msg, "/wx/token") {
					t.Errorf("error %q leaks a secret or does not name the endpoint", msg)
				}
			}
			if n := fake.calls.Load(); n != 1 {
				t.Errorf("%d calls, want 1 (redirects are not followed)", n)
			}
			if fake.header.Load() != serviceKey || fake.method.Load() != http.MethodGet {
				t.Errorf("sent %v with X-Auth %q", fake.method.Load(), fake.header.Load())
			}
			if tt.wantValue != "" && cred.ExpiresIn != 7200*time.Second {
				t.Errorf("ExpiresIn = %v", cred.ExpiresIn)
			}
		})
	}
}

func TestTokenServiceUnreachable(t *testing.T) {
	svc := &TokenService{URL: "http://127.0.0.1:1/token?key=" + serviceQuery, Header: "X-Auth", HeaderValue: serviceKey}
	_, err := svc.Token(context.Background())
	var reqErr *RequestError
	if !errors.As(err, &reqErr) || Classify(err) != ClassRetryable {
		t.Fatalf("err = %v, want a retryable RequestError", err)
	}
	if strings.Contains(err.Error(), serviceQuery) {
		t.Errorf("error %q quotes the query", err)
	}
}

func TestTokenServiceFormatRedacts(t *testing.T) {
	svc := TokenService{URL: "https://user:pw-9d8c7b6a@tokens.example/wx?key=" + serviceQuery, Header: "X-Auth", HeaderValue: serviceKey}
	app := App{AppID: testAppID, Service: &svc}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for _, v := range []any{svc, &svc, app, &app} {
			out := fmt.Sprintf(verb, v)
			for _, secret := range []string{serviceKey, serviceQuery, "pw-9d8c7b6a"} {
				if strings.Contains(out, secret) {
					t.Errorf("%s of %T: %q leaks %q", verb, v, out, secret)
				}
			}
		}
	}
	if got := svc.Endpoint(); got != "https://tokens.example/wx" {
		t.Errorf("Endpoint() = %q", got)
	}
	if got := app.String(); !strings.Contains(got, "token service https://tokens.example/wx") {
		t.Errorf("App.String() = %q", got)
	}
}

// TestAppWithTokenService: an App with a Service takes its tokens there
// (never from WeChat, never forced) and still fetches tickets from WeChat.
func TestAppWithTokenService(t *testing.T) {
	fake, svc := newService(t, http.StatusOK, `{"access_token":"`+testToken+`","expires_in":7200}`)
	wx, c := newFake(t, http.StatusOK, calls[2].success)
	app := &App{Client: c, AppID: testAppID, Secret: testSecret, Service: svc}
	if app.CanForce() || !(&App{}).CanForce() {
		t.Error("CanForce: want false with a token service only")
	}
	for _, force := range []bool{false, true} {
		if cred, err := app.AccessToken(context.Background(), force); err != nil || cred.Value != testToken {
			t.Fatalf("AccessToken(force=%v) = %v, %v", force, cred, err)
		}
	}
	if n := fake.calls.Load(); n != 2 {
		t.Errorf("%d token service calls, want 2", n)
	}
	if cred, err := app.Ticket(context.Background(), testToken); err != nil || cred.Value != testTicket {
		t.Fatalf("Ticket = %v, %v", cred, err)
	}
	if req := wx.only(t); req.path != PathTicket {
		t.Errorf("WeChat got %s, want only the ticket call", req.path)
	}
}
