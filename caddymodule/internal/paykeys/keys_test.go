package paykeys

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys/paykeystest"
	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

// fixture is a fake WeChat Pay and the options that point at it.
type fixture struct {
	srv  *paykeystest.Server
	url  string
	logs *observer.ObservedLogs
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := paykeystest.NewServer(t)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &fixture{srv: srv, url: ts.URL}
}

// options builds the options of a handler with the given modes.
func (f *fixture) options(t *testing.T, public, certs bool, st certmagic.Storage) Options {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	f.logs = logs
	o := Options{Directive: "test", Logger: zap.New(core), Storage: st}
	if public {
		key, err := LoadPublicKey("test", &PublicKey{Path: paykeystest.KeyPath(t, paykeystest.PublicModePubFile), ID: paykeystest.PublicKeyID})
		if err != nil {
			t.Fatal(err)
		}
		o.PublicKeyID, o.PublicKey = paykeystest.PublicKeyID, key
	}
	if certs {
		signer, fp, err := LoadSigner("test", paykeystest.MchID, paykeystest.MchSerial, paykeystest.KeyPath(t, paykeystest.MerchantKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("PAYKEYS_TEST_APIV3", paykeystest.APIv3Key)
		apiv3, afp, err := LoadAPIv3Key("test", "{env.PAYKEYS_TEST_APIV3}", o.Logger)
		if err != nil {
			t.Fatal(err)
		}
		o.Signer, o.SignerFP, o.MchID, o.APIv3Key, o.APIv3FP, o.APIBase = signer, fp, paykeystest.MchID, apiv3, afp, f.url
	}
	return o
}

// acquire is Acquire, released at the end of the test.
func acquire(t *testing.T, o Options) *Keys {
	t.Helper()
	k, err := Acquire(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Release() })
	return k
}

// instance is an entry of its own, as another Caddy process would have
// (the pool would hand the same Options the same entry).
func instance(t *testing.T, o Options) *Keys {
	t.Helper()
	e, err := newEntry(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Destruct() })
	k := &Keys{e: e, detach: func() {}}
	if e.cert != nil && o.Storage != nil {
		k.detach = e.cert.storages.attach(o.Storage)
		e.cert.loadFromStorage(t.Context())
	}
	return k
}

func signed(s paykeystest.Signer, body []byte, at time.Time) sign.SignedHeaders {
	return sign.ReadSignedHeaders(s.Headers(body, at).Get)
}

// shorten makes the refresh schedule fit a test.
func shorten(t *testing.T, fetchGap time.Duration) {
	oldGap, oldLoad := minFetchGap, minLoadGap
	minFetchGap, minLoadGap = fetchGap, 0
	t.Cleanup(func() { minFetchGap, minLoadGap = oldGap, oldLoad })
}

var body = []byte(`{"prepay_id":"wx201410272009395522657a690389285100"}`)

func TestPublicKeyMode(t *testing.T) {
	f := newFixture(t)
	k := acquire(t, f.options(t, true, false, nil))
	if err := k.Verify(t.Context(), signed(paykeystest.PublicModeSigner(t), body, time.Now()), body); err != nil {
		t.Fatalf("public-mode answer: %v", err)
	}
	err := k.Verify(t.Context(), signed(paykeystest.PlatformSigner(t), body, time.Now()), body)
	if !errors.Is(err, sign.ErrUnknownSerial) {
		t.Fatalf("certificate-signed answer without certificate mode: %v, want ErrUnknownSerial", err)
	}
	if f.srv.CertFetches() != 0 {
		t.Fatal("public-key mode downloaded certificates")
	}
}

// TestCertificateModeUnknownSerial: a cold instance knows no certificate;
// the first answer's serial makes it download them (a signed GET), store
// them, and verify. A second instance on the same storage reads them from
// there: one download between them.
func TestCertificateModeUnknownSerial(t *testing.T) {
	f := newFixture(t)
	st := &certmagic.FileStorage{Path: t.TempDir()}
	o := f.options(t, false, true, st)
	a := instance(t, o)
	if a.Has(paykeystest.PlatformSerial) {
		t.Fatal("a cold instance knows the certificate")
	}
	h := signed(paykeystest.PlatformSigner(t), body, time.Now())
	if err := a.Verify(t.Context(), h, body); err != nil {
		t.Fatalf("first answer: %v", err)
	}
	if n := f.srv.CertFetches(); n != 1 {
		t.Fatalf("%d downloads, want 1", n)
	}
	reqs := f.srv.Requests()
	if why := paykeystest.VerifyAuthorization(paykeystest.MerchantPublicKey(t), reqs[0].Header.Get("Authorization"), "GET", "/v3/certificates", nil); why != "" {
		t.Errorf("GET /v3/certificates is not signed right: %s", why)
	}
	if reqs[0].Header.Get("User-Agent") == "" || reqs[0].Header.Get("Accept") != "application/json" {
		t.Errorf("GET /v3/certificates headers: %v", reqs[0].Header)
	}
	if _, err := st.Load(t.Context(), StorageKey(paykeystest.MchID, f.url)); err != nil {
		t.Fatalf("the certificates were not stored: %v", err)
	}

	b := instance(t, f.options(t, false, true, st))
	if !b.Has(paykeystest.PlatformSerial) {
		t.Fatal("the second instance did not read the certificates from storage")
	}
	if err := b.Verify(t.Context(), signed(paykeystest.PlatformSigner(t), body, time.Now()), body); err != nil {
		t.Fatal(err)
	}
	if n := f.srv.CertFetches(); n != 1 {
		t.Fatalf("%d downloads, want 1 for the cluster", n)
	}
}

// TestConcurrentInstancesDownloadOnce: two cold instances on one storage,
// many answers at once: the storage lock lets one download.
func TestConcurrentInstancesDownloadOnce(t *testing.T) {
	f := newFixture(t)
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ks := []*Keys{instance(t, f.options(t, false, true, st)), instance(t, f.options(t, false, true, st))}
	signer := paykeystest.PlatformSigner(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- ks[i%2].Verify(context.Background(), signed(signer, body, time.Now()), body)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := f.srv.CertFetches(); n != 1 {
		t.Fatalf("%d downloads, want 1", n)
	}
}

// TestRefreshRateLimited: made-up serials do not make a download each.
func TestRefreshRateLimited(t *testing.T) {
	f := newFixture(t)
	k := instance(t, f.options(t, false, true, nil))
	other, otherSigner := paykeystest.NewCert(t)
	_ = other
	for range 5 {
		err := k.Verify(t.Context(), signed(otherSigner, body, time.Now()), body)
		if !errors.Is(err, sign.ErrUnknownSerial) {
			t.Fatalf("unknown serial: %v", err)
		}
	}
	if n := f.srv.CertFetches(); n != 1 {
		t.Fatalf("%d downloads for 5 unknown serials within a minute, want 1", n)
	}
}

// TestRotation: WeChat Pay starts signing with a new certificate; the
// first answer signed with it makes the instance download the list again
// (once the minute has passed) and accept it, while the old one still
// works.
func TestRotation(t *testing.T) {
	shorten(t, 0)
	f := newFixture(t)
	st := &certmagic.FileStorage{Path: t.TempDir()}
	k := instance(t, f.options(t, false, true, st))
	old := paykeystest.PlatformSigner(t)
	if err := k.Verify(t.Context(), signed(old, body, time.Now()), body); err != nil {
		t.Fatal(err)
	}
	cert, next := paykeystest.NewCert(t)
	// the new list is signed with the new certificate: the download must
	// trust it on the APIv3 key's word
	f.srv.SetCertificates(next, paykeystest.PlatformCert(t), cert)
	if err := k.Verify(t.Context(), signed(next, body, time.Now()), body); err != nil {
		t.Fatalf("answer signed with the rotated certificate: %v", err)
	}
	if err := k.Verify(t.Context(), signed(old, body, time.Now()), body); err != nil {
		t.Fatalf("the old certificate stopped working: %v", err)
	}
	if n := f.srv.CertFetches(); n != 2 {
		t.Fatalf("%d downloads, want 2", n)
	}
}

// TestBadCertificatesAnswer: a download whose signature does not verify,
// or that does not decrypt with the APIv3 key, teaches nothing.
func TestBadCertificatesAnswer(t *testing.T) {
	shorten(t, 0)
	cert, rogue := paykeystest.NewCert(t)
	for name, setup := range map[string]func(*paykeystest.Server){
		"signed by a key it does not list": func(s *paykeystest.Server) {
			s.SetCertificates(rogue, paykeystest.PlatformCert(t))
		},
		"encrypted with another APIv3 key": func(s *paykeystest.Server) {
			s.CertAPIv3Key = paykeystest.OtherAPIv3Key
			s.SetCertificates(rogue, cert)
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			setup(f.srv)
			k := instance(t, f.options(t, false, true, nil))
			err := k.Verify(t.Context(), signed(paykeystest.PlatformSigner(t), body, time.Now()), body)
			if !errors.Is(err, sign.ErrUnknownSerial) {
				t.Fatalf("Verify = %v, want ErrUnknownSerial", err)
			}
			if k.Has(cert.Serial) || k.Has(paykeystest.PlatformSerial) {
				t.Fatal("a certificate from a bad download is in use")
			}
			if len(f.logs.FilterMessageSnippet("downloaded").All()) != 0 {
				t.Fatal("logged a download that failed")
			}
			if f.logs.FilterMessageSnippet("cannot download").Len() != 1 {
				t.Fatalf("the failed download is not logged once: %v", f.logs.All())
			}
		})
	}
}

// TestStorageRecordWithoutKeyIgnored: a record someone wrote into storage
// without the APIv3 key does not decrypt and is not used.
func TestStorageRecordWithoutKeyIgnored(t *testing.T) {
	f := newFixture(t)
	st := &certmagic.FileStorage{Path: t.TempDir()}
	_, rogue := paykeystest.NewCert(t)
	forged := `{"fetched_at":"` + time.Now().UTC().Format(time.RFC3339) + `","body":"` +
		encodeB64(paykeystest.CertificatesBody(paykeystest.OtherAPIv3Key, paykeystest.Cert{Serial: rogue.Serial, PEM: []byte("x")})) + `"}`
	if err := st.Store(t.Context(), StorageKey(paykeystest.MchID, f.url), []byte(forged)); err != nil {
		t.Fatal(err)
	}
	k := instance(t, f.options(t, false, true, st))
	if k.Has(rogue.Serial) {
		t.Fatal("a forged record was used")
	}
	if len(f.logs.FilterMessageSnippet("do not decrypt").All()) == 0 {
		t.Error("the forged record was not logged")
	}
}

// TestMigrationBothModes: public key and certificates at once.
func TestMigrationBothModes(t *testing.T) {
	f := newFixture(t)
	k := acquire(t, f.options(t, true, true, nil))
	for _, s := range []paykeystest.Signer{paykeystest.PublicModeSigner(t), paykeystest.PlatformSigner(t)} {
		if err := k.Verify(t.Context(), signed(s, body, time.Now()), body); err != nil {
			t.Fatalf("%s: %v", s.Serial, err)
		}
	}
	// an unknown PUB_KEY_ID_ is not a certificate: no download for it
	before := f.srv.CertFetches()
	s := paykeystest.PublicModeSigner(t)
	s.Serial = "PUB_KEY_ID_0000000000000000000000000000"
	if err := k.Verify(t.Context(), signed(s, body, time.Now()), body); !errors.Is(err, sign.ErrUnknownSerial) {
		t.Fatalf("unknown public key id: %v", err)
	}
	if f.srv.CertFetches() != before {
		t.Fatal("an unknown PUB_KEY_ID_ made a certificate download")
	}
}

// TestPeriodicRefresh: certificates older than refreshAge are downloaded
// again without any answer asking.
func TestPeriodicRefresh(t *testing.T) {
	shorten(t, 0)
	oldAge, oldCheck := refreshAge, checkEvery
	refreshAge, checkEvery = 50*time.Millisecond, 10*time.Millisecond
	t.Cleanup(func() { refreshAge, checkEvery = oldAge, oldCheck })
	f := newFixture(t)
	instance(t, f.options(t, false, true, &certmagic.FileStorage{Path: t.TempDir()}))
	deadline := time.Now().Add(5 * time.Second)
	for f.srv.CertFetches() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d downloads in 5 s with a 50 ms refresh age", f.srv.CertFetches())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPoolShares: the same options share one entry (a reload, or the two
// directives of one merchant); the last release stops it.
func TestPoolShares(t *testing.T) {
	f := newFixture(t)
	o := f.options(t, true, true, nil)
	a, b := acquire(t, o), acquire(t, o)
	if a.e != b.e {
		t.Fatal("the same options got two entries")
	}
	if err := a.Verify(t.Context(), signed(paykeystest.PlatformSigner(t), body, time.Now()), body); err != nil {
		t.Fatal(err)
	}
	if !b.Has(paykeystest.PlatformSerial) {
		t.Fatal("the entry is not shared")
	}
}

func TestChecks(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{CheckMerchant("d", "", "AB", "k"), "d: mch_id is required"},
		{CheckMerchant("d", "12x", "AB", "k"), "d: mch_id \"12x\" is not"},
		{CheckMerchant("d", "1", "", "k"), "d: serial_no is required"},
		{CheckMerchant("d", "1", "XY", "k"), "d: serial_no \"XY\" is not"},
		{CheckMerchant("d", "1", "AB", ""), "d: private_key is required"},
		{CheckPublicKey("d", &PublicKey{ID: paykeystest.PublicKeyID}), "d: wechatpay_public_key: the path"},
		{CheckPublicKey("d", &PublicKey{Path: "p", ID: "KEY"}), "d: wechatpay_public_key: \"KEY\" is not"},
		{CheckAPIv3Key("d", "short-secret-value"), "d: apiv3_key: must be 32 bytes, got 18"},
		{CheckAPIBase("d", "ftp://x"), "d: api_base:"},
		{CheckAPIBase("d", "https://x/path"), "d: api_base:"},
	} {
		if c.err == nil || !strings.HasPrefix(c.err.Error(), c.want) {
			t.Errorf("error %v, want %q…", c.err, c.want)
		}
		if c.err != nil && strings.Contains(c.err.Error(), "short-secret-value") {
			t.Errorf("error %v repeats the key", c.err)
		}
	}
	if err := CheckAPIv3Key("d", "{env.X}"); err != nil {
		t.Error(err)
	}
}

func TestLoadErrorsHoldNoKey(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	literal := paykeystest.APIv3Key
	if _, _, err := LoadAPIv3Key("d", literal, zap.New(core)); err != nil {
		t.Fatal(err)
	}
	if logs.FilterMessageSnippet("literally").Len() != 1 {
		t.Error("a literal apiv3_key is not warned about")
	}
	_, _, err := LoadAPIv3Key("d", "{env.PAYKEYS_TEST_UNSET_VAR}", zap.New(core))
	if err == nil || !strings.Contains(err.Error(), "apiv3_key") {
		t.Errorf("unset placeholder: %v", err)
	}
	dir := t.TempDir()
	bad := dir + "/bad.pem"
	if err := os.WriteFile(bad, []byte("-----BEGIN PRIVATE KEY-----\nMIIsecretsecret\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = LoadSigner("d", paykeystest.MchID, paykeystest.MchSerial, bad)
	if err == nil || !strings.Contains(err.Error(), "d: private_key:") || strings.Contains(err.Error(), "secretsecret") {
		t.Errorf("bad key: %v", err)
	}
	for _, e := range logs.All() {
		if strings.Contains(e.Message, literal) || strings.Contains(stringify(e.Context), literal) {
			t.Error("the APIv3 key was logged")
		}
	}
}
