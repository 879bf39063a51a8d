package paykeys

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

// certificatesPath is WeChat Pay's platform-certificate download.
const certificatesPath = "/v3/certificates"

// UserAgent is sent with the calls this package makes; WeChat Pay refuses
// calls without one.
const UserAgent = "caddy-wechat-jssdk (wechat_pay)"

// fetchTimeout bounds one download of the certificates.
const fetchTimeout = 10 * time.Second

// maxCertificatesAnswer bounds the download: a few certificates are a few
// kilobytes.
const maxCertificatesAnswer = 1 << 20

// The refresh schedule. Variables so that the package's tests can shorten
// them.
var (
	// refreshAge: certificates downloaded this long ago (by any instance)
	// are downloaded again. WeChat Pay publishes a new certificate well
	// before the old one stops signing, so twice a day is early enough.
	refreshAge = 12 * time.Hour
	// checkEvery: how often the age is checked.
	checkEvery = time.Hour
	// minFetchGap: at most one download per minute, per process and, through
	// the record's time in storage, per cluster: a flood of notifications
	// with made-up serials must not become a flood of calls to WeChat Pay.
	minFetchGap = time.Minute
	// minLoadGap: how often an unknown serial may re-read the storage,
	// where another instance may have put the new certificate.
	minLoadGap = 5 * time.Second
)

// errRateLimited: the certificates were downloaded less than a minute ago.
var errRateLimited = errors.New("the platform certificates were downloaded less than a minute ago")

// StorageKey is where the certificates of merchant mchID, as downloaded
// from apiBase, are kept in Caddy's storage (and the name of the lock
// taken to download them): wechat_pay/<mch_id>/<hash of api_base>/certificates.
// The record holds the download's time and the answer's body as WeChat Pay
// sent it, certificates still encrypted with the APIv3 key, whose AEAD
// authenticates them when another instance reads them: a record someone
// wrote without the key does not decrypt and is ignored.
func StorageKey(mchID, apiBase string) string {
	return "wechat_pay/" + mchID + "/" + fingerprint("certificates", apiBase)[:12] + "/certificates"
}

// record is what StorageKey holds.
type record struct {
	FetchedAt time.Time `json:"fetched_at"`
	Body      []byte    `json:"body"` // the /v3/certificates answer, base64 in the JSON
}

// certSource keeps an entry's platform certificates: from storage, from
// WeChat Pay, refreshed.
type certSource struct {
	verifier  *sign.Verifier
	signer    *sign.RequestSigner
	apiv3     *sign.APIv3Key
	publicID  string
	publicKey *rsa.PublicKey
	url       string
	key       string
	logger    *zap.Logger
	client    *http.Client
	storages  *attachList

	flights singleflight.Group

	mu        sync.Mutex
	certs     map[string]*rsa.PublicKey // in use, by serial
	fetchedAt time.Time                 // when they were downloaded, by whichever instance
	lastFetch time.Time                 // this process's last download attempt
	lastLoad  time.Time                 // this process's last storage read for an unknown serial

	// base ends when the last user releases the keys: a refresh under
	// way is abandoned then.
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (c *certSource) start() {
	c.wg.Add(1)
	go c.loop()
}

func (c *certSource) stop() {
	c.cancel()
	c.wg.Wait()
}

// loop refreshes the certificates once they are refreshAge old. The first
// download is left to the first unknown serial (or to the first check),
// so that loading a config, or `caddy validate`, calls nobody.
func (c *certSource) loop() {
	defer c.wg.Done()
	t := time.NewTicker(checkEvery)
	defer t.Stop()
	for {
		select {
		case <-c.base.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		due := time.Since(c.fetchedAt) >= refreshAge
		c.mu.Unlock()
		if !due {
			continue
		}
		ctx, cancel := context.WithTimeout(c.base, refreshTimeout)
		// refresh logs its own failures
		_, _, _ = c.flights.Do("refresh", func() (any, error) { return nil, c.refresh(ctx, "") })
		cancel()
	}
}

// loadFromStorage reads what another instance (or an earlier run) stored,
// at provision.
func (c *certSource) loadFromStorage(ctx context.Context) {
	st := c.storages.current()
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	c.load(ctx, st)
}

// refreshFor makes the certificates include serial if WeChat Pay has it,
// sharing one refresh among concurrent callers; it waits at most until ctx
// ends.
func (c *certSource) refreshFor(ctx context.Context, serial string) error {
	ch := c.flights.DoChan("refresh", func() (any, error) {
		// not the caller's context: the flight is shared, and the first
		// caller going away must not fail the others
		fctx, cancel := context.WithTimeout(c.base, refreshTimeout)
		defer cancel()
		return nil, c.refresh(fctx, serial)
	})
	select {
	case res := <-ch:
		if c.verifier.Has(serial) {
			return nil
		}
		if res.Err != nil {
			return res.Err
		}
		return sign.ErrUnknownSerial
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refresh brings the certificates up to date: for an unknown serial (serial
// set) until they include it, periodically (serial "") until they are
// younger than refreshAge. Storage first, WeChat Pay only when storage
// does not have them, under the storage lock, and at most once a minute.
func (c *certSource) refresh(ctx context.Context, serial string) error {
	done := func() bool {
		if serial != "" {
			return c.verifier.Has(serial)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return time.Since(c.fetchedAt) < refreshAge
	}
	if done() {
		return nil
	}
	now := time.Now()
	st := c.storages.current()
	c.mu.Lock()
	canLoad := serial == "" || now.Sub(c.lastLoad) >= minLoadGap
	if canLoad && serial != "" {
		c.lastLoad = now
	}
	canFetch := now.Sub(c.lastFetch) >= minFetchGap
	c.mu.Unlock()
	if st != nil && canLoad {
		c.load(ctx, st)
		if done() {
			return nil
		}
	}
	if !canFetch {
		return errRateLimited
	}
	c.mu.Lock()
	c.lastFetch = now
	c.mu.Unlock()

	if st != nil {
		if err := st.Lock(ctx, c.key); err != nil {
			// Downloading without the lock only costs a duplicate call:
			// GET /v3/certificates changes nothing at WeChat Pay.
			c.logger.Warn("cannot lock the platform certificates in storage; downloading without the lock", zap.String("key", c.key), zap.Error(err))
			st = nil
		} else {
			defer func() {
				if err := st.Unlock(context.WithoutCancel(ctx), c.key); err != nil {
					c.logger.Warn("cannot unlock the platform certificates in storage", zap.String("key", c.key), zap.Error(err))
				}
			}()
			// another instance may have downloaded them while we waited
			if at := c.load(ctx, st); done() {
				return nil
			} else if time.Since(at) < minFetchGap {
				return errRateLimited
			}
		}
	}

	body, certs, err := c.fetch(ctx)
	if err != nil {
		// at most once a minute: fetches are
		c.logger.Warn("cannot download the WeChat Pay platform certificates; the ones held are kept, and answers signed with another are refused",
			zap.String("url", c.url), zap.Error(err))
		return err
	}
	c.apply(certs, now)
	c.logger.Info("WeChat Pay platform certificates downloaded", zap.Strings("serials", serials(certs)))
	if st != nil {
		data, _ := json.Marshal(record{FetchedAt: now.UTC(), Body: body})
		if err := st.Store(ctx, c.key, data); err != nil {
			c.logger.Warn("cannot store the platform certificates; other instances will download their own", zap.String("key", c.key), zap.Error(err))
		}
	}
	return nil
}

// load applies the record in storage when it is newer than what is in
// use, and returns its time (zero when there is none).
func (c *certSource) load(ctx context.Context, st certmagic.Storage) time.Time {
	data, err := st.Load(ctx, c.key)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.logger.Warn("cannot read the platform certificates from storage", zap.String("key", c.key), zap.Error(err))
		}
		return time.Time{}
	}
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		c.logger.Warn("the platform certificates in storage are not a record this module wrote; ignored", zap.String("key", c.key))
		return time.Time{}
	}
	c.mu.Lock()
	newer := rec.FetchedAt.After(c.fetchedAt)
	c.mu.Unlock()
	if !newer {
		return rec.FetchedAt
	}
	certs, err := sign.ParseCertificates(rec.Body, c.apiv3)
	if err != nil {
		// a wrong APIv3 key, or a record not written with it: sign's
		// errors are fixed phrases
		c.logger.Warn("the platform certificates in storage do not decrypt with apiv3_key; ignored", zap.String("key", c.key), zap.Error(err))
		return time.Time{}
	}
	c.apply(certs, rec.FetchedAt)
	c.logger.Info("WeChat Pay platform certificates read from storage", zap.Strings("serials", serials(certs)), zap.Time("downloaded_at", rec.FetchedAt))
	return rec.FetchedAt
}

// apply makes certs the certificates in use.
func (c *certSource) apply(certs map[string]*rsa.PublicKey, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.verifier.SetCertificates(certs); err != nil {
		// ParseCertificates made them; SetCertificates accepts what it makes
		c.logger.Error("cannot use the platform certificates", zap.Error(err))
		return
	}
	c.certs, c.fetchedAt = certs, at
}

// fetch downloads and checks the certificates: a signed GET, the answer
// decrypted with the APIv3 key and its signature verified — with the keys
// already known plus the ones it brings, since a first download (or the
// answer after a rotation) is signed with a certificate not yet known; the
// APIv3 key's AEAD is then what vouches for them.
func (c *certSource) fetch(ctx context.Context) ([]byte, map[string]*rsa.PublicKey, error) {
	auth, err := c.signer.Authorization(http.MethodGet, certificatesPath, nil)
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	resp, err := c.client.Do(req)
	if err != nil {
		// url.Error names api_base and the path: nothing secret
		return nil, nil, fmt.Errorf("GET %s: %w", certificatesPath, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCertificatesAnswer+1))
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: reading the answer: %w", certificatesPath, err)
	}
	if len(body) > maxCertificatesAnswer {
		return nil, nil, fmt.Errorf("GET %s: the answer is larger than %d bytes", certificatesPath, maxCertificatesAnswer)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(body, &e)
		return nil, nil, fmt.Errorf("GET %s answered HTTP %d %s", certificatesPath, resp.StatusCode, e.Code)
	}
	certs, err := sign.ParseCertificates(body, c.apiv3)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", certificatesPath, err)
	}
	check := new(sign.Verifier)
	if c.publicKey != nil {
		if err := check.SetPublicKeys(map[string]*rsa.PublicKey{c.publicID: c.publicKey}); err != nil {
			return nil, nil, err
		}
	}
	c.mu.Lock()
	all := maps.Clone(c.certs)
	c.mu.Unlock()
	if all == nil {
		all = make(map[string]*rsa.PublicKey, len(certs))
	}
	maps.Copy(all, certs)
	if err := check.SetCertificates(all); err != nil {
		return nil, nil, err
	}
	if err := check.Verify(sign.ReadSignedHeaders(resp.Header.Get), body); err != nil {
		return nil, nil, fmt.Errorf("GET %s: the answer's signature: %w", certificatesPath, err)
	}
	return body, certs, nil
}

func serials(certs map[string]*rsa.PublicKey) []string {
	return slices.Sorted(maps.Keys(certs))
}
