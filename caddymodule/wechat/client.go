// Package wechat is a small client for the WeChat credential endpoints.
package wechat

import (
	"context"
	"net/http"
	"time"
)

// DefaultBaseURL is the WeChat API origin.
const DefaultBaseURL = "https://api.weixin.qq.com"

// Credential is an access token or a ticket with its lifetime.
type Credential struct {
	Value     string
	ExpiresIn time.Duration
}

// Client calls the WeChat API.
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

// StableToken calls POST /cgi-bin/stable_token.
func (c *Client) StableToken(ctx context.Context, appID, secret string, forceRefresh bool) (Credential, error) {
	panic("unimplemented")
}

// Token calls GET /cgi-bin/token.
func (c *Client) Token(ctx context.Context, appID, secret string) (Credential, error) {
	panic("unimplemented")
}

// Ticket calls GET /cgi-bin/ticket/getticket?type=jsapi.
func (c *Client) Ticket(ctx context.Context, accessToken string) (Credential, error) {
	panic("unimplemented")
}
