package sign

import (
	"crypto"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sort"
	"strings"
)

// WeChat Pay signType values. SignTypeRSA is API v3's; the other two are
// API v2's, whose paySign is keyed with the merchant's API key.
const (
	SignTypeRSA        = "RSA"
	SignTypeMD5        = "MD5"
	SignTypeHMACSHA256 = "HMAC-SHA256"
)

// MinRSABits is the shortest merchant key accepted. WeChat issues 2048-bit
// keys; anything shorter is a mistake (or a test key) and is refused rather
// than used.
const MinRSABits = 2048

// PayV3 returns the API v3 paySign for chooseWXPay / getBrandWCPayRequest:
// base64(RSASSA-PKCS1-v1_5 SHA-256 over
// appID+"\n"+timeStamp+"\n"+nonceStr+"\n"+pkg+"\n"). pkg is the whole
// package value ("prepay_id=…"); signType is not part of what is signed.
// The result is deterministic for a given key and input.
func PayV3(key *rsa.PrivateKey, appID, timeStamp, nonceStr, pkg string) (string, error) {
	if key == nil {
		return "", errors.New("sign: PayV3: no private key")
	}
	msg := make([]byte, 0, len(appID)+len(timeStamp)+len(nonceStr)+len(pkg)+4)
	for _, line := range [...]string{appID, timeStamp, nonceStr, pkg} {
		msg = append(msg, line...)
		msg = append(msg, '\n')
	}
	digest := sha256.Sum256(msg)
	// PKCS#1 v1.5 signing is deterministic; the reader is only for the
	// blinding older Go versions did.
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		// rsa's errors describe sizes and never carry key material
		return "", fmt.Errorf("sign: PayV3: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// PayV2 returns the API v2 paySign of params: entries with an empty value
// and the "sign" entry are dropped, the rest are sorted by key in ASCII
// order and joined as k=v&…, "&key="+apiKey is appended, and the result is
// hashed with MD5 (signType "MD5") or HMAC-SHA256 keyed with apiKey
// (signType "HMAC-SHA256"), as uppercase hex. Values are used as given,
// without URL-encoding. For chooseWXPay the params are appId, timeStamp,
// nonceStr, package and signType.
func PayV2(params map[string]string, apiKey string, signType string) (string, error) {
	if apiKey == "" {
		return "", errors.New("sign: PayV2: empty API key")
	}
	var h hash.Hash
	switch signType {
	case SignTypeMD5:
		h = md5.New()
	case SignTypeHMACSHA256:
		h = hmac.New(sha256.New, []byte(apiKey))
	default:
		return "", fmt.Errorf("sign: PayV2: signType %q is not %s or %s", signType, SignTypeMD5, SignTypeHMACSHA256)
	}
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if v != "" && k != "sign" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys) // byte-wise, which is ASCII order
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
		b.WriteByte('&')
	}
	b.WriteString("key=")
	b.WriteString(apiKey)
	h.Write([]byte(b.String()))
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil))), nil
}
