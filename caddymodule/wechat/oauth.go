package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// PathOAuthToken is the web OAuth (网页授权) code exchange endpoint.
const PathOAuthToken = "/sns/oauth2/access_token"

// Web OAuth errcodes that mean the code itself was refused: the user should
// sign in again, nothing is wrong with the app's configuration.
const (
	// CodeInvalidOAuthCode is an unknown, malformed or expired code.
	CodeInvalidOAuthCode = 40029
	// CodeOAuthCodeUsed is a code that was already exchanged once.
	CodeOAuthCodeUsed = 40163
	// CodeOAuthCodeMissing is an exchange without a code.
	CodeOAuthCodeMissing = 41008
)

// maxOpenIDLen bounds openid and unionid: WeChat's are 28 characters, and
// they travel in a cookie and a request header.
const maxOpenIDLen = 128

// OAuthUser is who a web OAuth code stands for. The user access_token and
// refresh_token of the answer are deliberately left out: nothing in this
// project needs them yet, and a value that is never kept cannot leak.
type OAuthUser struct {
	// OpenID identifies the user within this app (28 characters at WeChat).
	OpenID string
	// UnionID identifies the user across the apps of one Open Platform
	// account; empty when the app is not bound to one.
	UnionID string
	// Scope is what the user granted: snsapi_base or snsapi_userinfo.
	Scope string
	// Snapshot is set for a snapshot-page-mode (快照页) virtual account:
	// the user has not really opened the page, and OpenID is not one that
	// can pay or be messaged.
	Snapshot bool
}

// oauthReply is the code exchange's answer.
type oauthReply struct {
	ErrCode        int    `json:"errcode"`
	ErrMsg         string `json:"errmsg"`
	OpenID         string `json:"openid"`
	UnionID        string `json:"unionid"`
	Scope          string `json:"scope"`
	IsSnapshotUser int    `json:"is_snapshotuser"`
}

// OAuthToken exchanges a web OAuth code: GET /sns/oauth2/access_token. A
// code works once and for five minutes. Errors are this package's: an
// *APIError for WeChat's refusals (IsCodeRejected tells the code's own
// from the app's), and none of them carries secret or code.
func (c *Client) OAuthToken(ctx context.Context, appID, secret, code string) (OAuthUser, error) {
	const endpoint = PathOAuthToken
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	secrets := []string{secret, code}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base, nil)
	if err != nil {
		return OAuthUser{}, fmt.Errorf("wechat %s: invalid base URL %q: %w", endpoint, base, unwrapURLError(err))
	}
	req.URL.Path = strings.TrimSuffix(req.URL.Path, "/") + endpoint
	req.URL.RawPath = ""
	req.URL.RawQuery = url.Values{
		"appid": {appID}, "secret": {secret}, "code": {code}, "grant_type": {"authorization_code"},
	}.Encode()
	req.Header.Set("Accept", "application/json")

	resp, err := c.httpClient().Do(req)
	if err != nil {
		return OAuthUser{}, &RequestError{Endpoint: endpoint, Err: scrub(unwrapURLError(err), secrets)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxBodySize))
		return OAuthUser{}, &ResponseError{Endpoint: endpoint, StatusCode: resp.StatusCode, Reason: "unexpected status " + resp.Status}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodySize+1))
	if err != nil {
		return OAuthUser{}, &ResponseError{Endpoint: endpoint, StatusCode: resp.StatusCode, Reason: "reading body",
			Err: scrub(unwrapURLError(err), secrets)}
	}
	if len(data) > MaxBodySize {
		return OAuthUser{}, &ResponseError{Endpoint: endpoint, StatusCode: resp.StatusCode, Reason: "body larger than 64 KiB"}
	}
	var r oauthReply
	if err := json.Unmarshal(data, &r); err != nil {
		return OAuthUser{}, &ResponseError{Endpoint: endpoint, StatusCode: resp.StatusCode, Reason: "body is not a WeChat JSON answer", Err: err}
	}
	if r.ErrCode != 0 {
		return OAuthUser{}, &APIError{Endpoint: endpoint, Code: r.ErrCode, Msg: redact(r.ErrMsg, secrets...)}
	}
	if !validOpenID(r.OpenID) {
		return OAuthUser{}, &ResponseError{Endpoint: endpoint, StatusCode: resp.StatusCode, Reason: "answer has no usable openid"}
	}
	if r.UnionID != "" && !validOpenID(r.UnionID) {
		return OAuthUser{}, &ResponseError{Endpoint: endpoint, StatusCode: resp.StatusCode, Reason: "answer has an unusable unionid"}
	}
	return OAuthUser{OpenID: r.OpenID, UnionID: r.UnionID, Scope: r.Scope, Snapshot: r.IsSnapshotUser == 1}, nil
}

// IsCodeRejected reports whether err is WeChat refusing the OAuth code
// itself (invalid or expired 40029, already used 40163, missing 41008):
// the user should start over; the app's configuration is fine. It holds for
// WeCom's getuserinfo too, which answers 40029 for a bad code.
func IsCodeRejected(err error) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.Code {
	case CodeInvalidOAuthCode, CodeOAuthCodeUsed, CodeOAuthCodeMissing:
		return true
	}
	return false
}

// validOpenID accepts the alphabet WeChat's openids and unionids use
// (letters, digits, '-' and '_'), which is also what may go into a request
// header and a cookie without escaping.
func validOpenID(s string) bool {
	if s == "" || len(s) > maxOpenIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
