package wechat

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	oauthSecret = "oauth-secret-canary-0123456789ab"
	oauthCode   = "061CodeCanaryZyxwvu9876543210AB"
)

func TestOAuthTokenSuccess(t *testing.T) {
	tests := []struct {
		name string
		body string
		want OAuthUser
	}{
		{"openid only", `{"access_token":"USER-TOKEN","expires_in":7200,"refresh_token":"R","openid":"oLVPpjqs9BhvzwPj5A-vTYAX3GLc","scope":"snsapi_base"}`,
			OAuthUser{OpenID: "oLVPpjqs9BhvzwPj5A-vTYAX3GLc", Scope: "snsapi_base"}},
		{"with unionid", `{"access_token":"T","expires_in":7200,"openid":"o_1","scope":"snsapi_userinfo","unionid":"o6_bmasdasdsad6_2sgVt7hMZOPfL"}`,
			OAuthUser{OpenID: "o_1", UnionID: "o6_bmasdasdsad6_2sgVt7hMZOPfL", Scope: "snsapi_userinfo"}},
		{"snapshot user", `{"access_token":"T","expires_in":7200,"openid":"oSNAP","scope":"snsapi_base","is_snapshotuser":1}`,
			OAuthUser{OpenID: "oSNAP", Scope: "snsapi_base", Snapshot: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFake(t, http.StatusOK, tt.body)
			got, err := c.OAuthToken(context.Background(), "wxAPP", oauthSecret, oauthCode)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			req := f.only(t)
			if req.method != http.MethodGet || req.path != PathOAuthToken {
				t.Errorf("request %s %s", req.method, req.path)
			}
			for k, v := range map[string]string{"appid": "wxAPP", "secret": oauthSecret, "code": oauthCode, "grant_type": "authorization_code"} {
				if req.query.Get(k) != v {
					t.Errorf("query %s = %q, want %q", k, req.query.Get(k), v)
				}
			}
		})
	}
}

func TestOAuthTokenErrors(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		body         string
		wantCode     int // APIError code, or 0 for another error type
		codeRejected bool
		class        Class
	}{
		{"invalid code", 200, `{"errcode":40029,"errmsg":"invalid code, hints: [ req_id: x ]"}`, 40029, true, ClassUnknown},
		{"code used", 200, `{"errcode":40163,"errmsg":"code been used, hints: [ req_id: y ]"}`, 40163, true, ClassUnknown},
		{"code missing", 200, `{"errcode":41008,"errmsg":"missing code"}`, 41008, true, ClassUnknown},
		{"bad secret echoed", 200, `{"errcode":40125,"errmsg":"invalid appsecret ` + oauthSecret + ` for code ` + oauthCode + `"}`, 40125, false, ClassConfig},
		{"busy", 200, `{"errcode":-1,"errmsg":"system error"}`, -1, false, ClassRetryable},
		{"no openid", 200, `{"access_token":"T","expires_in":7200}`, 0, false, ClassRetryable},
		{"openid with a newline", 200, `{"openid":"o1\r\nX-Evil: 1"}`, 0, false, ClassRetryable},
		{"openid too long", 200, `{"openid":"` + strings.Repeat("o", 129) + `"}`, 0, false, ClassRetryable},
		{"bad unionid", 200, `{"openid":"o1","unionid":"u 1"}`, 0, false, ClassRetryable},
		{"not json", 200, `<html>`, 0, false, ClassRetryable},
		{"5xx", 502, `bad gateway ` + oauthCode, 0, false, ClassRetryable},
		{"redirect not followed", 302, ``, 0, false, ClassUnknown},
		{"too big", 200, `{"openid":"o1","x":"` + strings.Repeat("x", MaxBodySize) + `"}`, 0, false, ClassRetryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newFake(t, tt.status, tt.body)
			_, err := c.OAuthToken(context.Background(), "wxAPP", oauthSecret, oauthCode)
			assertNoSecrets(t, err, oauthSecret, oauthCode)
			var apiErr *APIError
			if gotAPI := errors.As(err, &apiErr); gotAPI != (tt.wantCode != 0) || gotAPI && apiErr.Code != tt.wantCode {
				t.Errorf("err = %v (%T), want APIError code %d", err, err, tt.wantCode)
			}
			if got := IsCodeRejected(err); got != tt.codeRejected {
				t.Errorf("IsCodeRejected = %v, want %v", got, tt.codeRejected)
			}
			if got := Classify(err); got != tt.class {
				t.Errorf("Classify = %v, want %v", got, tt.class)
			}
			if !strings.Contains(err.Error(), PathOAuthToken) {
				t.Errorf("error %q does not name the endpoint", err)
			}
		})
	}
}

func TestOAuthTokenTransportKeepsSecrets(t *testing.T) {
	for _, tt := range []struct {
		name string
		base func(t *testing.T) string
		hc   *http.Client
	}{
		{"timeout", hangingServer, &http.Client{Timeout: 50 * time.Millisecond}},
		{"closed port", closedPort, &http.Client{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &Client{BaseURL: tt.base(t), HTTP: tt.hc}
			_, err := c.OAuthToken(context.Background(), "wxAPP", oauthSecret, oauthCode)
			assertNoSecrets(t, err, oauthSecret, oauthCode)
			if Classify(err) != ClassRetryable {
				t.Errorf("Classify(%v) = %v, want retryable", err, Classify(err))
			}
		})
	}
}

func TestOAuthTokenBadBase(t *testing.T) {
	c := &Client{BaseURL: "http://[::1"}
	_, err := c.OAuthToken(context.Background(), "wxAPP", oauthSecret, oauthCode)
	assertNoSecrets(t, err, oauthSecret, oauthCode)
}

func TestIsCodeRejectedOtherErrors(t *testing.T) {
	for _, err := range []error{nil, errors.New("x"), &APIError{Code: 40013}, &ResponseError{StatusCode: 500}} {
		if IsCodeRejected(err) {
			t.Errorf("IsCodeRejected(%v) = true", err)
		}
	}
}
