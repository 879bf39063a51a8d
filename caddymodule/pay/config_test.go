package pay

import (
	"crypto/rsa"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		want        Handler
	}{
		{
			name:  "v3 minimal",
			input: "wechat_pay {\n app_id wx1234567890abcdef\n private_key /etc/wechat/apiclient_key.pem\n}",
			want:  Handler{AppID: "wx1234567890abcdef", PrivateKey: "/etc/wechat/apiclient_key.pem"},
		},
		{
			name: "v2, every option",
			input: `wechat_pay {
				app_id       wx1234567890abcdef
				api_key      {env.WECHAT_PAY_API_KEY}
				sign_type    HMAC-SHA256
				prepay_field prepayId
				output_field payParams
				max_body     512KiB
			}`,
			want: Handler{AppID: "wx1234567890abcdef", APIKey: "{env.WECHAT_PAY_API_KEY}", SignType: "HMAC-SHA256",
				PrepayField: "prepayId", OutputField: "payParams", MaxBody: 512 << 10},
		},
		{
			name:  "SI size",
			input: "wechat_pay {\n app_id wx1\n private_key k.pem\n sign_type RSA\n max_body 2MB\n}",
			want:  Handler{AppID: "wx1", PrivateKey: "k.pem", SignType: "RSA", MaxBody: 2000000},
		},
		{
			name:  "plain byte count",
			input: "wechat_pay {\n app_id wx1\n private_key k.pem\n max_body 4096\n}",
			want:  Handler{AppID: "wx1", PrivateKey: "k.pem", MaxBody: 4096},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got Handler
			if err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input)); err != nil {
				t.Fatalf("UnmarshalCaddyfile: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	const secret = "s3cr3t-api-key-value"
	v3 := "app_id wx1234567890abcdef\n private_key k.pem\n"
	block := func(body string) string { return "wechat_pay {\n" + body + "\n}" }
	for _, tc := range []struct {
		name, input string
		want        []string
	}{
		{"argument", "wechat_pay " + secret + " {\n}", []string{"wechat_pay", "block"}},
		{"no block", "wechat_pay", []string{"wechat_pay", "app_id is required"}},
		{"unknown option", block(v3 + "colour blue"), []string{"wechat_pay", `"colour"`}},
		{"missing value", block(v3 + "prepay_field"), []string{"wechat_pay", "prepay_field", "missing value"}},
		{"two values", block(v3 + "output_field a b"), []string{"wechat_pay", "output_field", "exactly one"}},
		{"api_key two values", block("app_id wx1\n api_key " + secret + " " + secret), []string{"wechat_pay", "api_key", "exactly one"}},
		{"repeated", block(v3 + "private_key other.pem"), []string{"wechat_pay", "private_key", "more than once"}},
		{"bad size", block(v3 + "max_body lots"), []string{"wechat_pay", "max_body", `"lots"`}},
		{"zero size", block(v3 + "max_body 0"), []string{"wechat_pay", "max_body"}},
		{"huge size", block(v3 + "max_body 1GiB"), []string{"wechat_pay", "max_body", "64MiB"}},
		{"missing app_id", block("private_key k.pem"), []string{"wechat_pay", "app_id", "required"}},
		{"bad app_id", block("app_id 12345\n private_key k.pem"), []string{"wechat_pay", "app_id", "12345"}},
		{"no key", block("app_id wx1"), []string{"wechat_pay", "private_key", "api_key", "required"}},
		{"both keys", block(v3 + "api_key " + secret), []string{"wechat_pay", "private_key", "api_key", "only one"}},
		{"RSA with api_key", block("app_id wx1\n api_key " + secret + "\n sign_type RSA"), []string{"wechat_pay", "sign_type", "RSA needs private_key"}},
		{"MD5 with private_key", block(v3 + "sign_type MD5"), []string{"wechat_pay", "sign_type", "MD5 needs api_key"}},
		{"unknown sign_type", block(v3 + "sign_type SHA1"), []string{"wechat_pay", "sign_type", `"SHA1"`}},
		{"lower-case sign_type", block(v3 + "sign_type rsa"), []string{"wechat_pay", "sign_type", `"rsa"`}},
		{"same fields", block(v3 + "output_field prepay_id"), []string{"wechat_pay", "prepay_field and output_field"}},
		{"long field", block(v3 + "output_field " + strings.Repeat("f", 129)), []string{"wechat_pay", "output_field", "128"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.input)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q repeats the API key", err)
			}
		})
	}
}

// TestValidateJSON covers what the JSON config can hold but the Caddyfile
// parser already refuses. Validate sees the config as Caddy hands it over:
// provisioned, so with the defaults applied.
func TestValidateJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    Handler
		want string
	}{
		{"negative max_body", Handler{AppID: "wx1", PrivateKey: "k", MaxBody: -1}, "max_body"},
		{"invalid UTF-8 field", Handler{AppID: "wx1", PrivateKey: "k", OutputField: "\xff"}, "output_field: not valid UTF-8"},
		{"default output as prepay", Handler{AppID: "wx1", PrivateKey: "k", PrepayField: "wechat_pay"}, "both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.h.applyDefaults()
			before := tc.h
			if err := tc.h.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error containing %q", err, tc.want)
			}
			if !reflect.DeepEqual(tc.h, before) {
				t.Errorf("Validate changed the handler: %+v", tc.h)
			}
		})
	}
	ok := Handler{AppID: "wx1", PrivateKey: "k"}
	ok.applyDefaults()
	before := ok
	if err := ok.Validate(); err != nil {
		t.Errorf("a good config fails: %v", err)
	}
	if !reflect.DeepEqual(ok, before) {
		t.Errorf("Validate changed the handler: %+v", ok)
	}
}

// TestProvisionKeyErrors: a key that cannot be used fails the config load,
// naming the directive and the option and quoting nothing of the key.
func TestProvisionKeyErrors(t *testing.T) {
	t.Setenv("PAY_TEST_EMPTY", "")
	dir := t.TempDir()
	truncated := filepath.Join(dir, "truncated.pem")
	good, err := os.ReadFile(keysDir + "apiclient_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, good[:len(good)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		h    Handler
		want []string
	}{
		{"missing file", Handler{PrivateKey: filepath.Join(dir, "nope.pem")}, []string{"private_key", "no such file"}},
		{"a directory", Handler{PrivateKey: dir}, []string{"private_key", "directory"}},
		{"truncated", Handler{PrivateKey: truncated}, []string{"private_key", "no PEM data"}},
		{"1024 bits", Handler{PrivateKey: keysDir + "rsa1024_pkcs8.pem"}, []string{"private_key", "1024 bits"}},
		{"EC", Handler{PrivateKey: keysDir + "ec_p256_pkcs8.pem"}, []string{"private_key", "EC, not RSA"}},
		{"encrypted", Handler{PrivateKey: keysDir + "rsa2048_encrypted.pem"}, []string{"private_key", "encrypted"}},
		{"public key", Handler{PrivateKey: keysDir + "apiclient_pub.pem"}, []string{"private_key", "no PRIVATE KEY"}},
		{"unset path placeholder", Handler{PrivateKey: "{env.PAY_TEST_UNSET_PATH}"}, []string{"private_key"}},
		{"empty api_key", Handler{APIKey: "{env.PAY_TEST_EMPTY}"}, []string{"api_key"}},
		{"blank api_key", Handler{APIKey: "  "}, []string{"api_key", "empty"}},
		{"both keys", Handler{PrivateKey: keysDir + "apiclient_key.pem", APIKey: "k"}, []string{"private_key", "api_key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.h.AppID = testAppID
			err := provision(t, &tc.h)
			if err == nil {
				t.Fatal("provisioned")
			}
			for _, w := range append([]string{"wechat_pay: "}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for line := range strings.Lines(string(good)) {
				if l := strings.TrimSpace(line); !strings.HasPrefix(l, "-----") && strings.Contains(err.Error(), l[:16]) {
					t.Errorf("error %q quotes the key", err)
				}
			}
		})
	}
}

func TestProvisionKeyForms(t *testing.T) {
	t.Setenv("PAY_TEST_KEY_DIR", keysDir)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "api_key")
	if err := os.WriteFile(keyFile, []byte(testAPIKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		h        Handler
		signType string
	}{
		{"PKCS#8", Handler{PrivateKey: keysDir + "apiclient_key.pem"}, "RSA"},
		{"PKCS#1", Handler{PrivateKey: keysDir + "rsa2048_pkcs1.pem"}, "RSA"},
		{"path placeholder", Handler{PrivateKey: "{env.PAY_TEST_KEY_DIR}apiclient_key.pem"}, "RSA"},
		{"api_key from a file", Handler{APIKey: "{file." + keyFile + "}"}, "MD5"},
		{"api_key literal", Handler{APIKey: testAPIKey, SignType: "HMAC-SHA256"}, "HMAC-SHA256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.h.AppID = testAppID
			if err := provision(t, &tc.h); err != nil {
				t.Fatal(err)
			}
			if tc.h.SignType != tc.signType {
				t.Errorf("sign_type %q, want %q", tc.h.SignType, tc.signType)
			}
			got, err := tc.h.signer("wx1", "1", "n", "prepay_id=p")
			if err != nil {
				t.Fatal(err)
			}
			var want string
			if tc.signType == "RSA" {
				want, err = sign.PayV3(testRSAKey(t), "wx1", "1", "n", "prepay_id=p")
			} else {
				want, err = sign.PayV2(map[string]string{"appId": "wx1", "timeStamp": "1", "nonceStr": "n",
					"package": "prepay_id=p", "signType": tc.signType}, testAPIKey, tc.signType)
			}
			if err != nil || got != want {
				t.Errorf("paySign %s, want %s (%v): the key was not the one given", got, want, err)
			}
		})
	}
}

// TestHandlerPrintsNoKey: fmt output of a provisioned handler, the form a
// careless debug line would take, shows neither key.
func TestHandlerPrintsNoKey(t *testing.T) {
	t.Setenv("PAY_TEST_API_KEY", testAPIKey)
	v3, _ := newHandler(t, nil)
	v2, _ := newHandler(t, func(h *Handler) { h.PrivateKey, h.APIKey = "", "{env.PAY_TEST_API_KEY}" })
	key := testRSAKey(t)
	for _, s := range []string{
		fmtAll(v3), fmtAll(*v3), fmtAll(v3.signer), fmtAll(v2), fmtAll(*v2), fmtAll(v2.signer),
	} {
		if strings.Contains(s, testAPIKey) || strings.Contains(s, key.D.String()) || strings.Contains(s, key.Primes[0].String()) {
			t.Errorf("fmt output shows a key: %.200s", s)
		}
	}
}

// fmtAll prints x with the verbs a debug line might use.
func fmtAll(x any) string {
	return fmt.Sprintf("%v %+v %#v %s %d %x %q", x, x, x, x, x, x, x)
}

func testRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(keysDir + "apiclient_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := sign.ParsePrivateKeyPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
