package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"nil", nil, ClassOK},
		{"busy", &APIError{Code: -1}, ClassRetryable},
		{"wrapped invalid token", fmt.Errorf("ticket: %w", &APIError{Code: 42001}), ClassInvalidToken},
		{"unlisted code", &APIError{Code: 61024}, ClassUnknown},
		{"canceled", context.Canceled, ClassUnknown},
		{"canceled request", &RequestError{Err: context.Canceled}, ClassUnknown},
		{"deadline", context.DeadlineExceeded, ClassRetryable},
		{"request", &RequestError{Err: io.ErrUnexpectedEOF}, ClassRetryable},
		{"bare net error", &net.OpError{Op: "dial", Err: errors.New("refused")}, ClassRetryable},
		{"503", &ResponseError{StatusCode: 503}, ClassRetryable},
		{"403", &ResponseError{StatusCode: 403}, ClassUnknown},
		{"garbled 200", &ResponseError{StatusCode: 200}, ClassRetryable},
		{"other", errors.New("boom"), ClassUnknown},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("%s: Classify = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestClassNames pins the labels: they become metric labels.
func TestClassNames(t *testing.T) {
	want := map[Class]string{
		ClassOK: "ok", ClassRetryable: "retryable", ClassInvalidToken: "invalid_token", ClassConfig: "config",
		ClassQuota: "quota", ClassIPWhitelist: "ip_whitelist", ClassUnknown: "unknown", Class(99): "unknown",
	}
	for c, name := range want {
		if c.String() != name {
			t.Errorf("Class(%d).String() = %q, want %q", int(c), c.String(), name)
		}
	}
	if ClassUnknown != 0 || ClassRetryable != 1 || ClassInvalidToken != 2 || ClassConfig != 3 || ClassQuota != 4 || ClassIPWhitelist != 5 {
		t.Error("the agreed class values changed")
	}
	seen := map[Class]bool{}
	for _, c := range Classes() {
		seen[c] = true
	}
	if len(seen) != 7 {
		t.Errorf("Classes() = %v, want the 7 distinct classes", Classes())
	}
}
