// Package paykeystest plays WeChat Pay API v3 for the tests of
// wechat_pay_api and wechat_pay_notify: it signs answers and
// notifications with the test platform keys (testdata/keys), encrypts
// resources and certificates with an APIv3 key, and serves a fake
// api.mch.weixin.qq.com that records what it is sent.
//
// Like the sandbox, it computes everything with its own few lines of
// crypto/rsa and crypto/cipher, never through the sign package, so that a
// bug in one is caught by the other. It is for tests only.
package paykeystest

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The test merchant and WeChat Pay's test keys (testdata/keys/README.md).
const (
	MchID          = "1900000001"
	MchSerial      = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1" // made up: the merchant certificate is not in testdata
	PlatformSerial = "4DD1D11017F309D28AD6CB59FA4F29411A31C830" // wechatpay_platform_cert.pem's
	PublicKeyID    = "PUB_KEY_ID_0114232134912410000000000000"
	APIv3Key       = "a7Kq9ZpX2mR4tW8yB3nC6vF1hJ5dL0sG" // 32 bytes
	OtherAPIv3Key  = "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp"
)

// The key files, in testdata/keys.
const (
	MerchantKeyFile     = "apiclient_key.pem"
	MerchantPubFile     = "apiclient_pub.pem"
	PlatformKeyFile     = "wechatpay_platform_key.pem"
	PlatformCertFile    = "wechatpay_platform_cert.pem"
	PublicModeKeyFile   = "wechatpay_pubkey_key.pem"
	PublicModePubFile   = "wechatpay_pub_key.pem"
	SignTestPrefix      = "WECHATPAY/SIGNTEST/"
	SignatureTypeHeader = "WECHATPAY2-SHA256-RSA2048"
)

// KeyPath returns the absolute path of a file in the repository's
// testdata/keys, found by walking up from the working directory to go.mod.
func KeyPath(t testing.TB, name string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "keys", name)
		}
		if filepath.Dir(dir) == dir {
			t.Fatalf("no go.mod above %s", wd)
		}
	}
}

// ReadKey returns a key file's bytes.
func ReadKey(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(KeyPath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// PrivateKey parses one of the PKCS#8 test keys.
func PrivateKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode(ReadKey(t, name))
	if block == nil {
		t.Fatalf("%s: no PEM", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return k.(*rsa.PrivateKey)
}

// Signer signs as WeChat Pay does: with a platform key, naming its serial.
type Signer struct {
	Key    *rsa.PrivateKey
	Serial string
}

// PlatformSigner signs with the test platform certificate's key.
func PlatformSigner(t testing.TB) Signer {
	return Signer{Key: PrivateKey(t, PlatformKeyFile), Serial: PlatformSerial}
}

// PublicModeSigner signs with the test public-key-mode key.
func PublicModeSigner(t testing.TB) Signer {
	return Signer{Key: PrivateKey(t, PublicModeKeyFile), Serial: PublicKeyID}
}

// Sign returns base64(SHA256withRSA(ts\nnonce\nbody\n)).
func Sign(key *rsa.PrivateKey, ts, nonce string, body []byte) string {
	digest := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// Headers returns the Wechatpay-* headers of body signed at time at with a
// fresh nonce.
func (s Signer) Headers(body []byte, at time.Time) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	nonce := Nonce()
	h := http.Header{}
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", Sign(s.Key, ts, nonce, body))
	h.Set("Wechatpay-Serial", s.Serial)
	h.Set("Wechatpay-Signature-Type", SignatureTypeHeader)
	h.Set("Request-Id", "08F4A4B5C10610"+nonce[:8])
	return h
}

// Nonce returns 32 random hex characters.
func Nonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// Resource is an AEAD_AES_256_GCM-encrypted object, as WeChat Pay sends it.
type Resource struct {
	OriginalType   string `json:"original_type,omitempty"`
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

// Seal encrypts plaintext with apiv3Key as WeChat Pay does: AES-256-GCM,
// the nonce's 12 bytes as the IV, the tag appended, base64.
func Seal(apiv3Key, aad string, plaintext []byte) Resource {
	block, err := aes.NewCipher([]byte(apiv3Key))
	if err != nil {
		panic(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	nonce := Nonce()[:12]
	return Resource{
		Algorithm:      "AEAD_AES_256_GCM",
		Ciphertext:     base64.StdEncoding.EncodeToString(gcm.Seal(nil, []byte(nonce), plaintext, []byte(aad))),
		AssociatedData: aad,
		Nonce:          nonce,
	}
}

// Transaction is a decrypted TRANSACTION.SUCCESS resource.
const Transaction = `{"mchid":"1900000001","appid":"wx0123456789abcdef","out_trade_no":"20260101123456789","transaction_id":"4200001234202601011234567890","trade_type":"JSAPI","trade_state":"SUCCESS","trade_state_desc":"支付成功","bank_type":"OTHERS","success_time":"2026-01-01T12:34:56+08:00","payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"}}`

// Notification returns a notification body carrying plaintext encrypted
// with apiv3Key.
func Notification(id, event, apiv3Key string, plaintext []byte) []byte {
	res := Seal(apiv3Key, "transaction", plaintext)
	res.OriginalType = "transaction"
	body, err := json.Marshal(map[string]any{
		"id":            id,
		"create_time":   "2026-01-01T12:34:56+08:00",
		"event_type":    event,
		"resource_type": "encrypt-resource",
		"summary":       "支付成功",
		"resource":      res,
	})
	if err != nil {
		panic(err)
	}
	return body
}

// Cert is a platform certificate as /v3/certificates hands it out.
type Cert struct {
	Serial string // upper-case hex
	PEM    []byte
}

// PlatformCert is the test platform certificate.
func PlatformCert(t testing.TB) Cert {
	return Cert{Serial: PlatformSerial, PEM: ReadKey(t, PlatformCertFile)}
}

// NewCert makes a fresh platform certificate and its key, standing in
// for the one WeChat Pay rotates to.
func NewCert(t testing.TB) (Cert, Signer) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	serial := new(big.Int).SetBytes([]byte(Nonce()[:20]))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"Tenpay.com"}, CommonName: "Tenpay.com sign (test only, rotated)"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ToUpper(serial.Text(16))
	return Cert{Serial: s, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, Signer{Key: key, Serial: s}
}

// CertificatesBody is a /v3/certificates answer listing certs, each
// encrypted with apiv3Key.
func CertificatesBody(apiv3Key string, certs ...Cert) []byte {
	type entry struct {
		SerialNo           string   `json:"serial_no"`
		EffectiveTime      string   `json:"effective_time"`
		ExpireTime         string   `json:"expire_time"`
		EncryptCertificate Resource `json:"encrypt_certificate"`
	}
	var data []entry
	for _, c := range certs {
		data = append(data, entry{
			SerialNo:           c.Serial,
			EffectiveTime:      "2026-01-01T00:00:00+08:00",
			ExpireTime:         "2031-01-01T00:00:00+08:00",
			EncryptCertificate: Seal(apiv3Key, "certificate", c.PEM),
		})
	}
	body, err := json.Marshal(map[string]any{"data": data})
	if err != nil {
		panic(err)
	}
	return body
}

// Request is one call the fake WeChat Pay received.
type Request struct {
	Method string
	URI    string // the request-target as it arrived
	Header http.Header
	Body   []byte
}

// Server is a fake api.mch.weixin.qq.com. Its zero value is not usable:
// make one with NewServer.
type Server struct {
	// Certificates are listed by /v3/certificates, encrypted with
	// CertAPIv3Key and signed by CertSigner.
	Certificates []Cert
	CertAPIv3Key string
	CertSigner   Signer

	// Answer answers every other call; nil answers 200 with Body signed
	// by Signer. Set them before the server runs, or with SetAnswer.
	Answer func(w http.ResponseWriter, r *http.Request, body []byte)
	Signer Signer
	Body   []byte

	mu          sync.Mutex
	requests    []Request
	certFetches atomic.Int32
}

// NewServer returns a fake WeChat Pay that lists the test platform
// certificate and signs its answers with the public-mode key.
func NewServer(t testing.TB) *Server {
	return &Server{
		Certificates: []Cert{PlatformCert(t)},
		CertAPIv3Key: APIv3Key,
		CertSigner:   PlatformSigner(t),
		Signer:       PublicModeSigner(t),
		Body:         []byte(`{"prepay_id":"wx201410272009395522657a690389285100"}`),
	}
}

// ServeHTTP records the call and answers it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()
	if r.URL.Path == "/v3/certificates" {
		s.certFetches.Add(1)
		s.mu.Lock()
		answer := CertificatesBody(s.CertAPIv3Key, s.Certificates...)
		signer := s.CertSigner
		s.mu.Unlock()
		WriteSigned(w, signer, http.StatusOK, answer)
		return
	}
	s.mu.Lock()
	answer, signer, answerBody := s.Answer, s.Signer, s.Body
	s.mu.Unlock()
	if answer != nil {
		answer(w, r, body)
		return
	}
	WriteSigned(w, signer, http.StatusOK, answerBody)
}

// SetAnswer replaces Answer while the server runs.
func (s *Server) SetAnswer(answer func(w http.ResponseWriter, r *http.Request, body []byte)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Answer = answer
}

// SetCertificates replaces what /v3/certificates lists and who signs it.
func (s *Server) SetCertificates(signer Signer, certs ...Cert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Certificates, s.CertSigner = certs, signer
}

// Requests returns the calls received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// CertFetches is the number of GET /v3/certificates received.
func (s *Server) CertFetches() int { return int(s.certFetches.Load()) }

// WriteSigned writes body with status, signed by signer now.
func WriteSigned(w http.ResponseWriter, signer Signer, status int, body []byte) {
	for k, v := range signer.Headers(body, time.Now()) {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// VerifyAuthorization checks a merchant's Authorization header for
// method, uri and body against the merchant public key pub, with its own
// parser. It returns the reason it is refused, or "".
func VerifyAuthorization(pub *rsa.PublicKey, auth, method, uri string, body []byte) string {
	params, ok := ParseAuthorization(auth)
	if !ok {
		return "malformed Authorization"
	}
	if params["mchid"] != MchID || params["serial_no"] != MchSerial {
		return "wrong mchid or serial_no"
	}
	ts, err := strconv.ParseInt(params["timestamp"], 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() >= 5*time.Minute {
		return "timestamp"
	}
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil {
		return "signature not base64"
	}
	digest := sha256.Sum256([]byte(method + "\n" + uri + "\n" + params["timestamp"] + "\n" + params["nonce_str"] + "\n" + string(body) + "\n"))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
		return "signature does not verify"
	}
	return ""
}

// ParseAuthorization splits WECHATPAY2-SHA256-RSA2048 k="v",… into its
// parameters.
func ParseAuthorization(auth string) (map[string]string, bool) {
	rest, ok := strings.CutPrefix(auth, SignatureTypeHeader+" ")
	if !ok {
		return nil, false
	}
	params := map[string]string{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return nil, false
		}
		params[k] = v[1 : len(v)-1]
	}
	for _, k := range []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"} {
		if params[k] == "" {
			return nil, false
		}
	}
	return params, len(params) == 5
}

// MerchantPublicKey is the test merchant's public key.
func MerchantPublicKey(t testing.TB) *rsa.PublicKey {
	return &PrivateKey(t, MerchantKeyFile).PublicKey
}

// SignedAnswer returns an Answer that writes body with status, signed by
// signer at now+skew, after mutate (if any) has had its way with the
// headers and the body: the tampering a test needs. It adds
// X-Upstream-Canary, a header a refused answer must not pass on.
func SignedAnswer(signer Signer, status int, body string, skew time.Duration, mutate func(h http.Header, body *string)) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		h := signer.Headers([]byte(body), time.Now().Add(skew))
		b := body
		if mutate != nil {
			mutate(h, &b)
		}
		for k, v := range h {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream-Canary", "leak")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(b))
	}
}

// Tampering, for SignedAnswer and notifications.
var (
	// TamperBody changes one byte of the body after signing.
	TamperBody = func(_ http.Header, body *string) {
		b := []byte(*body)
		b[len(b)/2] ^= 0x01
		*body = string(b)
	}
	// TamperSignature swaps a base64 letter of the signature for another:
	// it still decodes, and no longer verifies.
	TamperSignature = func(h http.Header, _ *string) {
		sig := []byte(h.Get("Wechatpay-Signature"))
		if sig[10] == 'A' {
			sig[10] = 'B'
		} else {
			sig[10] = 'A'
		}
		h.Set("Wechatpay-Signature", string(sig))
	}
	// DropSignature removes Wechatpay-Signature.
	DropSignature = func(h http.Header, _ *string) { h.Del("Wechatpay-Signature") }
	// SignTest makes the signature WeChat Pay's probe.
	SignTest = func(h http.Header, _ *string) {
		h.Set("Wechatpay-Signature", SignTestPrefix+h.Get("Wechatpay-Signature"))
	}
)
