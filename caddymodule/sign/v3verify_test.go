package sign

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	v := testVerifier(t)
	platform := loadPrivate(t, "wechatpay_platform_key.pem")
	pubMode := loadPrivate(t, "wechatpay_pubkey_key.pem")
	merchant := testKey(t)
	body := notificationBody(t, seal(t, testAPIv3Key, "fdasflkja484", "transaction", []byte(testTransaction)))
	at := func(offset int) string { return strconv.Itoa(testNow + offset) }
	// signed returns headers for body signed by key at testNow+offset.
	signed := func(key *rsa.PrivateKey, serial string, offset int, body []byte) SignedHeaders {
		ts := at(offset)
		return SignedHeaders{Timestamp: ts, Nonce: "c5ac7061fccab6bf3e254dcf98995b8c", Serial: serial,
			Signature: wechatSign(t, key, ts, "c5ac7061fccab6bf3e254dcf98995b8c", body), SignatureType: AuthSchema}
	}
	good := signed(platform, platformSerial, 0, body)
	with := func(f func(h *SignedHeaders)) SignedHeaders { h := good; f(&h); return h }
	flipped := func() string {
		sig, _ := base64.StdEncoding.DecodeString(good.Signature)
		sig[len(sig)/2] ^= 1
		return base64.StdEncoding.EncodeToString(sig)
	}()

	for _, tc := range []struct {
		name string
		h    SignedHeaders
		body []byte
		want error // nil: must verify
	}{
		{"platform certificate", good, body, nil},
		{"public-key mode", signed(pubMode, testPublicKeyID, 0, body), body, nil},
		{"empty body", signed(platform, platformSerial, 0, nil), nil, nil},
		{"empty body, given as []byte{}", signed(platform, platformSerial, 0, nil), []byte{}, nil},
		{"no Wechatpay-Signature-Type", with(func(h *SignedHeaders) { h.SignatureType = "" }), body, nil},
		{"299 s old", signed(platform, platformSerial, -299, body), body, nil},
		{"299 s ahead", signed(platform, platformSerial, 299, body), body, nil},

		{"tampered body", good, append([]byte(nil), strings.Replace(string(body), "TRANSACTION", "TRANSACTIOM", 1)...), ErrBadSignature},
		{"body with a newline added", good, append(append([]byte(nil), body...), '\n'), ErrBadSignature},
		{"empty body where one was signed", good, nil, ErrBadSignature},
		{"tampered signature", with(func(h *SignedHeaders) { h.Signature = flipped }), body, ErrBadSignature},
		{"tampered timestamp", with(func(h *SignedHeaders) { h.Timestamp = at(1) }), body, ErrBadSignature},
		{"tampered nonce", with(func(h *SignedHeaders) { h.Nonce = "c5ac7061fccab6bf3e254dcf98995b8d" }), body, ErrBadSignature},
		{"merchant's key, platform serial", signed(merchant, platformSerial, 0, body), body, ErrBadSignature},
		{"public-mode key, platform serial", signed(pubMode, platformSerial, 0, body), body, ErrBadSignature},
		{"platform key, public-mode serial", signed(platform, testPublicKeyID, 0, body), body, ErrBadSignature},
		{"truncated signature", with(func(h *SignedHeaders) { h.Signature = good.Signature[:len(good.Signature)-4] }), body, ErrBadSignature},

		{"300 s old", signed(platform, platformSerial, -300, body), body, ErrStaleTimestamp},
		{"a day old", signed(platform, platformSerial, -86400, body), body, ErrStaleTimestamp},
		{"300 s ahead", signed(platform, platformSerial, 300, body), body, ErrStaleTimestamp},
		{"timestamp 0", with(func(h *SignedHeaders) { h.Timestamp = "0" }), body, ErrStaleTimestamp},
		{"timestamp in ms", with(func(h *SignedHeaders) { h.Timestamp = at(0) + "000" }), body, ErrStaleTimestamp},
		{"non-numeric timestamp", with(func(h *SignedHeaders) { h.Timestamp = "2026-01-01T04:34:56Z" }), body, ErrBadTimestamp},
		{"negative timestamp", with(func(h *SignedHeaders) { h.Timestamp = "-" + at(0) }), body, ErrBadTimestamp},
		{"timestamp with space", with(func(h *SignedHeaders) { h.Timestamp = " " + at(0) }), body, ErrBadTimestamp},
		{"19-digit timestamp", with(func(h *SignedHeaders) { h.Timestamp = "9223372036854775807" }), body, ErrBadTimestamp},

		{"no Wechatpay-Timestamp", with(func(h *SignedHeaders) { h.Timestamp = "" }), body, ErrMissingHeader},
		{"no Wechatpay-Nonce", with(func(h *SignedHeaders) { h.Nonce = "" }), body, ErrMissingHeader},
		{"no Wechatpay-Signature", with(func(h *SignedHeaders) { h.Signature = "" }), body, ErrMissingHeader},
		{"no Wechatpay-Serial", with(func(h *SignedHeaders) { h.Serial = "" }), body, ErrMissingHeader},
		{"no headers at all", SignedHeaders{}, body, ErrMissingHeader},

		{"SIGNTEST probe", with(func(h *SignedHeaders) { h.Signature = SignTestPrefix + good.Signature }), body, ErrSignTest},
		{"bare SIGNTEST", with(func(h *SignedHeaders) { h.Signature = "WECHATPAY/SIGNTEST/" }), body, ErrSignTest},
		{"bad base64", with(func(h *SignedHeaders) { h.Signature = "!!" + good.Signature[2:] }), body, ErrSignatureEncoding},
		{"URL-safe base64", with(func(h *SignedHeaders) { h.Signature = "-_" + good.Signature[2:] }), body, ErrSignatureEncoding},
		{"unpadded base64", with(func(h *SignedHeaders) { h.Signature = strings.TrimRight(good.Signature, "=") }), body, ErrSignatureEncoding},
		{"signature too long", with(func(h *SignedHeaders) { h.Signature = strings.Repeat("A", 1000) }), body, ErrSignatureEncoding},

		{"unknown serial", with(func(h *SignedHeaders) { h.Serial = "3775B6A45ACD588826D15E583A95F5DD2C7B5C2B" }), body, ErrUnknownSerial},
		{"unknown public key ID", with(func(h *SignedHeaders) { h.Serial = "PUB_KEY_ID_0000" }), body, ErrUnknownSerial},
		{"lower-case serial", with(func(h *SignedHeaders) { h.Serial = strings.ToLower(platformSerial) }), body, ErrUnknownSerial},
		{"other signature type", with(func(h *SignedHeaders) { h.SignatureType = "WECHATPAY2-SM2-WITH-SM3" }), body, ErrSignatureType},
		{"newline in nonce", with(func(h *SignedHeaders) { h.Nonce = "a\nb" }), body, ErrBadHeader},
		{"control in serial", with(func(h *SignedHeaders) { h.Serial = platformSerial + "\x00" }), body, ErrBadHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Verify(tc.h, tc.body)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Errorf("%v is not a *VerifyError", err)
			}
			if tc.h.Signature != "" && len(tc.h.Signature) >= 16 && strings.Contains(err.Error(), tc.h.Signature[:16]) {
				t.Errorf("%q quotes the signature", err)
			}
		})
	}
}

// TestVerifyNewlineNonceCannotShiftLines: a signed (nonce "a", body "b")
// must not verify as (nonce "a\nb", empty body), which hashes the same.
func TestVerifyNewlineNonceCannotShiftLines(t *testing.T) {
	v := testVerifier(t)
	h := signedHeaders(t, []byte("b"))
	h.Nonce = "a"
	h.Signature = wechatSign(t, loadPrivate(t, "wechatpay_platform_key.pem"), h.Timestamp, "a", []byte("b"))
	if err := v.Verify(h, []byte("b")); err != nil {
		t.Fatal(err)
	}
	h.Nonce = "a\nb"
	if err := v.Verify(h, nil); !errors.Is(err, ErrBadHeader) {
		t.Errorf("Verify with the body moved into the nonce = %v, want ErrBadHeader", err)
	}
}

func TestVerifyUsesTheClock(t *testing.T) {
	body := []byte(`{"code":"SUCCESS"}`)
	h := signedHeaders(t, body)
	v := testVerifier(t)
	v.Now = nil // time.Now, years after testNow
	if err := v.Verify(h, body); !errors.Is(err, ErrStaleTimestamp) {
		t.Errorf("Verify against the real clock = %v, want ErrStaleTimestamp", err)
	}
	v.Now = func() time.Time { return time.Unix(testNow, 999_999_999) }
	if err := v.Verify(h, body); err != nil {
		t.Errorf("Verify within the same second: %v", err)
	}
}

func TestReadSignedHeaders(t *testing.T) {
	hdr := http.Header{}
	hdr.Set("wechatpay-timestamp", "1")
	hdr.Set("WECHATPAY-NONCE", "2")
	hdr.Set("Wechatpay-Signature", "3")
	hdr.Set("Wechatpay-Serial", "4")
	hdr.Set("Wechatpay-Signature-Type", "5")
	want := SignedHeaders{Timestamp: "1", Nonce: "2", Signature: "3", Serial: "4", SignatureType: "5"}
	if got := ReadSignedHeaders(hdr.Get); got != want {
		t.Errorf("ReadSignedHeaders = %+v, want %+v", got, want)
	}
}

func TestVerifierKeySets(t *testing.T) {
	cert := loadPublic(t, "wechatpay_platform_cert.pem")
	pub := loadPublic(t, "wechatpay_pub_key.pem")
	var v Verifier
	if v.Has(platformSerial) {
		t.Fatal("the zero Verifier has a key")
	}
	v.Now = fixedClock
	if err := v.Verify(signedHeaders(t, nil), nil); !errors.Is(err, ErrUnknownSerial) {
		t.Fatalf("the zero Verifier: %v", err)
	}
	if err := v.SetPublicKeys(map[string]*rsa.PublicKey{testPublicKeyID: pub}); err != nil {
		t.Fatal(err)
	}
	in := map[string]*rsa.PublicKey{strings.ToLower(platformSerial): cert}
	if err := v.SetCertificates(in); err != nil {
		t.Fatal(err)
	}
	delete(in, strings.ToLower(platformSerial)) // the Verifier holds a copy
	if !v.Has(platformSerial) || !v.Has(testPublicKeyID) {
		t.Fatal("after both setters the Verifier lacks a key (certificate serials are upper-cased)")
	}
	// replacing the certificates keeps the public keys, and the reverse
	if err := v.SetCertificates(nil); err != nil {
		t.Fatal(err)
	}
	if v.Has(platformSerial) || !v.Has(testPublicKeyID) {
		t.Error("SetCertificates(nil) did not drop the certificate only")
	}
	if err := v.SetCertificates(map[string]*rsa.PublicKey{platformSerial: cert}); err != nil {
		t.Fatal(err)
	}
	if err := v.SetPublicKeys(nil); err != nil {
		t.Fatal(err)
	}
	if !v.Has(platformSerial) || v.Has(testPublicKeyID) {
		t.Error("SetPublicKeys(nil) did not drop the public key only")
	}

	block, _ := pem.Decode(readKeyFile(t, "rsa1024_pkcs8.pem"))
	k1024, _ := x509.ParsePKCS8PrivateKey(block.Bytes)
	short := &k1024.(*rsa.PrivateKey).PublicKey
	for name, err := range map[string]error{
		"public key ID without prefix": v.SetPublicKeys(map[string]*rsa.PublicKey{"0114232134912410000000000000": pub}),
		"public key ID with a newline": v.SetPublicKeys(map[string]*rsa.PublicKey{"PUB_KEY_ID_1\n": pub}),
		"nil public key":               v.SetPublicKeys(map[string]*rsa.PublicKey{testPublicKeyID: nil}),
		"1024-bit public key":          v.SetPublicKeys(map[string]*rsa.PublicKey{testPublicKeyID: short}),
		"certificate serial not hex":   v.SetCertificates(map[string]*rsa.PublicKey{"PUB_KEY_ID_1": cert}),
		"empty certificate serial":     v.SetCertificates(map[string]*rsa.PublicKey{"": cert}),
		"nil certificate key":          v.SetCertificates(map[string]*rsa.PublicKey{platformSerial: nil}),
		"1024-bit certificate key":     v.SetCertificates(map[string]*rsa.PublicKey{platformSerial: short}),
		"key with no modulus":          v.SetCertificates(map[string]*rsa.PublicKey{platformSerial: {}}),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if !v.Has(platformSerial) || v.Has(testPublicKeyID) {
		t.Error("a refused set changed the keys")
	}
}

// TestVerifierConcurrentRefresh verifies from several goroutines while the
// certificate set is replaced, with and without the signing certificate:
// each Verify sees one snapshot or the other, and -race sees no race.
func TestVerifierConcurrentRefresh(t *testing.T) {
	v := testVerifier(t)
	cert := loadPublic(t, "wechatpay_platform_cert.pem")
	body := []byte(`{"code":"SUCCESS"}`)
	h := signedHeaders(t, body)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := v.Verify(h, body); err != nil && !errors.Is(err, ErrUnknownSerial) {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 200 {
		set := map[string]*rsa.PublicKey{}
		if i%2 == 0 {
			set[platformSerial] = cert
		}
		if err := v.SetCertificates(set); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Verify during refresh: %v", err)
	}
}

func TestParsePublicKeyPEM(t *testing.T) {
	pub := readKeyFile(t, "wechatpay_pub_key.pem")
	cert := readKeyFile(t, "wechatpay_platform_cert.pem")
	want := loadPrivate(t, "wechatpay_pubkey_key.pem").Public().(*rsa.PublicKey)
	certKey := loadPrivate(t, "wechatpay_platform_key.pem").Public().(*rsa.PublicKey)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(want)})
	ecKey, err := x509.ParsePKCS8PrivateKey(func() []byte { b, _ := pem.Decode(readKeyFile(t, "ec_p256_pkcs8.pem")); return b.Bytes }())
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKIXPublicKey(ecKey.(crypto.Signer).Public())
	ecPub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER})
	block, _ := pem.Decode(readKeyFile(t, "rsa1024_pkcs8.pem"))
	k1024, _ := x509.ParsePKCS8PrivateKey(block.Bytes)
	der1024, _ := x509.MarshalPKIXPublicKey(k1024.(*rsa.PrivateKey).Public())
	pub1024 := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der1024})
	for _, tc := range []struct {
		name    string
		input   []byte
		want    *rsa.PublicKey
		wantErr string
	}{
		{"pub_key.pem", pub, want, ""},
		{"RSA PUBLIC KEY", pkcs1, want, ""},
		{"platform certificate", cert, certKey, ""},
		{"private key first", append(readKeyFile(t, "apiclient_key.pem"), pub...), want, ""},
		{"EC public key", ecPub, nil, "not RSA"},
		{"1024 bits", pub1024, nil, "1024 bits"},
		{"private key only", readKeyFile(t, "apiclient_key.pem"), nil, "no PUBLIC KEY"},
		{"empty", nil, nil, "no PEM data"},
		{"corrupt", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("garbage!")}), nil, "not a valid PKIX"},
		{"corrupt certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage!")}), nil, "not a valid X.509"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePublicKeyPEM(tc.input)
			if tc.wantErr == "" {
				if err != nil || !got.Equal(tc.want) {
					t.Fatalf("ParsePublicKeyPEM = %v, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			assertNoKeyMaterial(t, err.Error(), tc.input)
		})
	}
}
