package wechat

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// TokenService gets access tokens from a central token service, the single
// holder of an app's token that WeChat recommends when several systems use
// one app: nothing but the service ever calls WeChat's token endpoints, so
// nothing else can invalidate the token.
//
// The service is asked with GET and answers like WeChat's token endpoint:
// {"access_token":"…","expires_in":N}, or WeChat's error JSON
// {"errcode":N,"errmsg":"…"}, which is returned as an *APIError and
// classified like WeChat's own.
//
// Its String, GoString and Format methods print the endpoint without its
// query, and never the header value.
type TokenService struct {
	// URL is the service's endpoint. Its query, if any, is sent but never
	// printed, nor quoted in errors.
	URL string
	// Header, when not empty, is the name of a header sent with every
	// request, typically to authenticate to the service.
	Header string
	// HeaderValue is the Header's value. It is never printed.
	HeaderValue string
	// HTTP makes the requests; nil means a client with a 5 s timeout.
	// Redirects are never followed.
	HTTP *http.Client
}

// Token asks the service for the current access token.
func (s *TokenService) Token(ctx context.Context) (Credential, error) {
	endpoint := s.Endpoint()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		// The parse error would quote the URL, query included.
		return Credential{}, fmt.Errorf("wechat %s: invalid token service URL", endpoint)
	}
	req.Header.Set("Accept", "application/json")
	if s.Header != "" {
		req.Header.Set(s.Header, s.HeaderValue)
	}
	var r reply
	if err := exchange(noRedirects(s.HTTP), req, endpoint, &r, s.secrets()); err != nil {
		return Credential{}, err
	}
	return r.credential(endpoint, r.AccessToken, "access_token")
}

// Endpoint is the service's URL as errors and logs name it: scheme, host
// and path, without user info, query or fragment.
func (s *TokenService) Endpoint() string {
	u, err := url.Parse(s.URL)
	if err != nil || u.Host == "" {
		return "token service"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// minQuerySecret is the shortest query value treated as a possible secret:
// redacting every "1" of a message because the URL says v=1 helps nobody.
const minQuerySecret = 8

// secrets are the values that must not appear in an error: the header's
// value and what the URL's query and user info carry.
func (s *TokenService) secrets() []string {
	secrets := []string{s.HeaderValue}
	if u, err := url.Parse(s.URL); err == nil {
		if u.RawQuery != "" {
			secrets = append(secrets, u.RawQuery)
			for _, vs := range u.Query() {
				for _, v := range vs {
					if len(v) >= minQuerySecret {
						secrets = append(secrets, v)
					}
				}
			}
		}
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p)
		}
	}
	return secrets
}

// String describes the service without its query or header value.
func (s TokenService) String() string {
	header := `""`
	if s.Header != "" {
		header = fmt.Sprintf("%q: %s", s.Header, redactedValue(s.HeaderValue))
	}
	return fmt.Sprintf("wechat.TokenService{Endpoint:%q, Header:%s}", s.Endpoint(), header)
}

// GoString is String: %#v must not print the header value either.
func (s TokenService) GoString() string { return s.String() }

// Format prints String for every verb.
func (s TokenService) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }
