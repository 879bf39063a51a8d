package payapi

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/logonce"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys"
	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

// directive names the handler in errors and logs.
const directive = "wechat_pay_api"

// Defaults and limits.
const (
	DefaultMaxBody = 1 << 20
	MaxMaxBody     = 64 << 20
)

// Handler signs a backend's WeChat Pay API v3 calls with the merchant's
// key on their way to reverse_proxy, and lets WeChat Pay's answers back
// only once their signature is verified.
type Handler struct {
	// The merchant ID (mchid, digits). Required.
	MchID string `json:"mch_id,omitempty"`

	// The serial number of the merchant's API certificate (hex, as WeChat
	// Pay's merchant platform shows it). Required.
	SerialNo string `json:"serial_no,omitempty"`

	// Path to the merchant's API private key, apiclient_key.pem (RSA,
	// PKCS#8 or PKCS#1, at least 2048 bits). Read once, when the config is
	// provisioned; `{env.NAME}` placeholders in the path are resolved.
	// Required.
	PrivateKey string `json:"private_key,omitempty"`

	// Public-key mode: WeChat Pay's public key (pub_key.pem) and its ID
	// (PUB_KEY_ID_…). At least one of wechatpay_public_key and apiv3_key is
	// required; both during a migration from certificates to the public key.
	WechatpayPublicKey *paykeys.PublicKey `json:"wechatpay_public_key,omitempty"`

	// Platform-certificate mode: the merchant's APIv3 key, which decrypts
	// the certificates downloaded from GET {api_base}/v3/certificates.
	// Write `{env.NAME}` or `{file.PATH}`: a literal key sits in the JSON
	// config, where Caddy's admin API shows it (and is warned about).
	APIv3Key string `json:"apiv3_key,omitempty"`

	// Where the platform certificates are downloaded from. Default:
	// https://api.mch.weixin.qq.com; it should be the origin reverse_proxy
	// sends the calls to. Anything but https is warned about.
	APIBase string `json:"api_base,omitempty"`

	// The largest request body signed, and the largest answer verified,
	// in bytes. A larger request is refused with 413, a larger answer with
	// 502. Default 1 MiB, at most 64 MiB: both are held in memory.
	MaxBody int64 `json:"max_body,omitempty"`

	signer *sign.RequestSigner
	keys   *paykeys.Keys
	once   *logonce.Set
	logger *zap.Logger
	// storage is set by tests; nil means the config's.
	storage certmagic.Storage
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.wechat_pay_api",
		New: func() caddy.Module { return new(Handler) },
	}
}

// applyDefaults fills in the options left unset, and nothing else:
// Provision runs it on the handler, UnmarshalCaddyfile on a copy it
// validates, so the adapted JSON keeps only what the operator wrote.
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
// nothing, so `caddy adapt` reports what a config load would; the keys
// themselves are checked by Provision. Its errors never quote apiv3_key.
func (h *Handler) Validate() error {
	if err := paykeys.CheckMerchant(directive, h.MchID, h.SerialNo, h.PrivateKey); err != nil {
		return err
	}
	if h.WechatpayPublicKey == nil && h.APIv3Key == "" {
		return errors.New(directive + ": wechatpay_public_key (public-key mode) or apiv3_key (platform certificates) is required to verify WeChat Pay's answers")
	}
	return paykeys.CheckCommon(directive, h.keyFields())
}

// Provision applies the defaults, validates, and loads the keys, so that a
// bad key fails the config load rather than the first call.
func (h *Handler) Provision(ctx caddy.Context) error {
	if h.logger == nil { // tests set their own
		h.logger = ctx.Logger()
	}
	h.applyDefaults()
	if err := h.Validate(); err != nil {
		return err
	}
	signer, signerFP, err := paykeys.LoadSigner(directive, h.MchID, h.SerialNo, h.PrivateKey)
	if err != nil {
		return err
	}
	h.signer = signer
	o := paykeys.Options{Directive: directive, Logger: h.logger}
	if err := o.UsePublicKey(h.WechatpayPublicKey); err != nil {
		return err
	}
	if h.APIv3Key != "" {
		key, fp, err := paykeys.LoadAPIv3Key(directive, h.APIv3Key, h.logger)
		if err != nil {
			return err
		}
		o.Signer, o.SignerFP, o.MchID = signer, signerFP, h.MchID
		o.APIv3Key, o.APIv3FP, o.APIBase = key, fp, h.APIBase
		o.Storage = h.storage
		if o.Storage == nil {
			o.Storage = config.ContextStorage(ctx)
		}
	}
	h.keys, err = paykeys.Provision(ctx, o)
	if err != nil {
		return err
	}
	h.once = new(logonce.Set)
	return nil
}

// Cleanup releases the platform keys.
func (h *Handler) Cleanup() error {
	err := h.keys.Release()
	h.keys = nil
	return err
}

// ServeHTTP signs the request, passes it on, and writes the answer once it
// is verified.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if !allowedPath(r.URL.Path) {
		h.refuse(w, http.StatusBadRequest, causePath, "wechat_pay_api signs /v3/ paths only")
		return nil
	}
	body, err := readBody(r, h.MaxBody)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			h.refuse(w, http.StatusRequestEntityTooLarge, causeTooLarge, "the request body is larger than max_body")
		} else {
			h.refuse(w, http.StatusBadRequest, causeReadBody, "the request body could not be read")
		}
		return nil
	}
	// What reverse_proxy writes on the wire is r.URL.RequestURI(): the
	// escaped path (RawPath when it is a valid encoding of Path) and the
	// raw query, untouched. Upstream URLs cannot carry a path in Caddy, so
	// nothing is prepended.
	uri := r.URL.RequestURI()
	buf := authBufs.Get().(*[]byte)
	auth, err := h.signer.AppendAuthorization((*buf)[:0], r.Method, uri, body)
	if err != nil {
		authBufs.Put(buf)
		if errors.Is(err, sign.ErrRequest) {
			h.refuse(w, http.StatusBadRequest, causeUnsignable, "the method or the URL cannot be signed: the method must be upper-case letters and the URL printable ASCII")
		} else {
			h.refuse(w, http.StatusInternalServerError, causeSignFailed, "signing the request failed")
		}
		return nil
	}
	prepareRequest(r, string(auth), body)
	*buf = auth
	authBufs.Put(buf)

	aw := newAnswerWriter(w, h.MaxBody)
	defer aw.release()
	if err := next.ServeHTTP(aw, r); err != nil {
		// nothing has reached w: Caddy's error handling answers
		return err
	}
	return h.finish(w, r, aw)
}

// authBufs recycles the buffers the Authorization header is built in.
var authBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// allowedPath accepts the paths of WeChat Pay API v3 calls: under /v3/,
// with no dot segment that a server could resolve to somewhere else.
func allowedPath(p string) bool {
	if !strings.HasPrefix(p, "/v3/") {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// errTooLarge: the request body is over max_body.
var errTooLarge = errors.New("request body too large")

// readBody reads the whole request body, up to limit bytes.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, errTooLarge
	}
	size := int64(512)
	if r.ContentLength > 0 {
		size = r.ContentLength + 1 // +1: one Read more sees EOF without growing
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

// prepareRequest puts the signed request together: the Authorization
// replaced, a body of exactly the signed bytes, and nothing that would
// let the answer be anything but one plain JSON body.
func prepareRequest(r *http.Request, auth string, body []byte) {
	hdr := r.Header
	hdr.Set("Authorization", auth)
	hdr.Set("Accept", "application/json")
	// The signature covers the body as WeChat Pay sends it; a compressed
	// answer would have to be decoded to be checked.
	hdr.Set("Accept-Encoding", "identity")
	if hdr.Get("User-Agent") == "" {
		hdr.Set("User-Agent", paykeys.UserAgent)
	}
	// No protocol switch: an upgraded connection would bypass the check.
	hdr.Del("Upgrade")
	hdr.Del("Connection")
	hdr.Del("Transfer-Encoding")
	hdr.Del("Trailer")
	r.TransferEncoding = nil
	r.Trailer = nil
	r.ContentLength = int64(len(body))
	if len(body) == 0 {
		r.Body = http.NoBody
		r.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		hdr.Del("Content-Length")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
}

// finish verifies the held answer and writes it, or the refusal.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, aw *answerWriter) error {
	if aw.status == 0 {
		return nil // the next handler wrote nothing
	}
	if aw.tooLarge {
		h.badAnswer(w, aw, causeAnswerTooLarge, "the answer is larger than max_body", nil)
		return nil
	}
	// An answer with a body is verified; so is a bodyless one that carries
	// a signature (WeChat Pay signs its 204s, over an empty body). Only a
	// bodyless, unsigned answer has nothing to check and passes.
	if aw.buf.Len() > 0 || aw.hdr.Get(sign.HeaderSignature) != "" {
		err := h.keys.Verify(r.Context(), sign.ReadSignedHeaders(aw.hdr.Get), aw.buf.Bytes())
		if err != nil {
			h.badAnswer(w, aw, verifyCause(err), "the answer's signature does not verify", err)
			return nil
		}
	}
	aw.commit()
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
