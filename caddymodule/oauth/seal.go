package oauth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
)

// keySize is the cookie key's length: AES-256.
const keySize = 32

// sealVersion is the first byte of every sealed value, so that a future
// format can be told apart (and an old one refused) without guessing.
const sealVersion = 1

// purpose separates what a sealed value is for: a state cookie never opens
// as a session cookie, nor the other way round.
type purpose uint8

const (
	purposeSession purpose = iota
	purposeState
	// purposeUsedState seals the records usedStates keeps in storage.
	purposeUsedState
	// purposeWeComSession seals a WeCom mode session cookie, whose
	// payload is not an Official Account session's.
	purposeWeComSession
	numPurposes
)

var purposeNames = [numPurposes]string{
	purposeSession:      "session",
	purposeState:        "state",
	purposeUsedState:    "used_state",
	purposeWeComSession: "wecom_session",
}

// sealer encrypts and authenticates cookie values, and the records of used
// states kept in storage, with AES-256-GCM. The additional data binds each
// value to its purpose and to the app (the AppID, or
// wecom/<corp_id>/<agent_id>: Handler.appKey), so that a cookie of another
// app sharing the storage never opens here.
type sealer struct {
	aead cipher.AEAD
	ad   [numPurposes][]byte
}

func newSealer(key []byte, appID string) (*sealer, error) {
	if len(key) != keySize {
		return nil, errors.New("cookie key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	s := &sealer{aead: aead}
	for p, name := range purposeNames {
		s.ad[p] = []byte("wechat_oauth\x00" + name + "\x00v1\x00" + appID)
	}
	return s, nil
}

// seal returns base64url(version | nonce | ciphertext+tag): cookie-safe
// characters only. Nonces are random: 96 bits leave no practical chance of
// a repeat at any number of sign-ins a site sees.
func (s *sealer) seal(p purpose, plaintext []byte) string {
	ns := s.aead.NonceSize()
	buf := make([]byte, 1+ns, 1+ns+len(plaintext)+s.aead.Overhead())
	buf[0] = sealVersion
	_, _ = rand.Read(buf[1:]) // never fails: crypto/rand crashes the program instead
	buf = s.aead.Seal(buf, buf[1:], plaintext, s.ad[p])
	return base64.RawURLEncoding.EncodeToString(buf)
}

// open returns the plaintext of a value seal made for p with the same key
// and app ID; anything else (tampered, truncated, another purpose, key or
// app, not base64url) is false.
func (s *sealer) open(p purpose, value string) ([]byte, bool) {
	ns := s.aead.NonceSize()
	limit := maxSealed
	if p == purposeUsedState {
		limit = maxSealedRecord
	}
	if len(value) > limit || base64.RawURLEncoding.DecodedLen(len(value)) < 1+ns+s.aead.Overhead() {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || raw[0] != sealVersion {
		return nil, false
	}
	plain, err := s.aead.Open(nil, raw[1:1+ns], raw[1+ns:], s.ad[p])
	if err != nil {
		return nil, false
	}
	return plain, true
}

// maxSealed bounds what open decodes: the longest value seal makes is well
// under the 4 KiB a browser keeps per cookie.
const maxSealed = 4096

// maxSealedRecord bounds what open decodes of a record usedStates read
// from storage: its JSON holds a return target of up to maxReturn bytes,
// which JSON escaping can make six times longer.
const maxSealedRecord = 64 << 10
