package sign

import (
	"bytes"
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// keysDir holds the repository's openssl-made test keys (see its README).
const keysDir = "../../testdata/keys/"

type payVectors struct {
	V3 []struct {
		Name      string `json:"name"`
		AppID     string `json:"appId"`
		TimeStamp string `json:"timeStamp"`
		NonceStr  string `json:"nonceStr"`
		Package   string `json:"package"`
		PaySign   string `json:"paySign"`
	} `json:"v3"`
	V2 []struct {
		Name       string            `json:"name"`
		Params     map[string]string `json:"params"`
		Key        string            `json:"key"`
		MD5        string            `json:"MD5"`
		HMACSHA256 string            `json:"HMAC-SHA256"`
	} `json:"v2"`
}

func loadPayVectors(t *testing.T) payVectors {
	t.Helper()
	data, err := os.ReadFile("testdata/pay_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v payVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.V3) == 0 || len(v.V2) == 0 {
		t.Fatal("testdata/pay_vectors.json holds no vectors")
	}
	return v
}

func readKeyFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(keysDir + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	key, err := ParsePrivateKeyPEM(readKeyFile(t, "apiclient_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func testPublicKey(t *testing.T) *rsa.PublicKey {
	t.Helper()
	block, _ := pem.Decode(readKeyFile(t, "apiclient_pub.pem"))
	if block == nil {
		t.Fatal("apiclient_pub.pem holds no PEM block")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub.(*rsa.PublicKey)
}

// verifyV3 checks paySign with crypto/rsa against the public key, over the
// message WeChat's documentation spells out.
func verifyV3(t *testing.T, pub *rsa.PublicKey, appID, ts, nonce, pkg, paySign string) {
	t.Helper()
	sig, err := base64.StdEncoding.DecodeString(paySign)
	if err != nil {
		t.Fatalf("paySign is not standard base64: %v", err)
	}
	digest := sha256.Sum256([]byte(appID + "\n" + ts + "\n" + nonce + "\n" + pkg + "\n"))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("paySign does not verify against the public key: %v", err)
	}
}

func TestPayV3Vectors(t *testing.T) {
	key, pub := testKey(t), testPublicKey(t)
	for _, v := range loadPayVectors(t).V3 {
		t.Run(v.Name, func(t *testing.T) {
			got, err := PayV3(key, v.AppID, v.TimeStamp, v.NonceStr, v.Package)
			if err != nil {
				t.Fatal(err)
			}
			if got != v.PaySign {
				t.Errorf("PayV3 = %s\nwant     %s", got, v.PaySign)
			}
			verifyV3(t, pub, v.AppID, v.TimeStamp, v.NonceStr, v.Package, got)
		})
	}
}

func TestPayV3SameForPKCS1AndPKCS8(t *testing.T) {
	pkcs1, err := ParsePrivateKeyPEM(readKeyFile(t, "rsa2048_pkcs1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := testKey(t)
	if !pkcs1.Equal(pkcs8) {
		t.Fatal("the PKCS#1 and PKCS#8 test files hold different keys")
	}
	a, err1 := PayV3(pkcs1, "wx1", "1", "n", "prepay_id=p")
	b, err2 := PayV3(pkcs8, "wx1", "1", "n", "prepay_id=p")
	if err1 != nil || err2 != nil || a != b {
		t.Errorf("PKCS#1 %q (%v) and PKCS#8 %q (%v) sign differently", a, err1, b, err2)
	}
}

func TestPayV3NoKey(t *testing.T) {
	if _, err := PayV3(nil, "wx1", "1", "n", "prepay_id=p"); err == nil {
		t.Error("PayV3 with a nil key succeeded")
	}
}

// TestPayV3MatchesOpenSSL signs fresh inputs with the openssl command line
// WeChat's documentation gives and with PayV3: they must agree.
func TestPayV3MatchesOpenSSL(t *testing.T) {
	t.Cleanup(func() {
		if t.Skipped() && os.Getenv("JSSDK_NO_SKIP") != "" {
			t.Errorf("skipped with JSSDK_NO_SKIP set: install openssl")
		}
	})
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	key := testKey(t)
	cases := [][4]string{
		{"wxd930ea5d5a258f4f", "1414561699", Nonce(), "prepay_id=wx201410272009395522657a690389285100"},
		{"wx0123456789abcdef", "1700000123", Nonce(), "prepay_id=" + Nonce() + Nonce()},
	}
	for _, c := range cases {
		msg := c[0] + "\n" + c[1] + "\n" + c[2] + "\n" + c[3] + "\n"
		sign := exec.Command(openssl, "dgst", "-sha256", "-sign", keysDir+"apiclient_key.pem")
		sign.Stdin = strings.NewReader(msg)
		raw, err := sign.Output()
		if err != nil {
			t.Fatalf("openssl dgst: %v", err)
		}
		enc := exec.Command(openssl, "base64", "-A")
		enc.Stdin = bytes.NewReader(raw)
		want, err := enc.Output()
		if err != nil {
			t.Fatalf("openssl base64: %v", err)
		}
		got, err := PayV3(key, c[0], c[1], c[2], c[3])
		if err != nil {
			t.Fatal(err)
		}
		if got != strings.TrimSpace(string(want)) {
			t.Errorf("%q: PayV3 = %s\nopenssl    %s", msg, got, want)
		}
	}
}

func TestPayV2Vectors(t *testing.T) {
	for _, v := range loadPayVectors(t).V2 {
		for signType, want := range map[string]string{SignTypeMD5: v.MD5, SignTypeHMACSHA256: v.HMACSHA256} {
			if want == "" {
				continue
			}
			t.Run(v.Name+"/"+signType, func(t *testing.T) {
				got, err := PayV2(v.Params, v.Key, signType)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("PayV2 = %s, want %s", got, want)
				}
			})
		}
	}
}

// TestPayV2ASCIIOrder: upper-case keys sort before lower-case ones, and
// values are not URL-encoded.
func TestPayV2ASCIIOrder(t *testing.T) {
	params := map[string]string{"b": "x y&z", "B": "2", "a": "=", "_": "u"}
	sum := md5.Sum([]byte("B=2&_=u&a==&b=x y&z&key=K"))
	want := strings.ToUpper(hex.EncodeToString(sum[:]))
	got, err := PayV2(params, "K", SignTypeMD5)
	if err != nil || got != want {
		t.Errorf("PayV2 = %s (%v), want %s", got, err, want)
	}
}

func TestPayV2Errors(t *testing.T) {
	for _, tc := range []struct {
		name, key, signType, want string
	}{
		{"empty key", "", SignTypeMD5, "empty API key"},
		{"RSA is v3", "k", SignTypeRSA, `"RSA"`},
		{"lower-case md5", "k", "md5", `"md5"`},
		{"SHA1 is the 2014 API", "k", "SHA1", `"SHA1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PayV2(map[string]string{"a": "b"}, tc.key, tc.signType)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %s", err, tc.want)
			}
		})
	}
}

func TestParsePrivateKeyPEM(t *testing.T) {
	good := readKeyFile(t, "apiclient_key.pem")
	pub := readKeyFile(t, "apiclient_pub.pem")
	corrupt := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not DER at all")})
	legacyEncrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: []byte{1}})
	for _, tc := range []struct {
		name    string
		input   []byte
		wantErr string // empty: must parse
	}{
		{"PKCS#8", good, ""},
		{"PKCS#1", readKeyFile(t, "rsa2048_pkcs1.pem"), ""},
		{"public key block first", append(append([]byte{}, pub...), good...), ""},
		{"text around the block", []byte("merchant key\n" + string(good) + "\nend\n"), ""},
		{"1024 bits", readKeyFile(t, "rsa1024_pkcs8.pem"), "1024 bits, fewer than 2048"},
		{"EC PKCS#8", readKeyFile(t, "ec_p256_pkcs8.pem"), "EC, not RSA"},
		{"EC SEC 1", readKeyFile(t, "ec_p256_sec1.pem"), "EC, not RSA"},
		{"Ed25519", readKeyFile(t, "ed25519_pkcs8.pem"), "Ed25519, not RSA"},
		{"encrypted PKCS#8", readKeyFile(t, "rsa2048_encrypted.pem"), "encrypted"},
		{"encrypted PKCS#1", legacyEncrypted, "encrypted"},
		{"public key only", pub, "no PRIVATE KEY"},
		{"empty", nil, "no PEM data"},
		{"DER, not PEM", []byte{0x30, 0x82, 0x04, 0xa4}, "no PEM data"},
		{"corrupt PKCS#8", corrupt, "not a valid PKCS#8"},
		{"OpenSSH", pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte{1}}), `"OPENSSH PRIVATE KEY"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := ParsePrivateKeyPEM(tc.input)
			if tc.wantErr == "" {
				if err != nil || key == nil || key.N.BitLen() != 2048 {
					t.Fatalf("ParsePrivateKeyPEM: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want an error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %q, want one containing %q", err, tc.wantErr)
			}
			assertNoKeyMaterial(t, err.Error(), tc.input)
		})
	}
}

// assertNoKeyMaterial fails when msg quotes any base64 line of pemData (or,
// for a non-PEM input, any 8 of its bytes).
func assertNoKeyMaterial(t *testing.T, msg string, pemData []byte) {
	t.Helper()
	for line := range strings.Lines(string(pemData)) {
		line = strings.TrimSpace(line)
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") && strings.Contains(msg, line[:16]) {
			t.Errorf("error %q quotes the key file", msg)
		}
	}
	for i := 0; i+8 <= len(pemData) && !bytes.Contains(pemData, []byte("-----")); i++ {
		if strings.Contains(msg, string(pemData[i:i+8])) {
			t.Errorf("error %q quotes the input", msg)
		}
	}
}
