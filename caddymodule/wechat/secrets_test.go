package wechat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// assertNoSecrets fails if any rendering of err spells a secret.
func assertNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error")
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		out := fmt.Sprintf(format, err)
		for _, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Errorf("Sprintf(%q, err) = %q contains a secret", format, out)
			}
		}
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, secret := range secrets {
			if strings.Contains(e.Error(), secret) {
				t.Errorf("wrapped error %T %q contains a secret", e, e.Error())
			}
		}
	}
}

// hangingServer accepts requests and never answers them until the test ends.
func hangingServer(t *testing.T) string {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv.URL
}

// closedPort returns the address of a port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

func TestTransportErrorsKeepSecrets(t *testing.T) {
	servers := []struct {
		name string
		base func(t *testing.T) string
		http *http.Client
		want string // in the message: the cause, named
	}{
		{"timeout", hangingServer, &http.Client{Timeout: 50 * time.Millisecond}, "Client.Timeout exceeded"},
		{"closed port", closedPort, &http.Client{}, "connection refused"},
	}
	for _, srv := range servers {
		for _, cl := range everyCall() {
			t.Run(srv.name+"/"+cl.name, func(t *testing.T) {
				c := &Client{BaseURL: srv.base(t), HTTP: srv.http}
				_, err := cl.run(context.Background(), c)
				assertNoSecrets(t, err, testSecret, testToken, testCode)
				if !strings.Contains(err.Error(), cl.endpoint) || !strings.Contains(err.Error(), srv.want) {
					t.Errorf("error %q should name %s and %q", err, cl.endpoint, srv.want)
				}
				if strings.Contains(err.Error(), "?") {
					t.Errorf("error %q carries a query", err)
				}
				if got := Classify(err); got != ClassRetryable {
					t.Errorf("Classify = %v, want retryable", got)
				}
			})
		}
	}
}

// TestContextDeadlineKeepsSecrets uses the caller's deadline rather than the
// client's timeout: the error must still be retryable and secret-free.
func TestContextDeadlineKeepsSecrets(t *testing.T) {
	c := &Client{BaseURL: hangingServer(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Token(ctx, testAppID, testSecret)
	assertNoSecrets(t, err, testSecret)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	if got := Classify(err); got != ClassRetryable {
		t.Errorf("Classify = %v, want retryable", got)
	}
}

// TestErrmsgEchoRedacted: should WeChat quote the secret or token back, the
// error must not.
func TestErrmsgEchoRedacted(t *testing.T) {
	tests := []struct {
		name   string
		reply  string
		run    func(ctx context.Context, c *Client) (Credential, error)
		secret string
	}{
		{"token", `{"errcode":40125,"errmsg":"invalid appsecret ` + testSecret + `"}`, calls[1].run, testSecret},
		{"stable_token", `{"errcode":40125,"errmsg":"invalid appsecret ` + testSecret + `"}`, calls[0].run, testSecret},
		{"ticket", `{"errcode":40001,"errmsg":"invalid credential, access_token is invalid: ` + testToken + `"}`, calls[2].run, testToken},
		{"wecom gettoken", `{"errcode":40001,"errmsg":"invalid secret ` + testSecret + `"}`, wecomCalls[0].run, testSecret},
		{"wecom corp ticket", `{"errcode":40014,"errmsg":"invalid access_token ` + testToken + `"}`, wecomCalls[1].run, testToken},
		{"wecom agent ticket", `{"errcode":42001,"errmsg":"access_token expired ` + testToken + `"}`, wecomCalls[2].run, testToken},
		{"wecom getuserinfo token", `{"errcode":40014,"errmsg":"invalid access_token ` + testToken + `"}`, wecomUserInfoCall.run, testToken},
		{"wecom getuserinfo code", `{"errcode":40029,"errmsg":"invalid code ` + testCode + `"}`, wecomUserInfoCall.run, testCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newFake(t, http.StatusOK, tt.reply)
			_, err := tt.run(context.Background(), c)
			assertNoSecrets(t, err, tt.secret)
			if !strings.Contains(err.Error(), redacted) {
				t.Errorf("error %q: the echo should be replaced by %s", err, redacted)
			}
		})
	}
}

func TestScrubKeepsTimeout(t *testing.T) {
	cause := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("refused for " + testSecret)}
	err := scrub(cause, []string{testSecret})
	if strings.Contains(err.Error(), testSecret) {
		t.Errorf("scrub left the secret: %q", err)
	}
	if scrub(context.DeadlineExceeded, []string{testSecret}) != context.DeadlineExceeded {
		t.Errorf("a secret-free cause must be kept as is")
	}
	timeoutErr := scrub(&net.DNSError{Err: testSecret, IsTimeout: true}, []string{testSecret})
	var te interface{ Timeout() bool }
	if !errors.As(timeoutErr, &te) || !te.Timeout() {
		t.Errorf("scrubbed timeout lost its Timeout(): %#v", timeoutErr)
	}
}
