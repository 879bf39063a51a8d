package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	testCorpID  = "ww0123456789abcdef"
	testAgentID = "1000002"
	testCode    = "CODE_value_3c4d5e6f7a8b9c0d"
)

// wecomCalls are the WeCom credential endpoints, as a table like calls.
var wecomCalls = []call{
	{
		name: "wecom gettoken", endpoint: PathWeComToken,
		run: func(ctx context.Context, c *Client) (Credential, error) {
			return c.WeComToken(ctx, testCorpID, testSecret)
		},
		success: `{"errcode":0,"errmsg":"ok","access_token":"` + testToken + `","expires_in":7200}`, value: testToken,
	},
	{
		name: "wecom corp ticket", endpoint: PathWeComCorpTicket,
		run: func(ctx context.Context, c *Client) (Credential, error) {
			return c.WeComCorpTicket(ctx, testToken)
		},
		success: `{"errcode":0,"errmsg":"ok","ticket":"` + testTicket + `","expires_in":7200}`, value: testTicket,
	},
	{
		name: "wecom agent ticket", endpoint: PathWeComAgentTicket,
		run: func(ctx context.Context, c *Client) (Credential, error) {
			return c.WeComAgentTicket(ctx, testToken)
		},
		success: `{"errcode":0,"errmsg":"ok","ticket":"` + testTicket + `","expires_in":7200}`, value: testTicket,
	},
}

// wecomUserInfoCall runs getuserinfo as a call, for the tables about
// errors; the user it returns goes into Value.
var wecomUserInfoCall = call{
	name: "wecom getuserinfo", endpoint: PathWeComUserInfo,
	run: func(ctx context.Context, c *Client) (Credential, error) {
		u, err := c.WeComUserInfo(ctx, testToken, testCode)
		return Credential{Value: u.UserID + u.OpenID}, err
	},
	success: `{"errcode":0,"errmsg":"ok","userid":"zhangsan"}`, value: "zhangsan",
}

// everyCall is every endpoint of the client, Official Account and WeCom.
func everyCall() []call {
	out := append([]call(nil), calls...)
	out = append(out, wecomCalls...)
	return append(out, wecomUserInfoCall)
}

func TestWeComRequestShape(t *testing.T) {
	tests := []struct {
		call  call
		path  string
		query url.Values
	}{
		{wecomCalls[0], PathWeComToken, url.Values{"corpid": {testCorpID}, "corpsecret": {testSecret}}},
		{wecomCalls[1], PathWeComCorpTicket, url.Values{"access_token": {testToken}}},
		{wecomCalls[2], PathWeComAgentTicket, url.Values{"access_token": {testToken}, "type": {"agent_config"}}},
		{wecomUserInfoCall, PathWeComUserInfo, url.Values{"access_token": {testToken}, "code": {testCode}}},
	}
	for _, tt := range tests {
		t.Run(tt.call.name, func(t *testing.T) {
			f, c := newFake(t, http.StatusOK, tt.call.success)
			if _, err := tt.call.run(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			got := f.only(t)
			if got.method != http.MethodGet || got.path != tt.path {
				t.Errorf("request %s %s, want GET %s", got.method, got.path, tt.path)
			}
			if !reflect.DeepEqual(got.query, tt.query) {
				t.Errorf("query %v, want %v", got.query, tt.query)
			}
			if got.body != nil {
				t.Errorf("body %v, want none", got.body)
			}
		})
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestWeComDefaultBaseURL: a Client without BaseURL calls qyapi for the
// WeCom methods and api.weixin.qq.com for the others.
func TestWeComDefaultBaseURL(t *testing.T) {
	var got []string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = append(got, r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
		body := `{"errcode":0,"errmsg":"ok","access_token":"A","ticket":"T","expires_in":7200}`
		return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Body: io.NopCloser(strings.NewReader(body)), Header: http.Header{}}, nil
	})}
	c := &Client{HTTP: hc}
	ctx := context.Background()
	if _, err := c.WeComToken(ctx, testCorpID, testSecret); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WeComAgentTicket(ctx, testToken); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ticket(ctx, testToken); err != nil {
		t.Fatal(err)
	}
	want := []string{DefaultWeComBaseURL + PathWeComToken, DefaultWeComBaseURL + PathWeComAgentTicket, DefaultBaseURL + PathTicket}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
}

func TestWeComSuccess(t *testing.T) {
	for _, cl := range wecomCalls {
		t.Run(cl.name, func(t *testing.T) {
			_, c := newFake(t, http.StatusOK, cl.success)
			got, err := cl.run(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			if want := (Credential{Value: cl.value, ExpiresIn: 2 * time.Hour}); got != want {
				t.Errorf("got %q/%v, want %q/%v", got.Value, got.ExpiresIn, want.Value, want.ExpiresIn)
			}
		})
	}
}

// TestWeComAPIErrors is the classification table at WeCom's endpoints: the
// same errcode can mean a configuration error at gettoken and a token to
// refetch at the ticket endpoints.
func TestWeComAPIErrors(t *testing.T) {
	token, corp, agent, user := wecomCalls[0], wecomCalls[1], wecomCalls[2], wecomUserInfoCall
	tests := []struct {
		call  call
		code  int
		class Class
	}{
		// 40001 at gettoken: the app's secret is wrong; an operator must act.
		{token, 40001, ClassConfig},
		{token, 40013, ClassConfig}, // corpid
		{token, 41002, ClassConfig}, // corpid missing
		{token, 41004, ClassConfig}, // corpsecret missing
		{token, 45009, ClassQuota},
		{token, -1, ClassRetryable},
		{token, 60020, ClassIPWhitelist},
		// 40001/40014/42001 at a ticket endpoint: the token is bad; refetch it once.
		{corp, 40001, ClassInvalidToken}, {corp, 40014, ClassInvalidToken}, {corp, 42001, ClassInvalidToken},
		{agent, 40001, ClassInvalidToken}, {agent, 40014, ClassInvalidToken}, {agent, 42001, ClassInvalidToken},
		{corp, 45009, ClassQuota}, {agent, 45009, ClassQuota},
		{corp, 48002, ClassConfig}, {agent, 60020, ClassIPWhitelist},
		{corp, -1, ClassRetryable}, {agent, 61024, ClassUnknown},
		{user, 40014, ClassInvalidToken}, {user, 42001, ClassInvalidToken}, {user, 40001, ClassInvalidToken},
		{user, 40029, ClassUnknown}, // the code's own fault: IsCodeRejected
	}
	for _, tt := range tests {
		t.Run(tt.call.name+"/"+strconv.Itoa(tt.code), func(t *testing.T) {
			_, c := newFake(t, http.StatusOK, `{"errcode":`+strconv.Itoa(tt.code)+`,"errmsg":"some reason, hint: [1a2b]"}`)
			_, err := tt.call.run(context.Background(), c)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if want := (APIError{Endpoint: tt.call.endpoint, Code: tt.code, Msg: "some reason, hint: [1a2b]"}); *apiErr != want {
				t.Errorf("got %+v, want %+v", *apiErr, want)
			}
			if got := Classify(err); got != tt.class {
				t.Errorf("Classify = %v, want %v", got, tt.class)
			}
		})
	}
}

// TestWeComCodesStayWeCom: WeCom's own errcodes do not change how the
// Official Account endpoints are classified.
func TestWeComCodesStayWeCom(t *testing.T) {
	tests := []struct {
		err  error
		want Class
	}{
		{&APIError{Endpoint: PathToken, Code: 40001}, ClassInvalidToken},
		{&APIError{Endpoint: PathStableToken, Code: 40001}, ClassInvalidToken},
		{&APIError{Endpoint: PathTicket, Code: 60020}, ClassUnknown},
		{&APIError{Endpoint: PathTicket, Code: 48002}, ClassUnknown},
		{&APIError{Endpoint: PathWeComToken, Code: 40001}, ClassConfig},
		{fmt.Errorf("wrapped: %w", &APIError{Endpoint: PathWeComToken, Code: 40001}), ClassConfig},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestWeComBadAnswers(t *testing.T) {
	tests := []struct {
		name, body, inMessage string
	}{
		{"no value", `{"errcode":0,"errmsg":"ok"}`, "answer has no"},
		{"no lifetime", `{"errcode":0,"errmsg":"ok","access_token":"A","ticket":"T"}`, "expires_in 0"},
		{"not JSON", `<html>oops</html>`, "not a WeChat JSON answer"},
	}
	for _, cl := range wecomCalls {
		for _, tt := range tests {
			t.Run(cl.name+"/"+tt.name, func(t *testing.T) {
				_, c := newFake(t, http.StatusOK, tt.body)
				cred, err := cl.run(context.Background(), c)
				var respErr *ResponseError
				if !errors.As(err, &respErr) || respErr.Endpoint != cl.endpoint {
					t.Fatalf("err = %v, want a *ResponseError for %s", err, cl.endpoint)
				}
				if !strings.Contains(err.Error(), tt.inMessage) {
					t.Errorf("error %q does not mention %q", err, tt.inMessage)
				}
				if Classify(err) != ClassRetryable || cred != (Credential{}) {
					t.Errorf("Classify = %v, credential %v; want retryable and none", Classify(err), cred)
				}
			})
		}
	}
}

func TestWeComUserInfo(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		want     WeComUser
		member   bool
		inError  string // empty: success
		rejected bool   // IsCodeRejected
	}{
		{name: "member", body: `{"errcode":0,"errmsg":"ok","userid":"zhang.san@corp-1_x","user_ticket":"UT-secret"}`,
			want: WeComUser{UserID: "zhang.san@corp-1_x"}, member: true},
		{name: "non-member", body: `{"errcode":0,"errmsg":"ok","openid":"oAbC-123_xyz"}`,
			want: WeComUser{OpenID: "oAbC-123_xyz"}},
		{name: "external contact", body: `{"errcode":0,"errmsg":"ok","openid":"oAbC","external_userid":"wmXYZ-9_8"}`,
			want: WeComUser{OpenID: "oAbC", ExternalUserID: "wmXYZ-9_8"}},
		{name: "neither", body: `{"errcode":0,"errmsg":"ok"}`, inError: "neither userid nor openid"},
		{name: "userid with a header break", body: `{"errcode":0,"userid":"a\r\nSet-Cookie: x"}`, inError: "unusable userid"},
		{name: "userid too long", body: `{"errcode":0,"userid":"` + strings.Repeat("u", 129) + `"}`, inError: "unusable userid"},
		{name: "openid with a space", body: `{"errcode":0,"openid":"o a"}`, inError: "unusable openid"},
		{name: "bad external_userid", body: `{"errcode":0,"openid":"o","external_userid":"w;x"}`, inError: "unusable external_userid"},
		{name: "invalid code", body: `{"errcode":40029,"errmsg":"invalid code"}`, inError: "errcode 40029", rejected: true},
		{name: "token expired", body: `{"errcode":42001,"errmsg":"access_token expired"}`, inError: "errcode 42001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newFake(t, http.StatusOK, tt.body)
			got, err := c.WeComUserInfo(context.Background(), testToken, testCode)
			if tt.inError == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want || got.Member() != tt.member {
					t.Errorf("got %+v (member %v), want %+v (member %v)", got, got.Member(), tt.want, tt.member)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.inError) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.inError)
			}
			if got != (WeComUser{}) {
				t.Errorf("user %+v returned with an error", got)
			}
			if IsCodeRejected(err) != tt.rejected {
				t.Errorf("IsCodeRejected = %v, want %v", IsCodeRejected(err), tt.rejected)
			}
			assertNoSecrets(t, err, testToken, testCode, "Set-Cookie")
		})
	}
}

func TestWeComApp(t *testing.T) {
	tests := []struct {
		name string
		run  func(a *WeComApp) (string, error)
		body string
		path string
		want string
	}{
		{"token", func(a *WeComApp) (string, error) {
			c, err := a.AccessToken(context.Background())
			return c.Value, err
		}, wecomCalls[0].success, PathWeComToken, testToken},
		{"corp ticket", func(a *WeComApp) (string, error) {
			c, err := a.CorpTicket(context.Background(), testToken)
			return c.Value, err
		}, wecomCalls[1].success, PathWeComCorpTicket, testTicket},
		{"agent ticket", func(a *WeComApp) (string, error) {
			c, err := a.AgentTicket(context.Background(), testToken)
			return c.Value, err
		}, wecomCalls[2].success, PathWeComAgentTicket, testTicket},
		{"user info", func(a *WeComApp) (string, error) {
			u, err := a.UserInfo(context.Background(), testToken, testCode)
			return u.UserID, err
		}, wecomUserInfoCall.success, PathWeComUserInfo, "zhangsan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFake(t, http.StatusOK, tt.body)
			app := &WeComApp{Client: c, CorpID: testCorpID, AgentID: testAgentID, Secret: testSecret}
			got, err := tt.run(app)
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
			req := f.only(t)
			if req.path != tt.path {
				t.Errorf("path %s, want %s", req.path, tt.path)
			}
			if tt.path == PathWeComToken && (req.query.Get("corpid") != testCorpID || req.query.Get("corpsecret") != testSecret) {
				t.Errorf("query %v, want the corp ID and the app's secret", req.query)
			}
		})
	}
}

func TestWeComAppFormatRedacts(t *testing.T) {
	app := WeComApp{CorpID: testCorpID, AgentID: testAgentID, Secret: testSecret}
	for _, v := range []any{app, &app, []WeComApp{app}, struct{ A *WeComApp }{&app}} {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, testSecret) || strings.Contains(out, fmt.Sprintf("%x", testSecret)) {
				t.Errorf("%s: %q leaks the secret", verb, out)
			}
		}
	}
	if got := app.String(); !strings.Contains(got, testCorpID) || !strings.Contains(got, testAgentID) {
		t.Errorf("String() = %q, want the corp and agent IDs", got)
	}
}
