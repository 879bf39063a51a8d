package wechat

import (
	"fmt"
	"strings"
)

// APIError is an error WeChat answered in its JSON body: {"errcode":N,"errmsg":"…"}.
type APIError struct {
	// Endpoint is the path called, like "/cgi-bin/token".
	Endpoint string
	// Code is WeChat's errcode.
	Code int
	// Msg is WeChat's errmsg, with any secret or token it echoed redacted.
	Msg string
}

// Error reads like "wechat /cgi-bin/token: errcode 40013: invalid appid".
func (e *APIError) Error() string {
	return fmt.Sprintf("wechat %s: errcode %d: %s", e.Endpoint, e.Code, e.Msg)
}

// RequestError is a call that got no HTTP answer: connection refused, DNS
// failure, timeout, cancelled context… It replaces the *url.Error net/http
// returns, whose message carries the full URL and so the secret or token in
// its query.
type RequestError struct {
	// Endpoint is the path called, like "/cgi-bin/token".
	Endpoint string
	// Err is the cause, without the URL: a *net.OpError, a timeout,
	// context.Canceled… errors.Is and errors.As see through to it.
	Err error
}

// Error names the endpoint and the cause, never the URL.
func (e *RequestError) Error() string {
	return fmt.Sprintf("wechat %s: request failed: %v", e.Endpoint, e.Err)
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

// ResponseError is an HTTP answer that is not a usable WeChat reply: a
// status other than 200, a body over 64 KiB, a body that is not JSON, or a
// success reply without the token/ticket or with no lifetime.
type ResponseError struct {
	// Endpoint is the path called, like "/cgi-bin/token".
	Endpoint string
	// StatusCode is the HTTP status received.
	StatusCode int
	// Reason says what was wrong with the answer. It never quotes the body,
	// which could hold a credential.
	Reason string
	// Err is the underlying cause, if any (a JSON syntax error…).
	Err error
}

// Error names the endpoint, the status and what was wrong, never the body.
func (e *ResponseError) Error() string {
	msg := fmt.Sprintf("wechat %s: HTTP %d: %s", e.Endpoint, e.StatusCode, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *ResponseError) Unwrap() error { return e.Err }

// redacted is what replaces a secret found where it should not be.
const redacted = "[REDACTED]"

// redact removes every non-empty secret from s. WeChat has been seen to
// quote request parameters back in errmsg; this keeps such an echo out of
// errors and logs.
func redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, redacted)
		}
	}
	return s
}
