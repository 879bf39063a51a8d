package sign

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDecrypt(t *testing.T) {
	key := mustAPIv3Key(t, testAPIv3Key)
	plain := []byte(testTransaction)
	good := seal(t, testAPIv3Key, "fdasflkja484", "transaction", plain)
	with := func(f func(r *EncryptedResource)) EncryptedResource { r := good; f(&r); return r }
	ct, _ := base64.StdEncoding.DecodeString(good.Ciphertext)
	flip := func(i int) string {
		c := append([]byte(nil), ct...)
		c[i] ^= 0x80
		return base64.StdEncoding.EncodeToString(c)
	}
	for _, tc := range []struct {
		name string
		key  *APIv3Key
		r    EncryptedResource
		want []byte // plaintext, or nil with err
		err  error
	}{
		{"transaction", key, good, plain, nil},
		{"empty AAD", key, seal(t, testAPIv3Key, "fdasflkja484", "", plain), plain, nil},
		{"certificate AAD", key, seal(t, testAPIv3Key, "0123456789ab", "certificate", []byte("x")), []byte("x"), nil},
		{"non-ASCII nonce of 12 bytes", key, seal(t, testAPIv3Key, "支付成功", "", plain), plain, nil},

		{"wrong APIv3 key", mustAPIv3Key(t, otherAPIv3Key), good, nil, ErrDecrypt},
		{"AAD dropped", key, with(func(r *EncryptedResource) { r.AssociatedData = "" }), nil, ErrDecrypt},
		{"AAD changed", key, with(func(r *EncryptedResource) { r.AssociatedData = "refund" }), nil, ErrDecrypt},
		{"nonce changed", key, with(func(r *EncryptedResource) { r.Nonce = "fdasflkja485" }), nil, ErrDecrypt},
		{"ciphertext bit flipped", key, with(func(r *EncryptedResource) { r.Ciphertext = flip(3) }), nil, ErrDecrypt},
		{"tag bit flipped", key, with(func(r *EncryptedResource) { r.Ciphertext = flip(len(ct) - 1) }), nil, ErrDecrypt},
		{"tag cut off", key, with(func(r *EncryptedResource) {
			r.Ciphertext = base64.StdEncoding.EncodeToString(ct[:len(ct)-gcmTagSize])
		}), nil, ErrDecrypt},

		{"algorithm empty", key, with(func(r *EncryptedResource) { r.Algorithm = "" }), nil, ErrAlgorithm},
		{"algorithm lower-case", key, with(func(r *EncryptedResource) { r.Algorithm = "aead_aes_256_gcm" }), nil, ErrAlgorithm},
		{"algorithm SM4", key, with(func(r *EncryptedResource) { r.Algorithm = "AEAD_SM4_GCM" }), nil, ErrAlgorithm},
		{"nonce empty", key, with(func(r *EncryptedResource) { r.Nonce = "" }), nil, ErrNonceSize},
		{"nonce 11 bytes", key, with(func(r *EncryptedResource) { r.Nonce = "fdasflkja48" }), nil, ErrNonceSize},
		{"nonce 13 bytes", key, with(func(r *EncryptedResource) { r.Nonce = "fdasflkja4845" }), nil, ErrNonceSize},
		{"nonce 16 bytes", key, seal(t, testAPIv3Key, "fdasflkja4840000", "", plain), nil, ErrNonceSize},
		{"ciphertext empty", key, with(func(r *EncryptedResource) { r.Ciphertext = "" }), nil, ErrCiphertext},
		{"ciphertext not base64", key, with(func(r *EncryptedResource) { r.Ciphertext = "*" + good.Ciphertext[1:] }), nil, ErrCiphertext},
		{"ciphertext unpadded", key, with(func(r *EncryptedResource) {
			k := len(ct)
			for k%3 == 0 { // a length whose std encoding has padding
				k--
			}
			r.Ciphertext = base64.RawStdEncoding.EncodeToString(ct[:k])
		}), nil, ErrCiphertext},
		{"ciphertext only a tag", key, with(func(r *EncryptedResource) { r.Ciphertext = base64.StdEncoding.EncodeToString(ct[:gcmTagSize]) }), nil, ErrCiphertext},
		{"ciphertext of 3 bytes", key, with(func(r *EncryptedResource) { r.Ciphertext = "AAAA" }), nil, ErrCiphertext},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("kept:")
			got, err := tc.key.Decrypt(dst, &tc.r)
			if tc.err == nil {
				if err != nil || !bytes.Equal(got, append([]byte("kept:"), tc.want...)) {
					t.Fatalf("Decrypt = %q, %v", got, err)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("Decrypt err = %v, want %v", err, tc.err)
			}
			var re *ResourceError
			if !errors.As(err, &re) {
				t.Errorf("%v is not a *ResourceError", err)
			}
			if string(got) != "kept:" {
				t.Errorf("Decrypt returned %q on error, want dst unchanged", got)
			}
		})
	}
}

// TestDecryptReusesDst: with room in dst, Decrypt writes into it.
func TestDecryptReusesDst(t *testing.T) {
	key := mustAPIv3Key(t, testAPIv3Key)
	r := seal(t, testAPIv3Key, "fdasflkja484", "transaction", []byte(testTransaction))
	buf := make([]byte, 0, 4096)
	for range 3 {
		got, err := key.Decrypt(buf[:0], &r)
		if err != nil || string(got) != testTransaction {
			t.Fatalf("Decrypt = %q, %v", got, err)
		}
		if &got[0] != &buf[:1][0] {
			t.Fatal("Decrypt did not decrypt into dst's room")
		}
	}
}

// TestDecryptConcurrent shares one APIv3Key between goroutines, as handlers
// do; run with -race.
func TestDecryptConcurrent(t *testing.T) {
	key := mustAPIv3Key(t, testAPIv3Key)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			plain := fmt.Sprintf(`{"g":%d}`, g)
			r := seal(t, testAPIv3Key, fmt.Sprintf("nonce-%06d", g), "transaction", []byte(plain))
			var buf []byte
			for range 200 {
				var err error
				if buf, err = key.Decrypt(buf[:0], &r); err != nil || string(buf) != plain {
					t.Errorf("Decrypt = %q, %v", buf, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestNewAPIv3Key(t *testing.T) {
	for _, k := range []string{"", testAPIv3Key[:31], testAPIv3Key + "x", strings.Repeat("k", 64)} {
		_, err := NewAPIv3Key(k)
		if err == nil || !strings.Contains(err.Error(), "32 bytes") {
			t.Errorf("NewAPIv3Key(%d bytes) = %v", len(k), err)
		}
		if k != "" && strings.Contains(err.Error(), k[:8]) {
			t.Errorf("error %q quotes the key", err)
		}
	}
	key := mustAPIv3Key(t, testAPIv3Key)
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		for _, arg := range []any{key, *key} {
			out := fmt.Sprintf(f, arg)
			if strings.Contains(out, testAPIv3Key[:8]) || strings.Contains(out, fmt.Sprintf("%x", testAPIv3Key[:8])) {
				t.Errorf("Sprintf(%s) = %q shows the key", f, out)
			}
		}
	}
}

const testNotificationJSON = `{
    "id": "EV-2018022511223320873",
    "create_time": "2015-05-20T13:29:35+08:00",
    "resource_type": "encrypt-resource",
    "event_type": "TRANSACTION.SUCCESS",
    "summary": "支付成功",
    "resource": {
        "original_type": "transaction",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": "%s",
        "associated_data": "transaction",
        "nonce": "fdasflkja484"
    }
}`

func TestParseNotification(t *testing.T) {
	r := seal(t, testAPIv3Key, "fdasflkja484", "transaction", []byte(testTransaction))
	good := fmt.Sprintf(testNotificationJSON, r.Ciphertext)
	n, err := ParseNotification([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := Notification{ID: "EV-2018022511223320873", CreateTime: "2015-05-20T13:29:35+08:00", EventType: "TRANSACTION.SUCCESS",
		ResourceType: "encrypt-resource", Summary: "支付成功", Resource: r}
	if *n != want {
		t.Errorf("ParseNotification = %+v\nwant %+v", *n, want)
	}
	plain, err := mustAPIv3Key(t, testAPIv3Key).Decrypt(nil, &n.Resource)
	if err != nil || string(plain) != testTransaction {
		t.Errorf("Decrypt = %q, %v", plain, err)
	}

	for _, tc := range []struct{ name, body, want string }{
		{"empty", "", "not a JSON object"},
		{"null", "null", "id is missing"},
		{"array", "[]", "not a JSON object"},
		{"trailing data", good + "{}", "not a JSON object"},
		{"id a number", strings.Replace(good, `"EV-2018022511223320873"`, "12", 1), "not a JSON object"},
		{"no id", strings.Replace(good, `"id": "EV-2018022511223320873",`, "", 1), "id is missing"},
		{"id with a slash and space", strings.Replace(good, `EV-2018022511223320873`, `../ x`, 1), "not printable ASCII"},
		{"id too long", strings.Replace(good, `EV-2018022511223320873`, strings.Repeat("E", 129), 1), "longer than 128"},
		{"no event_type", strings.Replace(good, `"event_type": "TRANSACTION.SUCCESS",`, "", 1), "event_type"},
		{"other resource_type", strings.Replace(good, `encrypt-resource`, `plain`, 1), "resource_type"},
		{"no resource", strings.Replace(good, `"resource": {`, `"other": {`, 1), "resource lacks"},
		{"no nonce", strings.Replace(good, `"nonce": "fdasflkja484"`, `"x": 1`, 1), "resource lacks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseNotification([]byte(tc.body))
			if !errors.Is(err, ErrNotification) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrNotification containing %q", err, tc.want)
			}
		})
	}
}

// TestNotificationEndToEnd is the notify handler's path: verify the
// signature over the raw body, parse, decrypt.
func TestNotificationEndToEnd(t *testing.T) {
	for _, aad := range []string{"transaction", ""} {
		body := notificationBody(t, seal(t, testAPIv3Key, "fdasflkja484", aad, []byte(testTransaction)))
		if err := testVerifier(t).Verify(signedHeaders(t, body), body); err != nil {
			t.Fatal(err)
		}
		n, err := ParseNotification(body)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := mustAPIv3Key(t, testAPIv3Key).Decrypt(nil, &n.Resource)
		if err != nil || string(plain) != testTransaction {
			t.Fatalf("AAD %q: Decrypt = %q, %v", aad, plain, err)
		}
		if _, err := mustAPIv3Key(t, otherAPIv3Key).Decrypt(nil, &n.Resource); !errors.Is(err, ErrDecrypt) {
			t.Errorf("AAD %q: the wrong APIv3 key gives %v, want ErrDecrypt", aad, err)
		}
	}
}

// makeCert returns a PEM certificate for key, signed by itself.
func makeCert(t *testing.T, serial *big.Int, key crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Unix(testNow, 0), NotAfter: time.Unix(testNow, 0).AddDate(5, 0, 0)}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

type certEntry struct {
	SerialNo           string            `json:"serial_no"`
	EffectiveTime      string            `json:"effective_time"`
	ExpireTime         string            `json:"expire_time"`
	EncryptCertificate EncryptedResource `json:"encrypt_certificate"`
}

func certEntryFor(t *testing.T, serial string, certPEM []byte) certEntry {
	r := seal(t, testAPIv3Key, "d215b0511e9c", CertificateAAD, certPEM)
	r.OriginalType = ""
	return certEntry{SerialNo: serial, EffectiveTime: "2026-01-01T00:00:00+08:00", ExpireTime: "2031-01-01T00:00:00+08:00", EncryptCertificate: r}
}

func certAnswer(t *testing.T, entries ...certEntry) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{"data": entries})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestParseCertificates(t *testing.T) {
	key := mustAPIv3Key(t, testAPIv3Key)
	platformPEM := readKeyFile(t, "wechatpay_platform_cert.pem")
	platformPub := loadPublic(t, "wechatpay_platform_cert.pem")
	second := loadPrivate(t, "wechatpay_pubkey_key.pem")
	secondSerial := "0A1B2C3D4E5F"
	secondPEM := makeCert(t, big.NewInt(0x0A1B2C3D4E5F), second)
	good := certEntryFor(t, platformSerial, platformPEM)

	got, err := ParseCertificates(certAnswer(t, good, certEntryFor(t, strings.ToLower(secondSerial), secondPEM)), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[platformSerial].Equal(platformPub) || !got[secondSerial].Equal(&second.PublicKey) {
		t.Fatalf("ParseCertificates = %v", got)
	}
	// the bootstrap: a Verifier holding the fresh keys checks the answer
	var v Verifier
	v.Now = fixedClock
	if err := v.SetCertificates(got); err != nil {
		t.Fatal(err)
	}
	answer := certAnswer(t, good)
	if err := v.Verify(signedHeaders(t, answer), answer); err != nil {
		t.Errorf("the answer does not verify with its own certificates: %v", err)
	}

	ecKey, _ := x509.ParsePKCS8PrivateKey(func() []byte { b, _ := pem.Decode(readKeyFile(t, "ec_p256_pkcs8.pem")); return b.Bytes }())
	block, _ := pem.Decode(readKeyFile(t, "rsa1024_pkcs8.pem"))
	k1024, _ := x509.ParsePKCS8PrivateKey(block.Bytes)
	wrongAAD := good
	wrongAAD.EncryptCertificate = seal(t, testAPIv3Key, "d215b0511e9c", "transaction", platformPEM)
	wrongKey := certEntryFor(t, secondSerial, secondPEM)
	wrongKey.EncryptCertificate = seal(t, otherAPIv3Key, "d215b0511e9c", CertificateAAD, secondPEM)
	badAlg := good
	badAlg.EncryptCertificate.Algorithm = "AEAD_SM4_GCM"
	for _, tc := range []struct {
		name string
		body []byte
		err  error
		want string
	}{
		{"not JSON", []byte("<html>"), ErrCertificates, "not a JSON object"},
		{"no data", []byte(`{"data":[]}`), ErrCertificates, "no certificates"},
		{"WeChat error", []byte(`{"code":"SIGN_ERROR","message":"签名错误"}`), ErrCertificates, "no certificates"},
		{"serial_no not hex", certAnswer(t, certEntryFor(t, "PUB_KEY_ID_1", platformPEM)), ErrCertificates, "not hex"},
		{"serial_no twice", certAnswer(t, good, good), ErrCertificates, "twice"},
		{"serial_no not the certificate's", certAnswer(t, certEntryFor(t, secondSerial, platformPEM)), ErrCertificates, "serial number is not serial_no"},
		{"AAD not certificate", certAnswer(t, wrongAAD), ErrCertificates, `"certificate"`},
		{"wrong APIv3 key", certAnswer(t, good, wrongKey), ErrDecrypt, "entry 1"},
		{"wrong algorithm", certAnswer(t, badAlg), ErrAlgorithm, "entry 0"},
		{"not PEM", certAnswer(t, certEntryFor(t, platformSerial, []byte("hello"))), ErrCertificates, "not a PEM CERTIFICATE"},
		{"public key, not a certificate", certAnswer(t, certEntryFor(t, platformSerial, readKeyFile(t, "wechatpay_pub_key.pem"))), ErrCertificates, "not a PEM CERTIFICATE"},
		{"corrupt certificate", certAnswer(t, certEntryFor(t, platformSerial, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 1, 0}}))), ErrCertificates, "X.509"},
		{"EC certificate", certAnswer(t, certEntryFor(t, "0C", makeCert(t, big.NewInt(12), ecKey.(crypto.Signer)))), ErrCertificates, "not RSA"},
		{"1024-bit certificate", certAnswer(t, certEntryFor(t, "0D", makeCert(t, big.NewInt(13), k1024.(crypto.Signer)))), ErrCertificates, "1024 bits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCertificates(tc.body, key)
			if got != nil || !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseCertificates = %v, %v; want %v containing %q", got, err, tc.err, tc.want)
			}
		})
	}
}
