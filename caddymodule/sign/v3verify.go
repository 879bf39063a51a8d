package sign

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The headers WeChat Pay signs its answers and notifications with.
const (
	HeaderTimestamp     = "Wechatpay-Timestamp"
	HeaderNonce         = "Wechatpay-Nonce"
	HeaderSignature     = "Wechatpay-Signature"
	HeaderSerial        = "Wechatpay-Serial"
	HeaderSignatureType = "Wechatpay-Signature-Type"
)

// PublicKeyIDPrefix starts the Wechatpay-Serial of an answer signed in
// public-key mode (PUB_KEY_ID_…, the default for new merchants); any other
// serial names a platform certificate.
const PublicKeyIDPrefix = "PUB_KEY_ID_"

// SignTestPrefix starts the signature of WeChat Pay's probe notifications,
// which check that a merchant does verify signatures: they must be refused.
const SignTestPrefix = "WECHATPAY/SIGNTEST/"

// MaxClockSkew is how far a Wechatpay-Timestamp may be from the local clock:
// WeChat Pay's rule is to refuse 5 minutes or more, either way, so that a
// captured answer or notification cannot be replayed later.
const MaxClockSkew = 5 * time.Minute

// VerifyError is the type of every error Verifier.Verify and
// ParseAuthorization return: the message is not proven to come from its
// claimed signer, which an HTTP handler answers with 401. Compare with
// errors.Is against the Err* values below; each text is a fixed phrase
// (at most a header or parameter name added), never a header value, a
// signature or a key, so it is safe to log.
type VerifyError struct{ reason string }

func (e *VerifyError) Error() string { return "sign: " + e.reason }

// Verify's refusals, each a *VerifyError.
var (
	// ErrMissingHeader: a Wechatpay-* header is absent or empty (a proxy
	// may have dropped it).
	ErrMissingHeader error = &VerifyError{"missing Wechatpay-* header"}
	// ErrSignatureType: Wechatpay-Signature-Type is present and not
	// AuthSchema.
	ErrSignatureType error = &VerifyError{"Wechatpay-Signature-Type is not " + AuthSchema}
	// ErrBadHeader: Wechatpay-Nonce or Wechatpay-Serial holds a control
	// character, which no honest answer does.
	ErrBadHeader error = &VerifyError{"malformed Wechatpay-* header"}
	// ErrBadTimestamp: Wechatpay-Timestamp is not a decimal number of
	// seconds.
	ErrBadTimestamp error = &VerifyError{"Wechatpay-Timestamp is not a decimal Unix time"}
	// ErrStaleTimestamp: Wechatpay-Timestamp is MaxClockSkew or more in the
	// past or the future.
	ErrStaleTimestamp error = &VerifyError{"Wechatpay-Timestamp is 5 minutes or more from the local clock"}
	// ErrSignTest: the signature is WeChat Pay's probe (SignTestPrefix).
	ErrSignTest error = &VerifyError{"Wechatpay-Signature is WeChat Pay's signature-test probe"}
	// ErrSignatureEncoding: Wechatpay-Signature is not standard base64 of
	// an RSA signature.
	ErrSignatureEncoding error = &VerifyError{"Wechatpay-Signature is not base64 of an RSA signature"}
	// ErrUnknownSerial: no key is known for Wechatpay-Serial. For a
	// platform-certificate serial the caller may refresh the certificates
	// (GET /v3/certificates, rate-limited) and verify again.
	ErrUnknownSerial error = &VerifyError{"no key for Wechatpay-Serial"}
	// ErrBadSignature: the signature does not verify: the body, timestamp
	// or nonce were altered, or the signer's key is not the one the serial
	// names.
	ErrBadSignature error = &VerifyError{"signature does not verify"}
)

// The four ErrMissingHeader errors, made once so that a flood of unsigned
// requests costs no allocation.
var (
	errNoTimestamp = fmt.Errorf("%w: %s", ErrMissingHeader, HeaderTimestamp)
	errNoNonce     = fmt.Errorf("%w: %s", ErrMissingHeader, HeaderNonce)
	errNoSignature = fmt.Errorf("%w: %s", ErrMissingHeader, HeaderSignature)
	errNoSerial    = fmt.Errorf("%w: %s", ErrMissingHeader, HeaderSerial)
)

// SignedHeaders holds the values of the Wechatpay-* headers of one answer
// or notification.
type SignedHeaders struct {
	Timestamp     string // Wechatpay-Timestamp
	Nonce         string // Wechatpay-Nonce
	Signature     string // Wechatpay-Signature, base64
	Serial        string // Wechatpay-Serial
	SignatureType string // Wechatpay-Signature-Type; may be empty
}

// ReadSignedHeaders reads the Wechatpay-* headers through get, which is
// typically an http.Header's Get method (the constants are in canonical
// form): taking a function keeps net/http out of this package.
func ReadSignedHeaders(get func(name string) string) SignedHeaders {
	return SignedHeaders{
		Timestamp:     get(HeaderTimestamp),
		Nonce:         get(HeaderNonce),
		Signature:     get(HeaderSignature),
		Serial:        get(HeaderSerial),
		SignatureType: get(HeaderSignatureType),
	}
}

// Verifier checks WeChat Pay's signatures on API answers and notifications
// against the platform keys it holds, by serial: PUB_KEY_ID_… public keys
// (public-key mode) and platform-certificate serials, both at once during a
// migration between the two.
//
// The zero value holds no key and uses time.Now. Verify is safe for
// concurrent use with itself and with SetPublicKeys and SetCertificates:
// readers load an immutable snapshot without locking, and a setter
// publishes a new one, so a certificate refresh never stalls verification.
type Verifier struct {
	// Now returns the current time for the timestamp check; nil means
	// time.Now. Set it before the Verifier is shared (tests inject a clock).
	Now func() time.Time

	mu   sync.Mutex // serialises setters, each of which rebuilds the snapshot
	keys atomic.Pointer[verifierKeys]
}

// verifierKeys is one immutable snapshot of a Verifier's keys.
type verifierKeys struct {
	public map[string]*rsa.PublicKey // PUB_KEY_ID_… → key
	certs  map[string]*rsa.PublicKey // certificate serial → key
	all    map[string]*rsa.PublicKey // both, for one lookup per Verify
}

// SetPublicKeys replaces the Verifier's public-mode keys with keys, a map
// from PUB_KEY_ID_… to the key (ParsePublicKeyPEM reads the merchant's
// pub_key.pem). The map is copied. The certificates are left as they are.
func (v *Verifier) SetPublicKeys(keys map[string]*rsa.PublicKey) error {
	for id, key := range keys {
		if !strings.HasPrefix(id, PublicKeyIDPrefix) || !quotable(id) {
			return fmt.Errorf("sign: a public key ID must start with %s and be printable ASCII", PublicKeyIDPrefix)
		}
		if err := checkPlatformKey(key); err != nil {
			return fmt.Errorf("sign: %w", err)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old := v.snapshot()
	v.keys.Store(newVerifierKeys(maps.Clone(keys), old.certs))
	return nil
}

// SetCertificates replaces the Verifier's platform-certificate keys with
// keys, a map from certificate serial (hex, stored upper-cased as WeChat
// Pay sends it) to the certificate's key, typically ParseCertificates'
// result. The map is copied. The public-mode keys are left as they are.
func (v *Verifier) SetCertificates(keys map[string]*rsa.PublicKey) error {
	certs := make(map[string]*rsa.PublicKey, len(keys))
	for serial, key := range keys {
		if !isHex(serial) {
			return errors.New("sign: a platform certificate serial must be hex")
		}
		if err := checkPlatformKey(key); err != nil {
			return fmt.Errorf("sign: %w", err)
		}
		certs[upperHex(serial)] = key
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old := v.snapshot()
	v.keys.Store(newVerifierKeys(old.public, certs))
	return nil
}

// Has reports whether the Verifier holds a key for serial.
func (v *Verifier) Has(serial string) bool {
	_, ok := v.snapshot().all[serial]
	return ok
}

func (v *Verifier) snapshot() *verifierKeys {
	if k := v.keys.Load(); k != nil {
		return k
	}
	return &verifierKeys{}
}

func newVerifierKeys(public, certs map[string]*rsa.PublicKey) *verifierKeys {
	all := make(map[string]*rsa.PublicKey, len(public)+len(certs))
	maps.Copy(all, public)
	maps.Copy(all, certs)
	return &verifierKeys{public: public, certs: certs, all: all}
}

// checkPlatformKey refuses keys a verification must not trust: a nil key or
// one shorter than MinRSABits, whose signatures could be forged.
func checkPlatformKey(key *rsa.PublicKey) error {
	if key == nil || key.N == nil {
		return errors.New("a platform key is nil")
	}
	if bits := key.N.BitLen(); bits < MinRSABits {
		return fmt.Errorf("a platform key has %d bits, fewer than %d", bits, MinRSABits)
	}
	return nil
}

// Verify checks that body, with the Wechatpay-* headers h, was signed by
// WeChat Pay: SHA256withRSA over TIMESTAMP\nNONCE\nBODY\n (an empty body
// still ends in "\n") with the key h.Serial names, a timestamp less than
// MaxClockSkew from v.Now, and not the signature-test probe. body is the raw
// body as received: any re-encoding breaks the signature. It returns nil or
// an error wrapping one of the *VerifyError values; ErrUnknownSerial is
// the one a certificate refresh may cure.
//
// The checks are ordered cheapest first, and the key lookup comes after the
// shape checks, so junk cannot trigger a certificate refresh.
func (v *Verifier) Verify(h SignedHeaders, body []byte) error {
	switch {
	case h.Timestamp == "":
		return errNoTimestamp
	case h.Nonce == "":
		return errNoNonce
	case h.Signature == "":
		return errNoSignature
	case h.Serial == "":
		return errNoSerial
	case h.SignatureType != "" && h.SignatureType != AuthSchema:
		return ErrSignatureType
	case hasControl(h.Nonce) || hasControl(h.Serial):
		return ErrBadHeader
	}
	ts, ok := parseUnixSeconds(h.Timestamp)
	if !ok {
		return ErrBadTimestamp
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	// Compared as now-skew < ts < now+skew rather than |now-ts| < skew, which
	// would overflow for a timestamp near the int64 limits.
	skew := int64(MaxClockSkew / time.Second)
	if t := now().Unix(); ts <= t-skew || ts >= t+skew {
		return ErrStaleTimestamp
	}
	if strings.HasPrefix(h.Signature, SignTestPrefix) {
		return ErrSignTest
	}
	hs := getV3Hasher()
	defer putV3Hasher(hs)
	enc := base64.StdEncoding
	if enc.DecodedLen(len(h.Signature)) > len(hs.sig) {
		return ErrSignatureEncoding
	}
	// decoded from a copy in buf: base64 takes []byte, and converting the
	// string would allocate
	n, err := enc.Decode(hs.sig[:], hs.buf[:copy(hs.buf[:], h.Signature)])
	if err != nil {
		return ErrSignatureEncoding
	}
	key := v.snapshot().all[h.Serial]
	if key == nil {
		return ErrUnknownSerial
	}
	sig := hs.sig[:n]
	hashAnswer(hs, h.Timestamp, h.Nonce, body)
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, hs.digest(), sig); err != nil {
		return ErrBadSignature
	}
	return nil
}

// hashAnswer hashes the message WeChat Pay signs: TIMESTAMP\nNONCE\nBODY\n.
func hashAnswer(h *v3Hasher, timestamp, nonce string, body []byte) {
	hashLine(h, timestamp)
	hashLine(h, nonce)
	h.lineBytes(body)
}

// parseUnixSeconds parses a timestamp of 1 to 18 decimal digits, no sign:
// WeChat Pay sends 10; 18 keep it far from int64 overflow.
func parseUnixSeconds(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// hasControl reports whether s holds a control byte: a newline in the nonce
// would let one signed message pass for another with the lines shifted.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}
