package wechat

import (
	"context"
	"errors"
	"net"
	"net/http"
)

// Class groups errors by what a caller should do about them. The names
// returned by String are stable: they are used as metric labels.
type Class int

// The classes. The first six keep their values; ClassOK was added for a nil
// error so that a result can always be labelled.
const (
	// ClassUnknown is anything not recognised, including a cancelled context.
	ClassUnknown Class = iota
	// ClassRetryable is transient: WeChat busy (-1), network failure,
	// timeout, 5xx, an unreadable answer. Retry with backoff.
	ClassRetryable
	// ClassInvalidToken means the access token was rejected (40001, 40014,
	// 42001): drop it and fetch a new one.
	ClassInvalidToken
	// ClassConfig means the app's configuration is wrong (bad appid or
	// secret, frozen secret, admin confirmation pending or refused). Retrying
	// soon will not help; an operator must act.
	ClassConfig
	// ClassQuota means a call quota is exhausted (45009 daily, 45011 per
	// minute). Wait for the window to pass.
	ClassQuota
	// ClassIPWhitelist means the caller's IP is not in the account's API
	// whitelist (40164). An operator must add it.
	ClassIPWhitelist
	// ClassOK is what Classify says of a nil error.
	ClassOK
)

// Classes lists every class, for callers that pre-register metric labels.
func Classes() []Class {
	return []Class{ClassOK, ClassRetryable, ClassInvalidToken, ClassConfig, ClassQuota, ClassIPWhitelist, ClassUnknown}
}

// String returns the stable label of the class.
func (c Class) String() string {
	switch c {
	case ClassOK:
		return "ok"
	case ClassRetryable:
		return "retryable"
	case ClassInvalidToken:
		return "invalid_token"
	case ClassConfig:
		return "config"
	case ClassQuota:
		return "quota"
	case ClassIPWhitelist:
		return "ip_whitelist"
	default:
		return "unknown"
	}
}

// codeClasses is the errcode table of wechat-api.md, for every endpoint
// (WeCom's overrides are in wecom.go).
var codeClasses = map[int]Class{
	-1:    ClassRetryable,
	40001: ClassInvalidToken,
	40014: ClassInvalidToken,
	42001: ClassInvalidToken,
	40013: ClassConfig,
	40125: ClassConfig,
	40243: ClassConfig,
	89501: ClassConfig,
	89503: ClassConfig,
	89506: ClassConfig,
	89507: ClassConfig,
	45009: ClassQuota,
	45011: ClassQuota,
	40164: ClassIPWhitelist,
}

// classifyCode looks an errcode up: WeCom's own meanings first at WeCom
// endpoints (40001 at gettoken is a bad secret, not a bad token), then the
// common table.
func classifyCode(endpoint string, code int) Class {
	if endpoint == PathWeComToken {
		if c, ok := weComTokenClasses[code]; ok {
			return c
		}
	}
	if isWeCom(endpoint) {
		if c, ok := weComCodeClasses[code]; ok {
			return c
		}
	}
	if c, ok := codeClasses[code]; ok {
		return c
	}
	return ClassUnknown
}

// Classify says what kind of failure err is. A cancelled context is
// ClassUnknown, not retryable: somebody chose to stop, and that is no sign
// about WeChat's health.
func Classify(err error) Class {
	if err == nil {
		return ClassOK
	}
	if errors.Is(err, context.Canceled) {
		return ClassUnknown
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return classifyCode(apiErr.Endpoint, apiErr.Code)
	}
	var respErr *ResponseError
	if errors.As(err, &respErr) {
		switch code := respErr.StatusCode; {
		case code == http.StatusOK, code >= 500, code == http.StatusTooManyRequests, code == http.StatusRequestTimeout:
			// A 200 here means a garbled or truncated answer: worth retrying.
			return ClassRetryable
		default:
			return ClassUnknown
		}
	}
	var reqErr *RequestError
	var netErr net.Error
	if errors.As(err, &reqErr) || errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return ClassRetryable
	}
	return ClassUnknown
}
