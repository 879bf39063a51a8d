// Package paykeys is what wechat_pay_api and wechat_pay_notify share about
// WeChat Pay API v3 keys: parsing (caddyfile.go), checking and loading the
// options that name them (the merchant's mch_id, serial_no and
// private_key, WeChat Pay's public key in public-key mode, the APIv3 key,
// api_base, max_body), and the platform keys answers and
// notifications are verified with — in public-key mode a file, in
// platform-certificate mode certificates fetched from GET /v3/certificates,
// kept in Caddy's storage for every instance that shares it, and refreshed.
//
// The cryptography is the sign package's; this package only loads, pools,
// fetches and stores. Its error texts name the directive and the option,
// never a key.
package paykeys

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

// DefaultAPIBase is WeChat Pay's API origin.
const DefaultAPIBase = "https://api.mch.weixin.qq.com"

// PublicKey names WeChat Pay's public key in public-key mode: the
// merchant's pub_key.pem and the PUB_KEY_ID_… that answers and
// notifications signed with it carry in Wechatpay-Serial.
type PublicKey struct {
	// Path to pub_key.pem (a PUBLIC KEY PEM block, RSA). Read once, when
	// the config is provisioned; `{env.NAME}` placeholders are resolved.
	Path string `json:"path,omitempty"`
	// The key's ID as WeChat Pay shows it, PUB_KEY_ID_ followed by
	// letters and digits.
	ID string `json:"id,omitempty"`
}

// maxMchID is WeChat Pay's limit for a merchant ID (mchid), which
// sign.NewRequestSigner enforces too.
const maxMchID = 32

// CheckMerchant checks the options that sign merchant API calls, as
// written: mch_id (digits), serial_no (hex) and private_key (a path). It
// reads nothing, so `caddy adapt` can run it.
func CheckMerchant(directive, mchID, serialNo, privateKey string) error {
	switch {
	case mchID == "":
		return fmt.Errorf("%s: mch_id is required", directive)
	case len(mchID) > maxMchID || strings.Trim(mchID, "0123456789") != "":
		return fmt.Errorf("%s: mch_id %q is not a WeChat Pay merchant ID (digits)", directive, mchID)
	case serialNo == "":
		return fmt.Errorf("%s: serial_no is required (the merchant API certificate's serial number)", directive)
	case !isHex(serialNo):
		return fmt.Errorf("%s: serial_no %q is not a certificate serial number in hex", directive, serialNo)
	case privateKey == "":
		return fmt.Errorf("%s: private_key is required (the path to apiclient_key.pem)", directive)
	}
	return nil
}

// CheckPublicKey checks a wechatpay_public_key option as written.
func CheckPublicKey(directive string, pk *PublicKey) error {
	if pk == nil {
		return nil
	}
	switch {
	case pk.Path == "":
		return fmt.Errorf("%s: wechatpay_public_key: the path to pub_key.pem is missing", directive)
	case !ValidPublicKeyID(pk.ID):
		return fmt.Errorf("%s: wechatpay_public_key: %q is not a public key ID (%s followed by letters and digits)", directive, pk.ID, sign.PublicKeyIDPrefix)
	}
	return nil
}

// ValidPublicKeyID reports whether id has the shape of a public key ID.
func ValidPublicKeyID(id string) bool {
	rest, ok := strings.CutPrefix(id, sign.PublicKeyIDPrefix)
	if !ok || rest == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// CheckAPIv3Key checks an apiv3_key as written: a placeholder is resolved
// only at provision time; a literal must be sign.APIv3KeySize bytes. The
// error states the length, never the value.
func CheckAPIv3Key(directive, raw string) error {
	if raw == "" || config.IsPlaceholder(raw) {
		return nil
	}
	if len(raw) != sign.APIv3KeySize {
		return fmt.Errorf("%s: apiv3_key: must be %d bytes, got %d (write {env.NAME} or {file.PATH})", directive, sign.APIv3KeySize, len(raw))
	}
	return nil
}

// CheckAPIBase checks api_base: an http(s) origin without a path.
func CheckAPIBase(directive, apiBase string) error {
	if err := config.CheckHTTPURL(apiBase, false); err != nil {
		return fmt.Errorf("%s: api_base: %v", directive, err)
	}
	return nil
}

// WarnAPIBase logs once per provision when api_base is not https: the
// certificates and the APIv3-key-encrypted data would cross the network
// in the clear (tests and the sandbox use http).
func WarnAPIBase(logger *zap.Logger, apiBase string) {
	if !strings.HasPrefix(apiBase, "https://") {
		logger.Warn("api_base is not https: calls to WeChat Pay would travel unencrypted; use it only for tests", zap.String("api_base", apiBase))
	}
}

// LoadSigner reads the merchant's private key and returns the signer of
// its API calls and a fingerprint of the signing identity (a hash of the
// mch_id, the serial and the public half of the key: nothing secret).
// Errors name the option and the file, never key material.
func LoadSigner(directive, mchID, serialNo, privateKey string) (*sign.RequestSigner, string, error) {
	path, err := caddy.NewReplacer().ReplaceOrErr(privateKey, true, true)
	if err != nil {
		return nil, "", fmt.Errorf("%s: private_key: %v", directive, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		// os errors name the operation and the path, which is not secret
		return nil, "", fmt.Errorf("%s: private_key: %v", directive, err)
	}
	key, err := sign.ParsePrivateKeyPEM(data)
	clear(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: private_key: %s: %v", directive, path, err)
	}
	s, err := sign.NewRequestSigner(mchID, serialNo, key)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %v", directive, err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, "", fmt.Errorf("%s: private_key: %v", directive, err)
	}
	return s, fingerprint("signer", mchID, strings.ToUpper(serialNo), string(pub)), nil
}

// LoadPublicKey reads pub_key.pem. Errors name the option and the file.
func LoadPublicKey(directive string, pk *PublicKey) (*rsa.PublicKey, error) {
	path, err := caddy.NewReplacer().ReplaceOrErr(pk.Path, true, true)
	if err != nil {
		return nil, fmt.Errorf("%s: wechatpay_public_key: %v", directive, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: wechatpay_public_key: %v", directive, err)
	}
	key, err := sign.ParsePublicKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: wechatpay_public_key: %s: %v", directive, path, err)
	}
	return key, nil
}

// LoadAPIv3Key resolves apiv3_key's placeholders and returns the key and a
// fingerprint of it (a truncated hash: the key cannot be recovered from
// it). A literal key works but is warned about: it sits in the JSON
// config, where Caddy's admin API shows it.
func LoadAPIv3Key(directive, raw string, logger *zap.Logger) (*sign.APIv3Key, string, error) {
	s, err := config.ResolveSecret(directive, "apiv3_key", raw)
	if err != nil {
		return nil, "", err
	}
	if !config.IsPlaceholder(raw) {
		logger.Warn("apiv3_key is written literally in the config, where the admin API shows it; use {env.NAME} or {file.PATH}")
	}
	key, err := sign.NewAPIv3Key(s)
	if err != nil {
		// sign's error states the length only
		return nil, "", fmt.Errorf("%s: apiv3_key: %v", directive, err)
	}
	return key, fingerprint("apiv3", s), nil
}

// PublicKeyFingerprint identifies a public key for pooling.
func PublicKeyFingerprint(id string, key *rsa.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(key)
	return fingerprint("public", id, string(der))
}

// fingerprint is 96 bits of a SHA-256 over the parts, under a fixed label:
// enough to tell configurations apart, far too little to recover a
// 32-character key from.
func fingerprint(parts ...string) string {
	h := sha256.New()
	h.Write([]byte("wechat_pay paykeys v1"))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func isHex(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
