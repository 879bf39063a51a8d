package pay

import (
	"errors"
	"fmt"
	"os"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
	"github.com/caddy-wechat/jssdk/caddymodule/sign"
	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// Defaults for the optional settings.
const (
	DefaultPrepayField = "prepay_id"
	DefaultOutputField = "wechat_pay"
	DefaultMaxBody     = 1 << 20
)

// MaxMaxBody is the largest max_body accepted: the body is held in memory,
// and an order response is a few hundred bytes.
const MaxMaxBody = 64 << 20

// maxFieldName bounds prepay_field and output_field: they are JSON member
// names, not documents.
const maxFieldName = 128

// applyDefaults fills in the defaults of the options left unset, and
// nothing else: Provision runs it on the handler, UnmarshalCaddyfile on a
// copy it validates, so the adapted JSON keeps only what the operator
// wrote.
func (h *Handler) applyDefaults() {
	if h.SignType == "" {
		if h.APIKey != "" && h.PrivateKey == "" {
			h.SignType = sign.SignTypeMD5
		} else {
			h.SignType = sign.SignTypeRSA
		}
	}
	if h.PrepayField == "" {
		h.PrepayField = DefaultPrepayField
	}
	if h.OutputField == "" {
		h.OutputField = DefaultOutputField
	}
	if h.MaxBody == 0 {
		h.MaxBody = DefaultMaxBody
	}
}

// Validate reports the first problem of the defaulted configuration (Caddy
// calls it after Provision; UnmarshalCaddyfile on a defaulted copy),
// naming the directive and the option. It changes nothing and reads no
// file, so that `caddy adapt` reports the same errors as a config load;
// the key itself is checked by Provision. Its errors never quote api_key.
func (h *Handler) Validate() error {
	if h.AppID == "" {
		return errors.New("wechat_pay: app_id is required")
	}
	if !wechat.ValidAppID(h.AppID) {
		return fmt.Errorf("wechat_pay: app_id %q is not a WeChat AppID (wx followed by letters and digits)", h.AppID)
	}
	switch {
	case h.PrivateKey != "" && h.APIKey != "":
		return errors.New("wechat_pay: private_key and api_key: give only one (private_key for API v3, api_key for API v2)")
	case h.PrivateKey == "" && h.APIKey == "":
		return errors.New("wechat_pay: private_key (API v3) or api_key (API v2) is required")
	}
	switch h.SignType {
	case sign.SignTypeRSA:
		if h.PrivateKey == "" {
			return errors.New("wechat_pay: sign_type: RSA needs private_key (the API v3 apiclient_key.pem), not api_key")
		}
	case sign.SignTypeMD5, sign.SignTypeHMACSHA256:
		if h.APIKey == "" {
			return fmt.Errorf("wechat_pay: sign_type: %s needs api_key (API v2); private_key signs RSA", h.SignType)
		}
	default:
		return fmt.Errorf("wechat_pay: sign_type: %q is not RSA, MD5 or HMAC-SHA256", h.SignType)
	}
	for _, f := range []struct{ opt, val string }{{"prepay_field", h.PrepayField}, {"output_field", h.OutputField}} {
		if len(f.val) > maxFieldName {
			return fmt.Errorf("wechat_pay: %s: longer than %d bytes", f.opt, maxFieldName)
		}
		if !utf8.ValidString(f.val) {
			// JSON would carry it as U+FFFD and it could never match
			return fmt.Errorf("wechat_pay: %s: not valid UTF-8", f.opt)
		}
	}
	if h.PrepayField == "" || h.OutputField == "" {
		// applyDefaults fills both: only a caller that skipped it gets here
		return errors.New("wechat_pay: prepay_field and output_field must not be empty")
	}
	if h.PrepayField == h.OutputField {
		return fmt.Errorf("wechat_pay: prepay_field and output_field are both %q", h.PrepayField)
	}
	if h.MaxBody < 1 || h.MaxBody > MaxMaxBody {
		return fmt.Errorf("wechat_pay: max_body: %d is not from 1 to %d bytes", h.MaxBody, MaxMaxBody)
	}
	return nil
}

// loadSigner reads the key the config names. Its errors name the option and
// the file, never key material.
func (h *Handler) loadSigner() (signer, error) {
	if h.PrivateKey != "" {
		// a path, not a secret: resolved but not trimmed, as written
		path, err := caddy.NewReplacer().ReplaceOrErr(h.PrivateKey, true, true)
		if err != nil {
			return nil, fmt.Errorf("wechat_pay: private_key: %v", err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			// os errors name the operation and the path, which is not secret
			return nil, fmt.Errorf("wechat_pay: private_key: %v", err)
		}
		key, err := sign.ParsePrivateKeyPEM(data)
		clear(data)
		if err != nil {
			return nil, fmt.Errorf("wechat_pay: private_key: %s: %v", path, err)
		}
		return rsaSigner(key), nil
	}
	apiKey, err := config.ResolveSecret("wechat_pay", "api_key", h.APIKey)
	if err != nil {
		return nil, err
	}
	if !config.IsPlaceholder(h.APIKey) {
		h.logger.Warn("api_key is written literally in the config, where the admin API shows it; use {env.NAME} or {file.PATH}")
	}
	return v2Signer(apiKey, h.SignType), nil
}
