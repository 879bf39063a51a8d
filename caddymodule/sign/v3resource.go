package sign

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// AlgorithmAES256GCM is the only algorithm WeChat Pay encrypts notification
// resources and platform certificates with.
const AlgorithmAES256GCM = "AEAD_AES_256_GCM"

// APIv3KeySize is the length of a merchant's APIv3 key: 32 characters,
// used as they are as an AES-256 key.
const APIv3KeySize = 32

// gcmNonceSize and gcmTagSize are WeChat Pay's GCM parameters, which are
// Go's standard ones: cipher.NewGCM takes 12-byte nonces only (and panics on
// any other length, so the length is checked before Open), and the 16-byte
// tag ends the ciphertext.
const (
	gcmNonceSize = 12
	gcmTagSize   = 16
)

// ResourceError is the type of the errors about an encrypted resource and
// the JSON around it (ParseNotification, APIv3Key.Decrypt,
// ParseCertificates): the body is not what WeChat Pay sends, which a
// handler answers with 400 — except ErrDecrypt on a notification whose
// signature verified, which means the configured APIv3 key is wrong. Each
// text is a fixed phrase, never a key, a ciphertext or a plaintext.
type ResourceError struct{ reason string }

func (e *ResourceError) Error() string { return "sign: " + e.reason }

// The refusals of an encrypted resource, each a *ResourceError.
var (
	// ErrNotification: the body is not a WeChat Pay v3 notification.
	ErrNotification error = &ResourceError{"not a WeChat Pay notification"}
	// ErrCertificates: the body is not a /v3/certificates answer, or a
	// certificate in it is unusable.
	ErrCertificates error = &ResourceError{"not a usable /v3/certificates answer"}
	// ErrAlgorithm: the resource's algorithm is not AlgorithmAES256GCM.
	ErrAlgorithm error = &ResourceError{"resource algorithm is not " + AlgorithmAES256GCM}
	// ErrNonceSize: the resource's nonce is not 12 bytes.
	ErrNonceSize error = &ResourceError{"resource nonce is not 12 bytes"}
	// ErrCiphertext: the resource's ciphertext is empty, not standard
	// base64, or no longer than a GCM tag.
	ErrCiphertext error = &ResourceError{"resource ciphertext is empty, not base64 or shorter than a GCM tag"}
	// ErrDecrypt: GCM authentication failed: the APIv3 key is not the one
	// WeChat Pay encrypted with, or the ciphertext, nonce or associated
	// data were altered.
	ErrDecrypt error = &ResourceError{"resource does not decrypt: wrong APIv3 key, or altered resource"}
)

// APIv3Key is a merchant's APIv3 key, ready to decrypt WeChat Pay's
// AEAD_AES_256_GCM resources. Build it once per configuration: the AES key
// schedule and GCM tables are made here, not per notification. It is safe
// for concurrent use (Go's GCM keeps no state between calls), and it prints
// as redacted.
type APIv3Key struct {
	aead cipher.AEAD
}

// NewAPIv3Key returns the APIv3 key key, which must be APIv3KeySize bytes.
// Its errors state the length, never the key.
func NewAPIv3Key(key string) (*APIv3Key, error) {
	if len(key) != APIv3KeySize {
		return nil, fmt.Errorf("sign: the APIv3 key must be %d bytes, got %d", APIv3KeySize, len(key))
	}
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		return nil, errors.New("sign: the APIv3 key is not a usable AES-256 key")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		// only in FIPS 140-only mode, which refuses GCM with given nonces
		return nil, fmt.Errorf("sign: AES-GCM: %w", err)
	}
	return &APIv3Key{aead: aead}, nil
}

// String keeps the key out of logs and %v.
func (k *APIv3Key) String() string { return "sign.APIv3Key(redacted)" }

// GoString keeps the key out of %#v.
func (k *APIv3Key) GoString() string { return k.String() }

// EncryptedResource is an AEAD_AES_256_GCM-encrypted object: a
// notification's resource, or a /v3/certificates entry's
// encrypt_certificate.
type EncryptedResource struct {
	OriginalType   string `json:"original_type"` // notifications only: "transaction", "refund", …
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"` // base64; the GCM tag is its last 16 bytes
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"` // the IV, as its bytes
}

// Decrypt appends r's plaintext to dst and returns the extended slice. The
// IV is the bytes of r.Nonce, the additional data the bytes of
// r.AssociatedData (possibly empty). On error it returns dst unchanged and
// an error wrapping ErrAlgorithm, ErrNonceSize, ErrCiphertext or ErrDecrypt.
//
// It decodes and decrypts in place in dst's spare room, which it grows to
// about 1.75 times the base64 text when short: a caller that reuses dst
// decrypts without allocating. The room past the returned length then holds
// the ciphertext, nonce and additional data, none of them secret.
func (k *APIv3Key) Decrypt(dst []byte, r *EncryptedResource) ([]byte, error) {
	switch {
	case r.Algorithm != AlgorithmAES256GCM:
		return dst, ErrAlgorithm
	case len(r.Nonce) != gcmNonceSize:
		return dst, ErrNonceSize
	case r.Ciphertext == "":
		return dst, ErrCiphertext
	}
	// Layout after dst: [decoded ciphertext | nonce | aad | base64 text].
	// base64 and GCM take []byte, and converting the strings would allocate
	// each time; the plaintext is written over the decoded ciphertext,
	// which GCM allows for exactly overlapping buffers.
	enc := base64.StdEncoding
	base, maxCT := len(dst), enc.DecodedLen(len(r.Ciphertext))
	need := maxCT + len(r.Nonce) + len(r.AssociatedData) + len(r.Ciphertext)
	buf := slices.Grow(dst, need)[:base+need]
	ct := buf[base : base+maxCT]
	nonce := buf[base+maxCT : base+maxCT+len(r.Nonce)]
	aad := buf[base+maxCT+len(r.Nonce) : base+maxCT+len(r.Nonce)+len(r.AssociatedData)]
	text := buf[base+maxCT+len(r.Nonce)+len(r.AssociatedData):]
	copy(nonce, r.Nonce)
	copy(aad, r.AssociatedData)
	copy(text, r.Ciphertext)
	n, err := enc.Decode(ct, text)
	if err != nil || n <= gcmTagSize {
		return dst, ErrCiphertext
	}
	out, err := k.aead.Open(buf[:base], nonce, ct[:n], aad)
	if err != nil {
		return dst, ErrDecrypt
	}
	return out, nil
}

// Notification is the body WeChat Pay posts to a merchant's notify_url.
type Notification struct {
	ID           string            `json:"id"`            // unique per notification: the key to de-duplicate retries by
	CreateTime   string            `json:"create_time"`   // RFC 3339
	EventType    string            `json:"event_type"`    // TRANSACTION.SUCCESS, REFUND.SUCCESS, …
	ResourceType string            `json:"resource_type"` // "encrypt-resource"
	Summary      string            `json:"summary"`
	Resource     EncryptedResource `json:"resource"`
}

// ResourceTypeEncrypted is the resource_type of every notification whose
// resource Decrypt can open.
const ResourceTypeEncrypted = "encrypt-resource"

// maxNotificationID bounds the id a caller will use as a de-duplication
// key; WeChat's are about 36 characters.
const maxNotificationID = 128

// ParseNotification reads a notification body. It requires an id of
// printable ASCII (at most 128 bytes, since callers key de-duplication by
// it), an event_type, resource_type "encrypt-resource" and a resource with
// algorithm, nonce and ciphertext; Decrypt checks their values. Unknown
// fields are ignored, as WeChat Pay may add some. Verify the body's
// signature first: this is parsing, not authentication.
func ParseNotification(body []byte) (*Notification, error) {
	n := new(Notification)
	if err := json.Unmarshal(body, n); err != nil {
		// json's messages can quote the body; a fixed phrase is enough
		return nil, fmt.Errorf("%w: not a JSON object of the notification's shape", ErrNotification)
	}
	switch {
	case n.ID == "" || len(n.ID) > maxNotificationID || !quotable(n.ID):
		return nil, fmt.Errorf("%w: id is missing, longer than %d bytes or not printable ASCII", ErrNotification, maxNotificationID)
	case n.EventType == "":
		return nil, fmt.Errorf("%w: event_type is missing", ErrNotification)
	case n.ResourceType != ResourceTypeEncrypted:
		return nil, fmt.Errorf("%w: resource_type is not %s", ErrNotification, ResourceTypeEncrypted)
	case n.Resource.Algorithm == "" || n.Resource.Nonce == "" || n.Resource.Ciphertext == "":
		return nil, fmt.Errorf("%w: resource lacks algorithm, nonce or ciphertext", ErrNotification)
	}
	return n, nil
}

// CertificateAAD is the associated data of every encrypt_certificate in a
// /v3/certificates answer.
const CertificateAAD = "certificate"

// certificatesAnswer is the body of GET /v3/certificates.
type certificatesAnswer struct {
	Data []struct {
		SerialNo           string            `json:"serial_no"`
		EffectiveTime      string            `json:"effective_time"`
		ExpireTime         string            `json:"expire_time"`
		EncryptCertificate EncryptedResource `json:"encrypt_certificate"`
	} `json:"data"`
}

// ParseCertificates reads a GET /v3/certificates answer, decrypts each
// entry's certificate with key and returns its public key by serial
// (upper-case hex), ready for Verifier.SetCertificates. It refuses the
// whole answer if any entry is unusable: an associated_data other than
// "certificate" (so that a notification resource, encrypted with the same
// key, cannot pass for a certificate), a failed decryption, a PEM that is
// not one X.509 certificate, a key that is not RSA of MinRSABits or more,
// or a certificate whose serial is not the entry's serial_no. Validity
// dates are not checked: WeChat Pay lists a certificate while it may still
// sign, and the answer's signature is the caller's to verify (with a
// Verifier holding these very keys on the first download: the APIv3 key's
// AEAD is what vouches for them then).
func ParseCertificates(body []byte, key *APIv3Key) (map[string]*rsa.PublicKey, error) {
	var answer certificatesAnswer
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object of the answer's shape", ErrCertificates)
	}
	if len(answer.Data) == 0 {
		return nil, fmt.Errorf("%w: no certificates in data", ErrCertificates)
	}
	keys := make(map[string]*rsa.PublicKey, len(answer.Data))
	var buf []byte
	for i := range answer.Data {
		entry := &answer.Data[i]
		if !isHex(entry.SerialNo) {
			return nil, fmt.Errorf("%w: entry %d: serial_no is not hex", ErrCertificates, i)
		}
		serial := upperHex(entry.SerialNo)
		if _, dup := keys[serial]; dup {
			return nil, fmt.Errorf("%w: entry %d: serial_no appears twice", ErrCertificates, i)
		}
		if entry.EncryptCertificate.AssociatedData != CertificateAAD {
			return nil, fmt.Errorf("%w: entry %d: associated_data is not %q", ErrCertificates, i, CertificateAAD)
		}
		var err error
		if buf, err = key.Decrypt(buf[:0], &entry.EncryptCertificate); err != nil {
			return nil, fmt.Errorf("sign: /v3/certificates entry %d: %w", i, err)
		}
		pub, err := certificateKey(buf, serial)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d: %s", ErrCertificates, i, err)
		}
		keys[serial] = pub
	}
	return keys, nil
}

// certificateKey returns the RSA key of the PEM certificate in data, whose
// serial number must be serial (hex).
func certificateKey(data []byte, serial string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("the decrypted text is not a PEM CERTIFICATE")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, errors.New("the certificate does not parse as X.509")
	}
	want, _ := new(big.Int).SetString(serial, 16)
	if cert.SerialNumber == nil || cert.SerialNumber.Cmp(want) != 0 {
		return nil, errors.New("the certificate's serial number is not serial_no")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("the certificate's key is not RSA")
	}
	if err := checkPlatformKey(pub); err != nil {
		return nil, err
	}
	return pub, nil
}
