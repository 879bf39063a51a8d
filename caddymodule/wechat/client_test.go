package wechat

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	testAppID  = "wx0123456789abcdef"
	testSecret = "s3cr3t-0123456789abcdef0123456789"
	testToken  = "ACCESS_TOKEN_value_9f8e7d6c5b4a"
	testTicket = "TICKET_value_sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvk"
)

// call runs one endpoint of a Client, so that the tests below can be tables
// over endpoints.
type call struct {
	name     string
	endpoint string
	run      func(ctx context.Context, c *Client) (Credential, error)
	success  string // a success body
	value    string // the value the success body carries
}

var calls = []call{
	{
		name: "stable_token", endpoint: PathStableToken,
		run: func(ctx context.Context, c *Client) (Credential, error) {
			return c.StableToken(ctx, testAppID, testSecret, false)
		},
		success: `{"access_token":"` + testToken + `","expires_in":7200}`, value: testToken,
	},
	{
		name: "token", endpoint: PathToken,
		run: func(ctx context.Context, c *Client) (Credential, error) {
			return c.Token(ctx, testAppID, testSecret)
		},
		success: `{"access_token":"` + testToken + `","expires_in":7200}`, value: testToken,
	},
	{
		name: "ticket", endpoint: PathTicket,
		run: func(ctx context.Context, c *Client) (Credential, error) {
			return c.Ticket(ctx, testToken)
		},
		success: `{"errcode":0,"errmsg":"ok","ticket":"` + testTicket + `","expires_in":7200}`, value: testTicket,
	},
}

func TestRequestShape(t *testing.T) {
	tests := []struct {
		name        string
		run         func(ctx context.Context, c *Client) (Credential, error)
		reply       string
		method      string
		path        string
		query       url.Values
		contentType string
		body        map[string]any
	}{
		{
			name: "stable_token",
			run: func(ctx context.Context, c *Client) (Credential, error) {
				return c.StableToken(ctx, testAppID, testSecret, false)
			},
			reply:  calls[0].success,
			method: http.MethodPost, path: PathStableToken, query: url.Values{}, contentType: "application/json",
			body: map[string]any{"grant_type": "client_credential", "appid": testAppID, "secret": testSecret, "force_refresh": false},
		},
		{
			name: "stable_token forced",
			run: func(ctx context.Context, c *Client) (Credential, error) {
				return c.StableToken(ctx, testAppID, testSecret, true)
			},
			reply:  calls[0].success,
			method: http.MethodPost, path: PathStableToken, query: url.Values{}, contentType: "application/json",
			body: map[string]any{"grant_type": "client_credential", "appid": testAppID, "secret": testSecret, "force_refresh": true},
		},
		{
			name:   "token",
			run:    func(ctx context.Context, c *Client) (Credential, error) { return c.Token(ctx, testAppID, testSecret) },
			reply:  calls[1].success,
			method: http.MethodGet, path: PathToken,
			query: url.Values{"grant_type": {"client_credential"}, "appid": {testAppID}, "secret": {testSecret}},
		},
		{
			name:   "ticket",
			run:    func(ctx context.Context, c *Client) (Credential, error) { return c.Ticket(ctx, testToken) },
			reply:  calls[2].success,
			method: http.MethodGet, path: PathTicket,
			query: url.Values{"access_token": {testToken}, "type": {"jsapi"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFake(t, http.StatusOK, tt.reply)
			if _, err := tt.run(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			got := f.only(t)
			if got.method != tt.method || got.path != tt.path {
				t.Errorf("request %s %s, want %s %s", got.method, got.path, tt.method, tt.path)
			}
			if !reflect.DeepEqual(got.query, tt.query) {
				t.Errorf("query %v, want %v", got.query, tt.query)
			}
			if got.contentType != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got.contentType, tt.contentType)
			}
			if !reflect.DeepEqual(got.body, tt.body) {
				t.Errorf("body %v, want %v", got.body, tt.body)
			}
		})
	}
}

func TestBaseURLPrefix(t *testing.T) {
	for _, suffix := range []string{"/proxy", "/proxy/"} {
		f, c := newFake(t, http.StatusOK, calls[2].success)
		c.BaseURL += suffix
		if _, err := c.Ticket(context.Background(), testToken); err != nil {
			t.Fatal(err)
		}
		if got, want := f.only(t).path, "/proxy"+PathTicket; got != want {
			t.Errorf("base %q: path %q, want %q", suffix, got, want)
		}
	}
}

func TestSuccess(t *testing.T) {
	for _, cl := range calls {
		t.Run(cl.name, func(t *testing.T) {
			_, c := newFake(t, http.StatusOK, cl.success)
			got, err := cl.run(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			want := Credential{Value: cl.value, ExpiresIn: 2 * time.Hour}
			if got != want {
				t.Errorf("got %q/%v, want %q/%v", got.Value, got.ExpiresIn, want.Value, want.ExpiresIn)
			}
		})
	}
}

// TestAPIErrors goes through the classification table for every endpoint:
// WeChat reports errors as 200 with an errcode.
func TestAPIErrors(t *testing.T) {
	codes := []struct {
		code  int
		class Class
	}{
		{-1, ClassRetryable},
		{40001, ClassInvalidToken}, {40014, ClassInvalidToken}, {42001, ClassInvalidToken},
		{40013, ClassConfig}, {40125, ClassConfig}, {40243, ClassConfig},
		{89501, ClassConfig}, {89503, ClassConfig}, {89506, ClassConfig}, {89507, ClassConfig},
		{45009, ClassQuota}, {45011, ClassQuota},
		{40164, ClassIPWhitelist},
		{48001, ClassUnknown},
	}
	for _, cl := range calls {
		for _, tc := range codes {
			t.Run(cl.name+"/"+tc.class.String(), func(t *testing.T) {
				_, c := newFake(t, http.StatusOK, `{"errcode":`+strconv.Itoa(tc.code)+`,"errmsg":"some reason rid: 1a2b"}`)
				_, err := cl.run(context.Background(), c)
				var apiErr *APIError
				if !errors.As(err, &apiErr) {
					t.Fatalf("err = %v, want *APIError", err)
				}
				want := APIError{Endpoint: cl.endpoint, Code: tc.code, Msg: "some reason rid: 1a2b"}
				if *apiErr != want {
					t.Errorf("got %+v, want %+v", *apiErr, want)
				}
				if got := Classify(err); got != tc.class {
					t.Errorf("Classify = %v, want %v", got, tc.class)
				}
			})
		}
	}
}

func TestAPIErrorMessage(t *testing.T) {
	err := &APIError{Endpoint: PathToken, Code: 40013, Msg: "invalid appid"}
	if got, want := err.Error(), "wechat /cgi-bin/token: errcode 40013: invalid appid"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestBadAnswers covers answers that are not WeChat replies.
func TestBadAnswers(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		class     Class
		inMessage string
	}{
		{"500", http.StatusInternalServerError, `{"errcode":-1}`, ClassRetryable, "HTTP 500"},
		{"502 html", http.StatusBadGateway, "<html>bad gateway</html>", ClassRetryable, "HTTP 502"},
		{"429", http.StatusTooManyRequests, "", ClassRetryable, "HTTP 429"},
		{"404", http.StatusNotFound, "not found", ClassUnknown, "HTTP 404"},
		{"302", http.StatusFound, "", ClassUnknown, "HTTP 302"},
		{"malformed JSON", http.StatusOK, `{"access_token":`, ClassRetryable, "not a WeChat JSON answer"},
		{"not JSON", http.StatusOK, `<html>hello</html>`, ClassRetryable, "not a WeChat JSON answer"},
		{"oversized", http.StatusOK, `{"errcode":0,"errmsg":"` + strings.Repeat("x", MaxBodySize) + `"}`, ClassRetryable, "larger than 64 KiB"},
		{"empty", http.StatusOK, `{}`, ClassRetryable, "answer has no"},
		{"zero expires_in", http.StatusOK, `{"access_token":"A","ticket":"T","expires_in":0}`, ClassRetryable, "expires_in 0"},
		{"negative expires_in", http.StatusOK, `{"access_token":"A","ticket":"T","expires_in":-5}`, ClassRetryable, "expires_in -5"},
		{"absurd expires_in", http.StatusOK, `{"access_token":"A","ticket":"T","expires_in":99999999999999}`, ClassRetryable, "expires_in 99999999999999"},
	}
	for _, cl := range calls {
		for _, tt := range tests {
			t.Run(cl.name+"/"+tt.name, func(t *testing.T) {
				_, c := newFake(t, tt.status, tt.body)
				cred, err := cl.run(context.Background(), c)
				var respErr *ResponseError
				if !errors.As(err, &respErr) {
					t.Fatalf("err = %v, want *ResponseError", err)
				}
				if respErr.StatusCode != tt.status || respErr.Endpoint != cl.endpoint {
					t.Errorf("got status %d endpoint %q, want %d %q", respErr.StatusCode, respErr.Endpoint, tt.status, cl.endpoint)
				}
				if !strings.Contains(err.Error(), tt.inMessage) {
					t.Errorf("error %q does not mention %q", err, tt.inMessage)
				}
				if strings.Contains(err.Error(), "html") || strings.Contains(err.Error(), "xxxx") {
					t.Errorf("error %q quotes the body", err)
				}
				if got := Classify(err); got != tt.class {
					t.Errorf("Classify = %v, want %v", got, tt.class)
				}
				if cred != (Credential{}) {
					t.Errorf("credential returned with an error")
				}
			})
		}
	}
}

// TestRedirectNotFollowed checks that a redirect cannot carry the secret to
// another server, even with a caller's client that follows redirects.
func TestRedirectNotFollowed(t *testing.T) {
	elsewhere, elsewhereClient := newFake(t, http.StatusOK, calls[1].success)
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhereClient.BaseURL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirecting.Close)
	c := &Client{BaseURL: redirecting.URL, HTTP: &http.Client{}}
	_, err := c.Token(context.Background(), testAppID, testSecret)
	var respErr *ResponseError
	if !errors.As(err, &respErr) || respErr.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("err = %v, want a 307 ResponseError", err)
	}
	elsewhere.mu.Lock()
	defer elsewhere.mu.Unlock()
	if len(elsewhere.reqs) != 0 {
		t.Errorf("redirect followed")
	}
}

func TestContextCancelled(t *testing.T) {
	for _, cl := range everyCall() {
		t.Run(cl.name, func(t *testing.T) {
			_, c := newFake(t, http.StatusOK, cl.success)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := cl.run(ctx, c)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if got := Classify(err); got != ClassUnknown {
				t.Errorf("Classify = %v, want unknown", got)
			}
			var reqErr *RequestError
			if !errors.As(err, &reqErr) || reqErr.Endpoint != cl.endpoint {
				t.Errorf("err = %#v, want a RequestError for %s", err, cl.endpoint)
			}
		})
	}
}
