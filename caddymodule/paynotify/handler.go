package paynotify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/identity"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/logonce"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys"
	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

// directive names the handler in errors and logs.
const directive = "wechat_pay_notify"

// Defaults and limits.
const (
	DefaultMaxBody = 1 << 20
	MaxMaxBody     = 16 << 20
)

// Handler verifies and decrypts WeChat Pay API v3 notifications and passes
// the backend the decrypted JSON.
type Handler struct {
	// The merchant's APIv3 key, which decrypts the notifications' resources
	// (and, in platform-certificate mode, the certificates). Write
	// `{env.NAME}` or `{file.PATH}`: a literal key sits in the JSON config,
	// where Caddy's admin API shows it (and is warned about). Required.
	APIv3Key string `json:"apiv3_key,omitempty"`

	// Public-key mode: WeChat Pay's public key (pub_key.pem) and its ID
	// (PUB_KEY_ID_…).
	WechatpayPublicKey *paykeys.PublicKey `json:"wechatpay_public_key,omitempty"`

	// Platform-certificate mode: the merchant ID, the merchant API
	// certificate's serial and the path to its private key, with which
	// GET {api_base}/v3/certificates is signed. All three, or none; at
	// least one of the two modes is required, both during a migration.
	MchID      string `json:"mch_id,omitempty"`
	SerialNo   string `json:"serial_no,omitempty"`
	PrivateKey string `json:"private_key,omitempty"`

	// Where the platform certificates are downloaded from. Default:
	// https://api.mch.weixin.qq.com.
	APIBase string `json:"api_base,omitempty"`

	// The largest notification body accepted, in bytes; larger ones are
	// refused with 413. Default 1 MiB (a notification is about 1 KB), at
	// most 16 MiB.
	MaxBody int64 `json:"max_body,omitempty"`

	// Which requests are notifications: those any of these matcher sets
	// matches, like a route's "match"; all of them when there is none. The
	// Caddyfile puts the directive's matcher (wechat_pay_notify
	// /wechatpay/notify {…}) here and the handler in a route without one.
	// The handler removes client-sent X-WeChat-Pay-* headers from every
	// request it sees, matched or not, so that the backend can trust them
	// on any request; in a JSON config, put the handler in a route every
	// request of the site passes through and the matcher here.
	MatcherSetsRaw caddyhttp.RawMatcherSets `json:"match,omitempty" caddy:"namespace=http.matchers"`

	apiv3    *sign.APIv3Key
	keys     *paykeys.Keys
	matchers caddyhttp.MatcherSets
	replay   *replayGuard
	once     *logonce.Set
	now      func() time.Time
	logger   *zap.Logger
	// storage is set by tests; nil means the config's.
	storage certmagic.Storage
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.wechat_pay_notify",
		New: func() caddy.Module { return new(Handler) },
	}
}

// certMode reports whether the platform-certificate options are given.
func (h *Handler) certMode() bool {
	return h.MchID != "" || h.SerialNo != "" || h.PrivateKey != ""
}

// applyDefaults fills in the options left unset, and nothing else.
func (h *Handler) applyDefaults() {
	if h.APIBase == "" {
		h.APIBase = paykeys.DefaultAPIBase
	}
	if h.MaxBody == 0 {
		h.MaxBody = DefaultMaxBody
	}
}

// keyFields lets paykeys parse and check the key options, which both pay
// handlers share, in this handler's own fields.
func (h *Handler) keyFields() paykeys.Fields {
	return paykeys.Fields{
		MchID:      &h.MchID,
		SerialNo:   &h.SerialNo,
		PrivateKey: &h.PrivateKey,
		PublicKey:  &h.WechatpayPublicKey,
		APIv3Key:   &h.APIv3Key,
		APIBase:    &h.APIBase,
		MaxBody:    &h.MaxBody,
		MaxMaxBody: MaxMaxBody,
	}
}

// Validate reports the first problem of the defaulted configuration,
// naming the directive and the option. It reads no file and changes
// nothing. Its errors never quote apiv3_key.
func (h *Handler) Validate() error {
	if h.APIv3Key == "" {
		return errors.New(directive + ": apiv3_key is required (it decrypts the notifications)")
	}
	if err := paykeys.CheckAPIv3Key(directive, h.APIv3Key); err != nil {
		return err
	}
	if h.certMode() {
		if err := paykeys.CheckMerchant(directive, h.MchID, h.SerialNo, h.PrivateKey); err != nil {
			return fmt.Errorf("%w (platform-certificate mode needs mch_id, serial_no and private_key to download the certificates)", err)
		}
	} else if h.WechatpayPublicKey == nil {
		return errors.New(directive + ": wechatpay_public_key (public-key mode) or mch_id, serial_no and private_key (platform certificates) is required to verify notifications")
	}
	return paykeys.CheckCommon(directive, h.keyFields())
}

// Provision applies the defaults, validates, and loads the keys, so that a
// bad key fails the config load rather than the first notification.
func (h *Handler) Provision(ctx caddy.Context) error {
	if h.logger == nil { // tests set their own
		h.logger = ctx.Logger()
	}
	h.applyDefaults()
	if err := h.Validate(); err != nil {
		return err
	}
	apiv3, apiv3FP, err := paykeys.LoadAPIv3Key(directive, h.APIv3Key, h.logger)
	if err != nil {
		return err
	}
	h.apiv3 = apiv3
	st := h.storage
	if st == nil {
		st = config.ContextStorage(ctx)
	}
	if st == nil {
		return errors.New(directive + ": no storage to keep the replay markers in")
	}
	o := paykeys.Options{Directive: directive, Logger: h.logger}
	if err := o.UsePublicKey(h.WechatpayPublicKey); err != nil {
		return err
	}
	if h.certMode() {
		signer, signerFP, err := paykeys.LoadSigner(directive, h.MchID, h.SerialNo, h.PrivateKey)
		if err != nil {
			return err
		}
		o.Signer, o.SignerFP, o.MchID = signer, signerFP, h.MchID
		o.APIv3Key, o.APIv3FP, o.APIBase = apiv3, apiv3FP, h.APIBase
		o.Storage = st
	}
	h.keys, err = paykeys.Provision(ctx, o)
	if err != nil {
		return err
	}
	if h.MatcherSetsRaw != nil {
		mods, err := ctx.LoadModule(h, "MatcherSetsRaw")
		if err != nil {
			return fmt.Errorf("%s: match: %v", directive, err)
		}
		if err := h.matchers.FromInterface(mods); err != nil {
			return fmt.Errorf("%s: match: %v", directive, err)
		}
	}
	h.replay = &replayGuard{storage: st, logger: h.logger}
	h.once = new(logonce.Set)
	if h.now == nil {
		h.now = time.Now
	}
	return nil
}

// Cleanup releases the platform keys.
func (h *Handler) Cleanup() error {
	err := h.keys.Release()
	h.keys = nil
	return err
}

// ServeHTTP removes client-sent X-WeChat-Pay-* headers from every request
// it sees; a request its matchers match is a notification, checked and
// forwarded as its decrypted resource, or refused without calling the
// backend.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	// first, whatever follows: a client's own X-WeChat-Pay-* never pass
	identity.Strip(r, payNames)
	if len(h.matchers) > 0 {
		match, err := h.matchers.AnyMatchWithError(r)
		if err != nil {
			return err // what Caddy's routes do with a matcher's error
		}
		if !match {
			return next.ServeHTTP(w, r)
		}
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, http.StatusMethodNotAllowed, causeMethod, "notifications are POSTed", nil)
		return nil
	}
	body, err := readBody(r, h.MaxBody)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			h.refuse(w, http.StatusRequestEntityTooLarge, causeTooLarge, "the body is larger than max_body", nil)
		} else {
			h.refuse(w, http.StatusBadRequest, causeReadBody, "the body could not be read", nil)
		}
		return nil
	}
	signed := sign.ReadSignedHeaders(r.Header.Get)
	if err := h.keys.Verify(r.Context(), signed, body); err != nil {
		h.refuse(w, http.StatusUnauthorized, verifyCause(err), "the signature does not verify", err,
			zap.String("wechatpay_serial", signed.Serial))
		return nil
	}
	n, err := sign.ParseNotification(body)
	if err != nil {
		h.refuse(w, http.StatusBadRequest, causeMalformed, "the body is not a WeChat Pay notification", err)
		return nil
	}
	plain, err := h.apiv3.Decrypt(nil, &n.Resource)
	if err != nil {
		if errors.Is(err, sign.ErrDecrypt) {
			// the signature verified: WeChat Pay encrypted it with a key
			// that is not the configured one
			h.refuse(w, http.StatusBadRequest, causeDecrypt, "the resource does not decrypt; is apiv3_key the merchant's current APIv3 key?", err,
				zap.String("notify_id", n.ID))
		} else {
			h.refuse(w, http.StatusBadRequest, causeResource, "the resource cannot be decrypted", err, zap.String("notify_id", n.ID))
		}
		return nil
	}
	if !json.Valid(plain) {
		h.refuse(w, http.StatusBadRequest, causeNotJSON, "the decrypted resource is not JSON", nil, zap.String("notify_id", n.ID))
		return nil
	}
	key, err := h.replay.reserve(r.Context(), signed, h.now())
	if err != nil {
		if errors.Is(err, errReplay) {
			h.refuse(w, http.StatusUnauthorized, causeReplay, "replayed: this notification was received already", nil, zap.String("notify_id", n.ID))
		} else {
			h.refuse(w, http.StatusServiceUnavailable, causeStorage, "the replay check is unavailable; retry later", err, zap.String("notify_id", n.ID))
		}
		return nil
	}

	prepareForward(r, plain, n.EventType, n.ID)
	sw := &statusWriter{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}}
	err = next.ServeHTTP(sw, r)
	if err != nil || !sw.accepted() {
		// WeChat Pay retries it: the retry must reach the backend
		h.replay.release(key)
		h.log(causeBackend, "the backend did not accept a WeChat Pay notification; WeChat Pay will retry it",
			zap.Int("backend_status", sw.status), zap.String("notify_id", n.ID), zap.String("event_type", n.EventType))
	}
	return err
}

// statusWriter notes the backend's status on its way to WeChat Pay.
type statusWriter struct {
	*caddyhttp.ResponseWriterWrapper
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriterWrapper.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriterWrapper.Write(p)
}

func (s *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriterWrapper.ReadFrom(r)
}

// accepted reports whether the backend answered 2xx; writing nothing at
// all is Go's implicit 200.
func (s *statusWriter) accepted() bool {
	return s.status == 0 || s.status >= 200 && s.status < 300
}

// errTooLarge: the body is over max_body.
var errTooLarge = errors.New("body too large")

// readBody reads the whole body, up to limit bytes.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, errTooLarge
	}
	size := int64(2048)
	if r.ContentLength > 0 {
		size = r.ContentLength + 1
	}
	b := bytes.NewBuffer(make([]byte, 0, size))
	n, err := b.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errTooLarge
	}
	return b.Bytes(), nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
