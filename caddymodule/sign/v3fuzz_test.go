package sign

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseAuthorization: ParseAuthorization never panics; what it refuses
// wraps ErrAuthorization and yields the zero value; what it accepts is
// exactly the schema, one space and the five key="value" parameters joined
// by commas (nothing more, nothing less), with values that need no escaping,
// and it accepts the same parameters again in RequestSigner's order.
func FuzzParseAuthorization(f *testing.F) {
	f.Add(goodAuth)
	f.Add(AuthSchema + ` signature="s",serial_no="1D",timestamp="1",nonce_str="n",mchid="1"`)
	f.Add(AuthSchema + ` mchid="1",mchid="1",nonce_str="n",timestamp="1",serial_no="1D",signature="s"`)
	f.Add(AuthSchema + ` mchid="1", nonce_str="n",timestamp="1",serial_no="1D",signature="s"`)
	f.Add(AuthSchema + ` mchid="1\"",nonce_str="n",timestamp="-1",serial_no="1D",signature="s",`)
	f.Add(AuthSchema + ` mchid=1,nonce_str="",timestamp="1",serial_no="1D",signature="s="`)
	f.Add(strings.ToLower(goodAuth))
	f.Add("")
	f.Fuzz(func(t *testing.T, header string) {
		a, err := ParseAuthorization(header)
		if err != nil {
			if !errors.Is(err, ErrAuthorization) || a != (Authorization{}) {
				t.Fatalf("refused with %v and %+v", err, a)
			}
			return
		}
		params := []string{a.MchID, a.NonceStr, a.Timestamp, a.SerialNo, a.Signature}
		n := len(AuthSchema) + 1 + len(authKeys) - 1
		for i, v := range params {
			if v == "" || !quotable(v) {
				t.Fatalf("accepted %q with %s=%q", header, authKeys[i], v)
			}
			p := authKeys[i] + `="` + v + `"`
			if !strings.Contains(header, p) {
				t.Fatalf("accepted %q, which lacks %s", header, p)
			}
			n += len(p)
		}
		if !strings.HasPrefix(header, AuthSchema+" ") || len(header) != n {
			t.Fatalf("accepted %q, which holds more than the schema and five parameters", header)
		}
		if _, ok := parseUnixSeconds(a.Timestamp); !ok {
			t.Fatalf("accepted timestamp %q", a.Timestamp)
		}
		canonical := AuthSchema + " "
		for i, v := range params {
			if i > 0 {
				canonical += ","
			}
			canonical += authKeys[i] + `="` + v + `"`
		}
		if b, err := ParseAuthorization(canonical); err != nil || b != a {
			t.Fatalf("%q parses as %+v, its canonical form %q as %+v, %v", header, a, canonical, b, err)
		}
	})
}

// fuzzResourceSeeds are valid encrypted notifications and what they hold.
var fuzzResourceSeeds = []struct{ nonce, aad, plaintext string }{
	{"fdasflkja484", "transaction", testTransaction},
	{"fdasflkja484", "", `{"refund_status":"SUCCESS"}`},
	{"0123456789ab", "certificate", "-----BEGIN CERTIFICATE-----\n"},
	{"支付成功", "\u2028<&>\"\\", "x"},
}

// FuzzParseNotification parses a body as a notification and decrypts it
// with a fixed APIv3 key. Invariants: nothing panics; every refusal is a
// *ResourceError; when a body decrypts, the plaintext sealed again under
// the same nonce and AAD gives the ciphertext back (so Decrypt's in-place
// buffer juggling returned exactly what GCM authenticated), and the seed
// notifications decrypt to the plaintext they were made from.
//
// The other three arguments build a notification the fuzzer can steer:
// plaintext is sealed under nonce and aad with the same key, put into a
// notification with encoding/json, parsed and decrypted; it must come back
// byte for byte when the nonce is 12 bytes, and fail with ErrNonceSize
// otherwise. This reaches the success path, which random bodies seldom do.
func FuzzParseNotification(f *testing.F) {
	key := mustAPIv3Key(f, testAPIv3Key)
	block, _ := aes.NewCipher([]byte(testAPIv3Key))
	gcm, _ := cipher.NewGCM(block)
	seeds := map[string]string{} // body → plaintext
	for _, s := range fuzzResourceSeeds {
		body := notificationBody(f, seal(f, testAPIv3Key, s.nonce, s.aad, []byte(s.plaintext)))
		seeds[string(body)] = s.plaintext
		f.Add(body, []byte(s.plaintext), s.aad, s.nonce)
	}
	f.Add([]byte(`{"id":"x","event_type":"e","resource_type":"encrypt-resource","resource":{"algorithm":"AEAD_AES_256_GCM","nonce":"012345678901","ciphertext":"AAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}`), []byte{}, "", "short")
	f.Add([]byte(`null`), []byte("p"), "a", "0123456789abc")
	f.Add([]byte(`{"id":1}`), []byte(nil), "", "")

	check := func(t *testing.T, body []byte) ([]byte, error) {
		n, err := ParseNotification(body)
		if err != nil {
			return nil, err
		}
		plain, err := key.Decrypt([]byte("kept"), &n.Resource)
		if err != nil {
			if string(plain) != "kept" {
				t.Fatalf("Decrypt changed dst to %q on error", plain)
			}
			return nil, err
		}
		if !bytes.HasPrefix(plain, []byte("kept")) {
			t.Fatalf("Decrypt lost dst's contents: %q", plain)
		}
		plain = plain[len("kept"):]
		ct, err := base64.StdEncoding.DecodeString(n.Resource.Ciphertext)
		if err != nil {
			t.Fatalf("decrypted a ciphertext that is not base64: %v", err)
		}
		if again := gcm.Seal(nil, []byte(n.Resource.Nonce), plain, []byte(n.Resource.AssociatedData)); !bytes.Equal(again, ct) {
			t.Fatalf("plaintext %q does not seal back to the ciphertext", plain)
		}
		return plain, nil
	}

	f.Fuzz(func(t *testing.T, body, plaintext []byte, aad, nonce string) {
		plain, err := check(t, body)
		var re *ResourceError
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("error %v is not a *ResourceError", err)
		}
		if want, ok := seeds[string(body)]; ok && (err != nil || string(plain) != want) {
			t.Fatalf("seed notification decrypts to %q, %v; want %q", plain, err, want)
		}

		// JSON carries only valid UTF-8; the rest is not a notification
		// WeChat can send.
		if len(plaintext) == 0 || !utf8.ValidString(aad) || !utf8.ValidString(nonce) {
			return
		}
		var r EncryptedResource
		if len(nonce) == gcmNonceSize {
			r = seal(t, testAPIv3Key, nonce, aad, plaintext)
		} else {
			r = seal(t, testAPIv3Key, "012345678901", aad, plaintext)
			r.Nonce = nonce
		}
		built := notificationBody(t, r)
		plain, err = check(t, built)
		switch {
		case nonce == "":
			if !errors.Is(err, ErrNotification) {
				t.Fatalf("a notification without nonce gives %v", err)
			}
		case len(nonce) != gcmNonceSize:
			if !errors.Is(err, ErrNonceSize) {
				t.Fatalf("a %d-byte nonce gives %v", len(nonce), err)
			}
		case err != nil || !bytes.Equal(plain, plaintext):
			t.Fatalf("sealed %q (nonce %q, AAD %q), got %q, %v", plaintext, nonce, aad, plain, err)
		}
	})
}
