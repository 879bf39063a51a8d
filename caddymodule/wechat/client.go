package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is the WeChat API origin.
const DefaultBaseURL = "https://api.weixin.qq.com"

// The endpoint paths, as they appear in errors.
const (
	PathToken       = "/cgi-bin/token"
	PathStableToken = "/cgi-bin/stable_token"
	PathTicket      = "/cgi-bin/ticket/getticket"
)

// MaxBodySize bounds how much of an answer is read. WeChat's credential
// answers are well under 1 KiB; anything bigger is not one of them.
const MaxBodySize = 64 << 10

// maxExpiresIn keeps a nonsensical expires_in from overflowing a Duration.
const maxExpiresIn = math.MaxInt64 / int64(time.Second)

// defaultTimeout bounds a call when the Client has no HTTP client of its own.
const defaultTimeout = 5 * time.Second

var defaultHTTP = &http.Client{Timeout: defaultTimeout}

// Client calls the WeChat API. The zero value is ready to use. It holds no
// secret: the app secret and the access token are arguments of each call.
type Client struct {
	// BaseURL is the API origin (scheme, host, optional port and path
	// prefix); empty means DefaultBaseURL, or DefaultWeComBaseURL for the
	// WeCom methods. Tests and the sandbox point it elsewhere.
	BaseURL string
	// HTTP makes the requests; nil means a client with a 5 s timeout.
	// Redirects are never followed, whatever its CheckRedirect says
	// (see do).
	HTTP *http.Client
}

// StableToken calls POST /cgi-bin/stable_token. Without forceRefresh every
// caller gets the token WeChat currently considers valid; forceRefresh
// invalidates it (20 a day, 30 s apart: keep it for a 40001 a normal call did
// not cure).
func (c *Client) StableToken(ctx context.Context, appID, secret string, forceRefresh bool) (Credential, error) {
	body, err := json.Marshal(struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}{"client_credential", appID, secret, forceRefresh})
	if err != nil {
		return Credential{}, fmt.Errorf("wechat %s: encoding request: %w", PathStableToken, err)
	}
	var r reply
	if err := c.do(ctx, http.MethodPost, PathStableToken, nil, body, &r, secret); err != nil {
		return Credential{}, err
	}
	return r.credential(PathStableToken, r.AccessToken, "access_token")
}

// Token calls GET /cgi-bin/token. Each call invalidates, five minutes later,
// the token every other holder of the app has: prefer StableToken.
func (c *Client) Token(ctx context.Context, appID, secret string) (Credential, error) {
	q := url.Values{"grant_type": {"client_credential"}, "appid": {appID}, "secret": {secret}}
	var r reply
	if err := c.do(ctx, http.MethodGet, PathToken, q, nil, &r, secret); err != nil {
		return Credential{}, err
	}
	return r.credential(PathToken, r.AccessToken, "access_token")
}

// Ticket calls GET /cgi-bin/ticket/getticket?type=jsapi.
func (c *Client) Ticket(ctx context.Context, accessToken string) (Credential, error) {
	q := url.Values{"access_token": {accessToken}, "type": {"jsapi"}}
	var r reply
	if err := c.do(ctx, http.MethodGet, PathTicket, q, nil, &r, accessToken); err != nil {
		return Credential{}, err
	}
	return r.credential(PathTicket, r.Ticket, "ticket")
}

// reply is the union of the three endpoints' answers.
type reply struct {
	ErrCode     int    `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	Ticket      string `json:"ticket"`
	ExpiresIn   int64  `json:"expires_in"`
}

// credential turns a reply without errcode into a Credential, refusing one
// that would be useless to cache.
func (r *reply) credential(endpoint, value, field string) (Credential, error) {
	if value == "" {
		return Credential{}, &ResponseError{Endpoint: endpoint, StatusCode: http.StatusOK, Reason: "answer has no " + field}
	}
	if r.ExpiresIn <= 0 || r.ExpiresIn > maxExpiresIn {
		return Credential{}, &ResponseError{Endpoint: endpoint, StatusCode: http.StatusOK,
			Reason: fmt.Sprintf("answer has expires_in %d", r.ExpiresIn)}
	}
	return Credential{Value: value, ExpiresIn: time.Duration(r.ExpiresIn) * time.Second}, nil
}

// errReply is an answer that may carry WeChat's errcode and errmsg.
type errReply interface {
	errInfo() (code int, msg string)
}

func (r *reply) errInfo() (int, string) { return r.ErrCode, r.ErrMsg }

// do sends one request to the Official Account API and decodes a 200 JSON
// answer into out. secrets are the values to keep out of any error it
// returns.
func (c *Client) do(ctx context.Context, method, endpoint string, query url.Values, body []byte, out errReply, secrets ...string) error {
	return c.doAt(ctx, DefaultBaseURL, method, endpoint, query, body, out, secrets...)
}

// doAt is do with defaultBase as the origin when BaseURL is empty.
func (c *Client) doAt(ctx context.Context, defaultBase, method, endpoint string, query url.Values, body []byte, out errReply, secrets ...string) error {
	base := c.BaseURL
	if base == "" {
		base = defaultBase
	}
	// The request is built from the secret-free base, and the query is set
	// afterwards, so that a parse error cannot quote the secret.
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base, rd)
	if err != nil {
		return fmt.Errorf("wechat %s: invalid base URL %q: %w", endpoint, base, unwrapURLError(err))
	}
	req.URL.Path = strings.TrimSuffix(req.URL.Path, "/") + endpoint
	req.URL.RawPath = ""
	req.URL.RawQuery = query.Encode()
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	return exchange(c.httpClient(), req, endpoint, out, secrets)
}

// exchange sends req and decodes a 200 JSON answer into out, turning every
// other outcome into one of this package's errors. secrets are the values
// to keep out of any error it returns.
func exchange(hc *http.Client, req *http.Request, endpoint string, out errReply, secrets []string) error {
	resp, err := hc.Do(req)
	if err != nil {
		return &RequestError{Endpoint: endpoint, Err: scrub(unwrapURLError(err), secrets)}
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused; the body itself
		// is not reported, it could be anything.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxBodySize))
		return &ResponseError{Endpoint: endpoint, StatusCode: resp.StatusCode, Reason: "unexpected status " + resp.Status}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodySize+1))
	if err != nil {
		return &ResponseError{Endpoint: endpoint, StatusCode: resp.StatusCode, Reason: "reading body",
			Err: scrub(unwrapURLError(err), secrets)}
	}
	if len(data) > MaxBodySize {
		return &ResponseError{Endpoint: endpoint, StatusCode: resp.StatusCode, Reason: "body larger than 64 KiB"}
	}
	if err := json.Unmarshal(data, out); err != nil {
		// json errors quote at most a character of the input, never a value.
		return &ResponseError{Endpoint: endpoint, StatusCode: resp.StatusCode, Reason: "body is not a WeChat JSON answer", Err: err}
	}
	if code, msg := out.errInfo(); code != 0 {
		return &APIError{Endpoint: endpoint, Code: code, Msg: redact(msg, secrets...)}
	}
	return nil
}

// httpClient returns a copy of the configured client that never follows a
// redirect: following one would send the secret in the query, or the body,
// to wherever the redirect points. A 3xx is reported as an unexpected status.
func (c *Client) httpClient() *http.Client { return noRedirects(c.HTTP) }

// noRedirects returns a copy of hc (or of the default client when hc is
// nil) that never follows a redirect.
func noRedirects(hc *http.Client) *http.Client {
	if hc == nil {
		hc = defaultHTTP
	}
	cp := *hc
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// unwrapURLError drops the *url.Error layers, whose message is the method and
// the whole URL, query included. Text wrapped around a deeper *url.Error is
// dropped with it, since it may quote the URL too.
func unwrapURLError(err error) error {
	var ue *url.Error
	for errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	return err
}

// scrub makes sure the cause does not spell a secret. net/http's causes do
// not, once the *url.Error is gone; this keeps it so should that change,
// at the price of the cause's identity (only its message and timeout flag
// survive).
func scrub(err error, secrets []string) error {
	msg := err.Error()
	if redact(msg, secrets...) == msg {
		return err
	}
	var te interface{ Timeout() bool }
	timeout := errors.As(err, &te) && te.Timeout()
	return &scrubbedError{msg: redact(msg, secrets...), timeout: timeout}
}

// scrubbedError is a cause whose message had to be redacted.
type scrubbedError struct {
	msg     string
	timeout bool
}

// Error is the redacted message.
func (e *scrubbedError) Error() string { return e.msg }

// Timeout keeps a redacted timeout recognisable as one.
func (e *scrubbedError) Timeout() bool { return e.timeout }
