package sign

import (
	"fmt"
	"strings"
)

// ErrAuthorization is wrapped by every error ParseAuthorization returns. It
// is a *VerifyError: a request whose Authorization cannot be read is not
// proven to come from the merchant.
var ErrAuthorization error = &VerifyError{"malformed " + AuthSchema + " Authorization"}

// Authorization holds the parameters of a merchant's
// WECHATPAY2-SHA256-RSA2048 Authorization header, as sent: each a substring
// of the header, so parsing allocates nothing.
type Authorization struct {
	MchID     string // mchid
	NonceStr  string // nonce_str
	Timestamp string // timestamp: decimal Unix seconds
	SerialNo  string // serial_no: the merchant API certificate's serial
	Signature string // signature: base64, not checked here
}

// ParseAuthorization reads the value of an Authorization header in WeChat
// Pay API v3's form:
//
//	WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",timestamp="…",serial_no="…",signature="…"
//
// It is strict, as a reader of signed input should be: the schema followed
// by exactly one space, then the five parameters in any order, each exactly
// once, as key="value" joined by "," with no whitespace; values non-empty
// printable ASCII with no quote or backslash (WeChat's values need no
// escaping, so an escape is a sign of tampering); timestamp decimal. A
// parameter it does not know is refused rather than ignored, so that what
// it accepts is exactly what RequestSigner produces, up to order. Errors wrap
// ErrAuthorization and name a parameter at most, never a value.
func ParseAuthorization(header string) (Authorization, error) {
	var a Authorization
	rest, ok := strings.CutPrefix(header, AuthSchema+" ")
	if !ok {
		return Authorization{}, fmt.Errorf("%w: the schema is not %s followed by one space", ErrAuthorization, AuthSchema)
	}
	var seen [len(authKeys)]bool
	for {
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			return Authorization{}, fmt.Errorf("%w: a parameter has no '='", ErrAuthorization)
		}
		k := authKeyIndex(rest[:eq])
		if k < 0 {
			return Authorization{}, fmt.Errorf("%w: unknown parameter", ErrAuthorization)
		}
		if seen[k] {
			return Authorization{}, fmt.Errorf("%w: %s appears twice", ErrAuthorization, authKeys[k])
		}
		seen[k] = true
		rest = rest[eq+1:]
		if len(rest) < 2 || rest[0] != '"' {
			return Authorization{}, fmt.Errorf("%w: the value of %s is not quoted", ErrAuthorization, authKeys[k])
		}
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 {
			return Authorization{}, fmt.Errorf("%w: the value of %s has no closing quote", ErrAuthorization, authKeys[k])
		}
		val := rest[1 : 1+end]
		if val == "" || !quotable(val) {
			return Authorization{}, fmt.Errorf("%w: the value of %s is empty or not printable ASCII without backslash", ErrAuthorization, authKeys[k])
		}
		*a.field(k) = val
		rest = rest[end+2:]
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return Authorization{}, fmt.Errorf("%w: parameters must be separated by a single ',' without spaces", ErrAuthorization)
		}
		rest = rest[1:]
	}
	for k, ok := range seen {
		if !ok {
			return Authorization{}, fmt.Errorf("%w: %s is missing", ErrAuthorization, authKeys[k])
		}
	}
	if _, ok := parseUnixSeconds(a.Timestamp); !ok {
		return Authorization{}, fmt.Errorf("%w: timestamp is not a decimal Unix time", ErrAuthorization)
	}
	return a, nil
}

// authKeys are the parameters of an Authorization header, in the order
// RequestSigner writes them.
var authKeys = [...]string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"}

func authKeyIndex(k string) int {
	for i, known := range authKeys {
		if k == known {
			return i
		}
	}
	return -1
}

func (a *Authorization) field(k int) *string {
	switch k {
	case 0:
		return &a.MchID
	case 1:
		return &a.NonceStr
	case 2:
		return &a.Timestamp
	case 3:
		return &a.SerialNo
	default:
		return &a.Signature
	}
}
