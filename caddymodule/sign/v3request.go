package sign

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// AuthSchema is WeChat Pay API v3's signature scheme: the first word of a
// merchant's Authorization header and the value of WeChat Pay's
// Wechatpay-Signature-Type header.
const AuthSchema = "WECHATPAY2-SHA256-RSA2048"

// RequestNonceSize is the length of the nonce_str RequestSigner draws, the 32
// characters WeChat Pay's own SDKs send. It is two NonceSize nonces: 190
// bits from the same generator, so one draw path serves every nonce here.
const RequestNonceSize = 2 * NonceSize

// ErrRequest is wrapped by the errors RequestSigner returns for a method,
// URL or nonce it cannot put in a signed message: these are the caller's
// bugs, not WeChat's.
var ErrRequest = errors.New("sign: cannot sign this request")

// RequestSigner signs a merchant's outgoing WeChat Pay API v3 calls with the
// merchant's private key (apiclient_key.pem). It is immutable and safe for
// concurrent use; make one per merchant when the configuration loads.
type RequestSigner struct {
	key *rsa.PrivateKey
	// prefix is everything up to the nonce, serial everything from the
	// timestamp's end to the signature's start: fixed per merchant, so they
	// are built once and not per call.
	prefix string
	serial string
}

// NewRequestSigner returns a signer for merchant mchID whose API certificate
// has serial number serialNo (hex; WeChat prints it in upper case, and it is
// upper-cased here because Go's big.Int.Text gives lower case) and whose
// private key is key (from ParsePrivateKeyPEM). Its errors name the argument
// that is wrong, never its value.
func NewRequestSigner(mchID, serialNo string, key *rsa.PrivateKey) (*RequestSigner, error) {
	if key == nil {
		return nil, errors.New("sign: NewRequestSigner: no private key")
	}
	if bits := key.N.BitLen(); bits < MinRSABits {
		return nil, fmt.Errorf("sign: NewRequestSigner: the RSA key has %d bits, fewer than %d", bits, MinRSABits)
	}
	if mchID == "" || len(mchID) > 32 || !quotable(mchID) {
		return nil, errors.New("sign: NewRequestSigner: mchid must be 1 to 32 printable ASCII characters without quote or backslash")
	}
	if !isHex(serialNo) {
		return nil, errors.New("sign: NewRequestSigner: serial_no must be the API certificate's serial number in hex")
	}
	return &RequestSigner{
		key:    key,
		prefix: AuthSchema + ` mchid="` + mchID + `",nonce_str="`,
		serial: `",serial_no="` + upperHex(serialNo) + `",signature="`,
	}, nil
}

// AppendAuthorization appends to dst the Authorization header value for one
// API call, WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",
// timestamp="…",serial_no="…",signature="…", stamped with the current time
// and a fresh RequestNonceSize nonce, and returns the extended slice.
//
// method is the HTTP method in upper case, url the path with its query as
// it goes on the wire ("/v3/pay/transactions/jsapi",
// "/v3/certificates?x=1"), body the exact bytes sent (nil for GET). The
// signature is base64(SHA256withRSA(METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n)).
// Beyond what crypto/rsa needs, it allocates only if dst must grow (about
// 480 bytes for a 2048-bit key).
func (s *RequestSigner) AppendAuthorization(dst []byte, method, url string, body []byte) ([]byte, error) {
	var buf [RequestNonceSize]byte
	nonce := AppendNonce(AppendNonce(buf[:0])) // fits: no allocation
	return s.appendAuthorization(dst, method, url, body, time.Now().Unix(), nonce)
}

// Authorization is AppendAuthorization returning a string.
func (s *RequestSigner) Authorization(method, url string, body []byte) (string, error) {
	var buf [512]byte
	b, err := s.AppendAuthorization(buf[:0], method, url, body)
	return string(b), err
}

// AppendAuthorizationAt is AppendAuthorization with the timestamp (Unix
// seconds) and nonce given: for tests and replays that need a known message.
// The nonce must be 1 to 32 characters (WeChat Pay's limit) of printable
// ASCII without quote or backslash, and the timestamp not negative, or
// ParseAuthorization, like WeChat Pay, would not read the header.
func (s *RequestSigner) AppendAuthorizationAt(dst []byte, method, url string, body []byte, timestamp int64, nonce string) ([]byte, error) {
	if nonce == "" || len(nonce) > RequestNonceSize || !quotable(nonce) {
		return dst, fmt.Errorf("%w: the nonce must be 1 to 32 printable ASCII characters without quote or backslash", ErrRequest)
	}
	if timestamp < 0 {
		return dst, fmt.Errorf("%w: the timestamp is negative", ErrRequest)
	}
	return s.appendAuthorization(dst, method, url, body, timestamp, []byte(nonce))
}

func (s *RequestSigner) appendAuthorization(dst []byte, method, url string, body []byte, timestamp int64, nonce []byte) ([]byte, error) {
	if err := checkRequestLine(method, url); err != nil {
		return dst, err
	}
	h := getV3Hasher()
	defer putV3Hasher(h)
	hashRequest(h, method, url, timestamp, nonce, body)
	sig, err := rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, h.digest())
	if err != nil {
		// rsa's errors describe sizes and modes, never key material
		return dst, fmt.Errorf("sign: signing the request: %w", err)
	}
	dst = append(dst, s.prefix...)
	dst = append(dst, nonce...)
	dst = append(dst, `",timestamp="`...)
	dst = strconv.AppendInt(dst, timestamp, 10)
	dst = append(dst, s.serial...)
	dst = base64.StdEncoding.AppendEncode(dst, sig)
	return append(dst, '"'), nil
}

// hashRequest hashes the message a merchant signs:
// METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n.
func hashRequest(h *v3Hasher, method, url string, timestamp int64, nonce, body []byte) {
	hashLine(h, method)
	hashLine(h, url)
	hashLine(h, strconv.AppendInt(h.num[:0], timestamp, 10))
	hashLine(h, nonce)
	h.lineBytes(body)
}

// checkRequestLine refuses what would make the signed message ambiguous or
// differ from what goes on the wire: a newline in the method or URL would
// shift the lines WeChat Pay rebuilds, and a URL that is not an
// absolute path (a full https:// URL, a space) is not what WeChat Pay signs.
func checkRequestLine(method, url string) error {
	if method == "" || len(method) > 16 {
		return fmt.Errorf("%w: the method must be 1 to 16 upper-case letters", ErrRequest)
	}
	for i := 0; i < len(method); i++ {
		if c := method[i]; c < 'A' || c > 'Z' {
			return fmt.Errorf("%w: the method must be 1 to 16 upper-case letters", ErrRequest)
		}
	}
	if len(url) == 0 || url[0] != '/' {
		return fmt.Errorf("%w: the URL must be an absolute path with its query, such as /v3/pay/transactions/jsapi", ErrRequest)
	}
	for i := 0; i < len(url); i++ {
		if c := url[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("%w: the URL holds a space, control or non-ASCII byte; percent-encode it as it goes on the wire", ErrRequest)
		}
	}
	return nil
}

// quotable reports whether s can stand inside a quoted header parameter as
// is: printable ASCII other than '"' and '\\', so no escaping is ever
// needed and ParseAuthorization can stay strict.
func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// isHex reports whether s is a non-empty string of hex digits.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// upperHex upper-cases the hex digits of s (which isHex accepted).
func upperHex(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
