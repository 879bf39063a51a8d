package paykeys

import (
	"context"
	"crypto/rsa"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/storagelist"
	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

// Options says which platform keys a handler verifies with.
type Options struct {
	// Directive names the handler in log lines.
	Directive string

	// Public-key mode: PublicKeyID (PUB_KEY_ID_…) and its key, from
	// LoadPublicKey; both empty when not configured.
	PublicKeyID string
	PublicKey   *rsa.PublicKey

	// Platform-certificate mode: the signer of GET /v3/certificates (from
	// LoadSigner, with its fingerprint), the APIv3 key that decrypts the
	// answer (from LoadAPIv3Key, with its fingerprint) and where WeChat Pay
	// is. Signer nil means the mode is off.
	Signer   *sign.RequestSigner
	SignerFP string
	MchID    string
	APIv3Key *sign.APIv3Key
	APIv3FP  string
	APIBase  string

	// Storage is the config's storage (config.ContextStorage); nil keeps
	// the certificates in this process only.
	Storage certmagic.Storage
	Logger  *zap.Logger
}

// certMode reports whether o configures platform certificates.
func (o *Options) certMode() bool { return o.Signer != nil && o.APIv3Key != nil }

// poolKey is what makes two Keys interchangeable: the same public key and
// the same certificate source. It holds fingerprints, never a key.
func (o *Options) poolKey() string {
	k := "public:" + o.PublicKeyID
	if o.PublicKey != nil {
		k += ":" + PublicKeyFingerprint(o.PublicKeyID, o.PublicKey)
	}
	if o.certMode() {
		k += "|certs:" + o.MchID + ":" + o.APIBase + ":" + o.SignerFP + ":" + o.APIv3FP
	}
	return k
}

// pool holds one entry per key configuration for the whole process, so
// that a reload, and a wechat_pay_api and a wechat_pay_notify of the same
// merchant, share the certificates, the refresh schedule and the
// once-a-minute limit.
var pool = caddy.NewUsagePool()

// Keys is a handler's handle on its platform keys. Release it in Cleanup.
type Keys struct {
	e      *entry
	key    string
	detach func()
}

// Acquire returns the platform keys o describes, sharing them with every
// handler of the process that describes the same ones. In certificate
// mode the certificates are read from storage when there (quick, bounded
// by ctx); a first download waits for the first answer or notification
// signed with a serial not yet known, so loading a config never calls
// WeChat Pay.
func Acquire(ctx context.Context, o Options) (*Keys, error) {
	key := o.poolKey()
	v, _, err := pool.LoadOrNew(key, func() (caddy.Destructor, error) {
		return newEntry(o)
	})
	if err != nil {
		return nil, err
	}
	e := v.(*entry)
	k := &Keys{e: e, key: key, detach: func() {}}
	if e.cert != nil && o.Storage != nil {
		k.detach = e.cert.storages.attach(o.Storage)
		e.cert.loadFromStorage(ctx)
	}
	return k, nil
}

// Release gives the keys back; the last release stops the refresh.
func (k *Keys) Release() error {
	if k == nil || k.key == "" {
		return nil
	}
	k.detach()
	_, err := pool.Delete(k.key)
	k.key = ""
	return err
}

// Verify checks an answer's or a notification's signature (sign.Verifier's
// rules). A serial it does not know, in certificate mode and not a
// PUB_KEY_ID_…, makes it refresh the certificates (at most once a minute,
// shared by the concurrent callers) and verify again: that is how a new
// platform certificate is learnt. Its errors are sign's *VerifyError values
// (ErrUnknownSerial when the refresh did not help).
func (k *Keys) Verify(ctx context.Context, h sign.SignedHeaders, body []byte) error {
	err := k.e.verifier.Verify(h, body)
	if err == nil || k.e.cert == nil || !errors.Is(err, sign.ErrUnknownSerial) ||
		strings.HasPrefix(h.Serial, sign.PublicKeyIDPrefix) {
		return err
	}
	if rerr := k.e.cert.refreshFor(ctx, h.Serial); rerr != nil {
		return err
	}
	return k.e.verifier.Verify(h, body)
}

// Has reports whether a key for serial is known now.
func (k *Keys) Has(serial string) bool { return k.e.verifier.Has(serial) }

// CertificateMode reports whether the keys include platform certificates.
func (k *Keys) CertificateMode() bool { return k.e.cert != nil }

// entry is one pooled key configuration.
type entry struct {
	verifier *sign.Verifier
	cert     *certSource // nil without certificate mode
}

func newEntry(o Options) (*entry, error) {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	e := &entry{verifier: new(sign.Verifier)}
	if o.PublicKey != nil {
		if err := e.verifier.SetPublicKeys(map[string]*rsa.PublicKey{o.PublicKeyID: o.PublicKey}); err != nil {
			return nil, errors.New(o.Directive + ": wechatpay_public_key: " + err.Error())
		}
	}
	if o.certMode() {
		e.cert = newCertSource(o, e.verifier)
		e.cert.start()
	}
	return e, nil
}

// Destruct implements caddy.Destructor: the last user is gone.
func (e *entry) Destruct() error {
	if e.cert != nil {
		e.cert.stop()
	}
	return nil
}

// newCertSource builds the certificate side of an entry.
func newCertSource(o Options, v *sign.Verifier) *certSource {
	base, cancel := context.WithCancel(context.Background())
	return &certSource{
		verifier:  v,
		signer:    o.Signer,
		apiv3:     o.APIv3Key,
		publicID:  o.PublicKeyID,
		publicKey: o.PublicKey,
		url:       strings.TrimSuffix(o.APIBase, "/") + certificatesPath,
		key:       StorageKey(o.MchID, o.APIBase),
		logger:    o.Logger.With(zap.String("mch_id", o.MchID)),
		client:    &http.Client{Timeout: fetchTimeout},
		storages:  new(attachList),
		base:      base,
		cancel:    cancel,
	}
}

// attachList is the storages of the configs using one entry, newest last
// (storagelist says why an entry needs one).
type attachList struct{ l storagelist.List }

func (l *attachList) attach(st certmagic.Storage) func() { return l.l.Attach(st) }

func (l *attachList) current() certmagic.Storage { return l.l.Current() }

// refreshTimeout bounds how long a caller waits for a refresh it did not
// start: an answer or a notification must not hang on WeChat Pay.
const refreshTimeout = 15 * time.Second
