package sign

import (
	"crypto/rsa"
	"fmt"
	"strings"
	"testing"
)

// TestV3ErrorsHoldNoSecrets drives every refusal of the v3 code with inputs
// that carry secrets — the APIv3 key, the merchant's private key, a
// signature, a plaintext — and checks that no error text quotes any of them.
func TestV3ErrorsHoldNoSecrets(t *testing.T) {
	merchantPEM := readKeyFile(t, "apiclient_key.pem")
	merchant := testKey(t)
	plain := []byte(testTransaction)
	body := notificationBody(t, seal(t, testAPIv3Key, "fdasflkja484", "transaction", plain))
	good := signedHeaders(t, body)
	key := mustAPIv3Key(t, testAPIv3Key)
	wrongKey := mustAPIv3Key(t, otherAPIv3Key)
	r := seal(t, testAPIv3Key, "fdasflkja484", "transaction", plain)
	v := testVerifier(t)
	secrets := map[string]string{
		"APIv3 key":       testAPIv3Key,
		"other APIv3 key": otherAPIv3Key,
		"signature":       good.Signature,
		// the plaintext, by its fields that are not in the configuration
		"out_trade_no":         "20260101123456789",
		"openid":               "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
		"transaction_id":       "4200001234202601011234567890",
		"ciphertext":           r.Ciphertext,
		"private exponent":     merchant.D.String(),
		"private exponent hex": merchant.D.Text(16),
	}

	var errs []error
	add := func(err error) {
		if err == nil {
			t.Errorf("case %d: no error", len(errs))
		}
		errs = append(errs, err)
	}
	// Verify, with the real signature in the headers
	for _, f := range []func(h *SignedHeaders, b *[]byte){
		func(h *SignedHeaders, b *[]byte) { *b = append([]byte("x"), *b...) },
		func(h *SignedHeaders, b *[]byte) { h.Timestamp = "1" },
		func(h *SignedHeaders, b *[]byte) { h.Timestamp = "x" },
		func(h *SignedHeaders, b *[]byte) { h.Serial = "ABCDEF" },
		func(h *SignedHeaders, b *[]byte) { h.Signature = SignTestPrefix + h.Signature },
		func(h *SignedHeaders, b *[]byte) { h.Signature = "*" + h.Signature },
		func(h *SignedHeaders, b *[]byte) { h.Nonce = "" },
		func(h *SignedHeaders, b *[]byte) { h.SignatureType = h.Signature },
		func(h *SignedHeaders, b *[]byte) { h.Nonce = h.Signature + "\n" },
	} {
		h, b := good, append([]byte(nil), body...)
		f(&h, &b)
		add(v.Verify(h, b))
	}
	// ParseAuthorization, on headers carrying a signature
	for _, h := range []string{
		AuthSchema + ` signature="` + good.Signature + `"`,
		AuthSchema + ` signature="` + good.Signature + `",signature="` + good.Signature + `"`,
		AuthSchema + ` x="` + good.Signature + `"`,
		AuthSchema + ` ` + good.Signature + `=""`,
		"Bearer " + good.Signature,
	} {
		_, err := ParseAuthorization(h)
		add(err)
	}
	// Decrypt and ParseCertificates
	for _, f := range []func(r *EncryptedResource){
		func(r *EncryptedResource) { r.Nonce = testAPIv3Key },
		func(r *EncryptedResource) { r.Algorithm = testAPIv3Key },
		func(r *EncryptedResource) { r.Ciphertext = "*" + r.Ciphertext },
		func(r *EncryptedResource) { r.AssociatedData = testAPIv3Key },
	} {
		rr := r
		f(&rr)
		_, err := key.Decrypt(nil, &rr)
		add(err)
	}
	_, err := wrongKey.Decrypt(nil, &r)
	add(err)
	_, err = ParseCertificates(certAnswer(t, certEntryFor(t, platformSerial, plain)), key)
	add(err)
	_, err = ParseCertificates(certAnswer(t, certEntryFor(t, platformSerial, plain)), wrongKey)
	add(err)
	_, err = ParseNotification([]byte(`{"id":"` + testTransaction + `"}`))
	add(err)
	_, err = ParseNotification(plain[:len(plain)-1])
	add(err)
	// keys
	for _, k := range []string{testAPIv3Key[:31], testAPIv3Key + testAPIv3Key} {
		_, err := NewAPIv3Key(k)
		add(err)
	}
	_, err = NewRequestSigner(testMchID, testAPIv3Key+"-", merchant)
	add(err)
	_, err = NewRequestSigner(`"`+testAPIv3Key, testMchSerial, merchant)
	add(err)
	_, err = testSigner(t).AppendAuthorizationAt(nil, "POST", "/v3/x", plain, 1, testAPIv3Key+`"`)
	add(err)
	_, err = testSigner(t).AppendAuthorizationAt(nil, "POST", "/v3/x "+testAPIv3Key, plain, 1, "n")
	add(err)
	add((&Verifier{}).SetPublicKeys(map[string]*rsa.PublicKey{testAPIv3Key: &merchant.PublicKey}))
	_, err = ParsePublicKeyPEM(merchantPEM)
	add(err)

	for i, err := range errs {
		if err == nil {
			continue
		}
		msg := err.Error()
		for name, secret := range secrets {
			if w := quotedWindow(msg, secret, 10); w != "" {
				t.Errorf("error %d %q quotes the %s (%q)", i, msg, name, w)
			}
		}
		assertNoKeyMaterial(t, msg, merchantPEM)
	}

	// nor do the types print their keys
	signer := testSigner(t)
	for _, out := range []string{
		fmt.Sprintf("%v %+v %#v", key, key, key),
		fmt.Sprintf("%v %+v %#v", *key, *key, *key),
		fmt.Sprintf("%v %+v %#v", signer, signer, signer),
		fmt.Sprintf("%v %+v %#v", *signer, *signer, *signer),
		fmt.Sprintf("%v %+v %#v", v, v, v),
	} {
		for name, secret := range secrets {
			if w := quotedWindow(out, secret, 10); w != "" {
				t.Errorf("%q shows the %s", out, name)
			}
		}
	}
}

// quotedWindow returns a piece of secret, n bytes long, that msg contains,
// or "".
func quotedWindow(msg, secret string, n int) string {
	for i := 0; i+n <= len(secret); i++ {
		if strings.Contains(msg, secret[i:i+n]) {
			return secret[i : i+n]
		}
	}
	return ""
}
