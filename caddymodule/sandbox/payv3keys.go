package sandbox

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
)

// WechatpayKey is WeChat Pay's key in public-key mode, as the sandbox
// holds it: the private half (the merchant holds the public half as
// pub_key.pem) and the ID that names it in Wechatpay-Serial.
type WechatpayKey struct {
	// Path to the private key (PEM, PKCS#8 or PKCS#1 RSA). `{env.NAME}`
	// placeholders in the path are resolved.
	Path string `json:"path,omitempty"`
	// The key's ID: PUB_KEY_ID_ followed by letters, digits or '_'.
	ID string `json:"id,omitempty"`
}

// WechatpayCertificate is a platform certificate and its private key, as
// WeChat Pay holds them in platform-certificate mode.
type WechatpayCertificate struct {
	// Path to the certificate (PEM). Its serial number is what answers
	// and notifications name in Wechatpay-Serial, and what GET
	// /v3/certificates lists it under.
	Certificate string `json:"certificate,omitempty"`
	// Path to the certificate's private key (PEM, PKCS#8 or PKCS#1 RSA).
	Key string `json:"key,omitempty"`
}

// DemoBackend configures the demo's order backend (demo.go).
type DemoBackend struct {
	// The URL under which the site's wechat_pay_api route reaches WeChat
	// Pay (here: this sandbox), such as http://localhost:8080/wechatpay:
	// the backend calls {pay_api}/v3/pay/transactions/jsapi with plain,
	// unsigned HTTP.
	PayAPI string `json:"pay_api,omitempty"`
	// The notify_url the backend puts in its orders: the site's
	// wechat_pay_notify route, such as http://localhost:8080/pay/notify.
	NotifyURL string `json:"notify_url,omitempty"`
}

// payV3 is WeChat Pay's side of API v3, loaded by Provision.
type payV3 struct {
	// merchantSerial is merchant_serial in upper case, as WeChat prints it.
	merchantSerial string
	mchID          string
	// Public-key mode; pubKey nil when not configured.
	pubKeyID string
	pubKey   *rsa.PrivateKey
	// Platform-certificate mode; certKey nil when not configured.
	certSerial string
	certPEM    []byte
	certFrom   time.Time
	certUntil  time.Time
	certKey    *rsa.PrivateKey
	// apiv3 is the 32-byte APIv3 key.
	apiv3 []byte
}

// apiv3KeySize is the length of an APIv3 key, which is an AES-256 key.
const apiv3KeySize = 32

// publicKeyIDPrefix starts the ID of a key in public-key mode.
const publicKeyIDPrefix = "PUB_KEY_ID_"

// validatePayV3 checks the WeChat Pay v3 options as written: Validate's
// part for them. It reads nothing.
func (h *Handler) validatePayV3() error {
	if h.MerchantSerial == "" {
		for _, o := range []struct {
			name string
			set  bool
		}{
			{"mch_id", h.MchID != ""},
			{"wechatpay_private_key", h.WechatpayPrivateKey != nil},
			{"wechatpay_certificate", h.WechatpayCertificate != nil},
			{"apiv3_key", h.APIv3Key != ""},
			{"demo_backend", h.DemoBackend != nil},
		} {
			if o.set {
				return fmt.Errorf("%s: %s: needs merchant_serial, which switches WeChat Pay API v3 on", directive, o.name)
			}
		}
		return nil
	}
	switch {
	case !isHexSerial(h.MerchantSerial):
		return fmt.Errorf("%s: merchant_serial: %q is not a certificate serial number in hex", directive, h.MerchantSerial)
	case h.MerchantPublicKey == "":
		return fmt.Errorf("%s: merchant_serial: needs merchant_public_key, which checks the merchant's signatures", directive)
	case h.APIv3Key == "":
		return fmt.Errorf("%s: merchant_serial: needs apiv3_key, which encrypts notifications and certificates", directive)
	case h.WechatpayPrivateKey == nil && h.WechatpayCertificate == nil:
		return fmt.Errorf("%s: merchant_serial: needs wechatpay_private_key (public-key mode) or wechatpay_certificate (platform certificates) to sign answers and notifications", directive)
	case h.MchID != "" && !isMchID(h.MchID):
		return fmt.Errorf("%s: mch_id: %q is not a WeChat Pay merchant ID (digits)", directive, h.MchID)
	}
	if k := h.WechatpayPrivateKey; k != nil {
		if k.Path == "" {
			return fmt.Errorf("%s: wechatpay_private_key: the path is missing", directive)
		}
		if !validPublicKeyID(k.ID) {
			return fmt.Errorf("%s: wechatpay_private_key: %q is not a public key ID (%s followed by letters and digits)", directive, k.ID, publicKeyIDPrefix)
		}
	}
	if c := h.WechatpayCertificate; c != nil && (c.Certificate == "" || c.Key == "") {
		return fmt.Errorf("%s: wechatpay_certificate: needs the path to the certificate and the path to its private key", directive)
	}
	if !config.IsPlaceholder(h.APIv3Key) && len(h.APIv3Key) != apiv3KeySize {
		// the length only: the value is a secret
		return fmt.Errorf("%s: apiv3_key: must be %d bytes, got %d (write {env.NAME} or {file.PATH})", directive, apiv3KeySize, len(h.APIv3Key))
	}
	if b := h.DemoBackend; b != nil {
		if h.MchID == "" {
			return fmt.Errorf("%s: demo_backend: needs mch_id, the merchant its orders are for", directive)
		}
		// CheckHTTPURL's errors do not repeat a URL that carries user info
		if err := config.CheckHTTPURL(b.PayAPI, true); err != nil {
			return fmt.Errorf("%s: demo_backend: the wechat_pay_api URL: %v", directive, err)
		}
		if strings.Contains(b.PayAPI, "?") {
			return fmt.Errorf("%s: demo_backend: the wechat_pay_api URL must not carry a query", directive)
		}
		if err := checkNotifyURL(b.NotifyURL); err != "" {
			return fmt.Errorf("%s: demo_backend: notify_url: %s", directive, err)
		}
	}
	return nil
}

// loadPayV3 reads the v3 keys for Provision.
func (h *Handler) loadPayV3() (*payV3, error) {
	v := &payV3{merchantSerial: strings.ToUpper(h.MerchantSerial), mchID: h.MchID}
	key, err := config.ResolveSecret(directive, "apiv3_key", h.APIv3Key)
	if err != nil {
		return nil, err
	}
	if len(key) != apiv3KeySize {
		return nil, fmt.Errorf("%s: apiv3_key: must be %d bytes, got %d", directive, apiv3KeySize, len(key))
	}
	v.apiv3 = []byte(key)
	if k := h.WechatpayPrivateKey; k != nil {
		v.pubKeyID = k.ID
		if v.pubKey, err = loadPrivateKey(k.Path); err != nil {
			return nil, fmt.Errorf("%s: wechatpay_private_key: %v", directive, err)
		}
	}
	if c := h.WechatpayCertificate; c != nil {
		if err := v.loadCertificate(c); err != nil {
			return nil, fmt.Errorf("%s: wechatpay_certificate: %v", directive, err)
		}
	}
	return v, nil
}

// loadCertificate reads the platform certificate and its key, which must
// belong together.
func (v *payV3) loadCertificate(c *WechatpayCertificate) error {
	path, err := caddy.NewReplacer().ReplaceOrErr(c.Certificate, true, true)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		return fmt.Errorf("%s: no PEM CERTIFICATE", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%s: the certificate's key is not RSA", path)
	}
	key, err := loadPrivateKey(c.Key)
	if err != nil {
		return err
	}
	if !key.PublicKey.Equal(pub) {
		return errors.New("the private key is not the certificate's")
	}
	v.certKey = key
	v.certSerial = strings.ToUpper(cert.SerialNumber.Text(16))
	v.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})
	v.certFrom, v.certUntil = cert.NotBefore, cert.NotAfter
	return nil
}

// loadPrivateKey reads an RSA private key (PKCS#8 or PKCS#1 PEM). Errors
// name the file, never key material.
func loadPrivateKey(p string) (*rsa.PrivateKey, error) {
	path, err := caddy.NewReplacer().ReplaceOrErr(p, true, true)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: not a PKCS#8 private key", path)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s: not an RSA key", path)
		}
		return rk, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: not a PKCS#1 private key", path)
		}
		return k, nil
	}
	return nil, fmt.Errorf("%s: PEM block %q is not a private key", path, block.Type)
}

// signer returns the platform key an answer or a notification is signed
// with, and the serial that names it. With both modes configured (a
// migration) the two take turns, as a merchant must expect either.
func (h *Handler) signer() (serial string, key *rsa.PrivateKey) {
	v := h.v3
	switch {
	case v.pubKey != nil && v.certKey != nil:
		if h.state.signings.Add(1)%2 == 1 {
			return v.pubKeyID, v.pubKey
		}
		return v.certSerial, v.certKey
	case v.pubKey != nil:
		return v.pubKeyID, v.pubKey
	}
	return v.certSerial, v.certKey
}

func isHexSerial(s string) bool {
	return s != "" && len(s) <= 64 && strings.Trim(s, "0123456789abcdefABCDEF") == ""
}

func isMchID(s string) bool {
	return s != "" && len(s) <= 32 && strings.Trim(s, "0123456789") == ""
}

func validPublicKeyID(id string) bool {
	rest, ok := strings.CutPrefix(id, publicKeyIDPrefix)
	return ok && rest != "" && len(id) <= 128 &&
		strings.Trim(rest, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_") == ""
}
