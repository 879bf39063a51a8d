package wechat

import (
	"fmt"
	"time"
)

// Credential is an access token or a jsapi_ticket with the lifetime WeChat
// granted it, counted from the moment WeChat answered.
//
// Its String, GoString and Format methods never print Value, so a Credential
// logged or formatted by mistake (%v, %+v, %#v, %s, %q, %x, %d…) leaks
// nothing. Read Value explicitly where the secret is really needed.
type Credential struct {
	// Value is the secret itself: the access_token or the ticket.
	Value string
	// ExpiresIn is WeChat's expires_in.
	ExpiresIn time.Duration
}

// String describes the credential without its value.
func (c Credential) String() string {
	return fmt.Sprintf("wechat.Credential{Value:%s, ExpiresIn:%s}", redactedValue(c.Value), c.ExpiresIn)
}

// GoString is String: %#v must not print the value either.
func (c Credential) GoString() string { return c.String() }

// Format prints String for every verb. Without it, verbs a Stringer does not
// cover (%d, %t…) would make fmt print the fields raw, Value included.
func (c Credential) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// redactedValue says whether a value is there and how long it is, which is
// what one needs when debugging, without saying what it is.
func redactedValue(v string) string {
	if v == "" {
		return `""`
	}
	return fmt.Sprintf("[REDACTED %d bytes]", len(v))
}
