package sandbox

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"
)

func TestCaddyfilePayV3(t *testing.T) {
	var h Handler
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`wechat_sandbox {
		app_id     wx0123456789abcdef
		app_secret s
		merchant_public_key   keys/apiclient_pub.pem
		mch_id                1900000001
		merchant_serial       5157F09EFDC096DE15EBE81A47057A7232F1B8E1
		wechatpay_private_key keys/wechatpay_pubkey_key.pem PUB_KEY_ID_0114232134912410000000000000
		wechatpay_certificate keys/wechatpay_platform_cert.pem keys/wechatpay_platform_key.pem
		apiv3_key             {env.APIV3_KEY}
		demo_backend          http://localhost:8080/wechatpay http://localhost:8080/pay/notify
	}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Handler{AppID: "wx0123456789abcdef", AppSecret: "s", MerchantPublicKey: "keys/apiclient_pub.pem",
		MchID: "1900000001", MerchantSerial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
		WechatpayPrivateKey:  &WechatpayKey{Path: "keys/wechatpay_pubkey_key.pem", ID: "PUB_KEY_ID_0114232134912410000000000000"},
		WechatpayCertificate: &WechatpayCertificate{Certificate: "keys/wechatpay_platform_cert.pem", Key: "keys/wechatpay_platform_key.pem"},
		APIv3Key:             "{env.APIV3_KEY}",
		DemoBackend:          &DemoBackend{PayAPI: "http://localhost:8080/wechatpay", NotifyURL: "http://localhost:8080/pay/notify"}}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("got  %+v\nwant %+v", h, want)
	}
}

func TestCaddyfilePayV3Errors(t *testing.T) {
	const secretValue = "a7Kq9ZpX2mR4tW8yB3nC6vF1hJ5dL0sX"
	v3 := []string{"app_id a", "app_secret s", "merchant_public_key p.pem", "merchant_serial 5157F09E",
		"wechatpay_private_key k.pem PUB_KEY_ID_01", "apiv3_key {env.K}"}
	block := func(drop string, extra ...string) string {
		var lines []string
		for _, l := range v3 {
			if !strings.HasPrefix(l, drop+" ") {
				lines = append(lines, l)
			}
		}
		return "wechat_sandbox {\n" + strings.Join(append(lines, extra...), "\n") + "\n}"
	}
	for _, tc := range []struct{ name, input, want string }{
		{"complete", block(""), ""},
		{"v3 option without merchant_serial", block("merchant_serial"), "wechat_sandbox: wechatpay_private_key: needs merchant_serial"},
		{"mch_id without merchant_serial", "wechat_sandbox {\napp_id a\napp_secret s\nmch_id 1\n}", "wechat_sandbox: mch_id: needs merchant_serial"},
		{"no merchant_public_key", block("merchant_public_key"), "wechat_sandbox: merchant_serial: needs merchant_public_key"},
		{"no apiv3_key", block("apiv3_key"), "wechat_sandbox: merchant_serial: needs apiv3_key"},
		{"no platform key", block("wechatpay_private_key"), "wechat_sandbox: merchant_serial: needs wechatpay_private_key (public-key mode) or wechatpay_certificate"},
		{"serial not hex", block("merchant_serial", "merchant_serial XYZ"), `wechat_sandbox: merchant_serial: "XYZ" is not a certificate serial number in hex`},
		{"mch_id not digits", block("", "mch_id 19a"), `wechat_sandbox: mch_id: "19a" is not a WeChat Pay merchant ID (digits)`},
		{"public key ID", block("wechatpay_private_key", "wechatpay_private_key k.pem KEY_01"), `wechat_sandbox: wechatpay_private_key: "KEY_01" is not a public key ID`},
		{"private key one value", block("wechatpay_private_key", "wechatpay_private_key k.pem"), "wechat_sandbox: wechatpay_private_key: takes two values: the path to WeChat Pay's private key and its PUB_KEY_ID_…"},
		{"certificate one value", block("", "wechatpay_certificate c.pem"), "wechat_sandbox: wechatpay_certificate: takes two values"},
		{"apiv3_key length", block("apiv3_key", "apiv3_key "+secretValue[:31]), "wechat_sandbox: apiv3_key: must be 32 bytes, got 31"},
		{"apiv3_key two values", block("apiv3_key", "apiv3_key "+secretValue+" x"), "wechat_sandbox: apiv3_key: takes exactly one value"},
		{"apiv3_key on a line of its own", block("", secretValue), "wechat_sandbox: unrecognized subdirective (not repeated here"},
		{"demo_backend without mch_id", block("", "demo_backend http://a.test/wechatpay http://a.test/notify"), "wechat_sandbox: demo_backend: needs mch_id"},
		{"demo_backend pay_api", block("", "mch_id 1", "demo_backend a.test http://a.test/notify"), `wechat_sandbox: demo_backend: the wechat_pay_api URL: "a.test": scheme must be http or https`},
		{"demo_backend pay_api with a password", block("", "mch_id 1", "demo_backend http://u:"+secretValue+"@a.test/x http://a.test/notify"), "wechat_sandbox: demo_backend: the wechat_pay_api URL: a URL must not carry user info"},
		{"demo_backend pay_api with a query", block("", "mch_id 1", "demo_backend http://a.test/x?y http://a.test/notify"), "wechat_sandbox: demo_backend: the wechat_pay_api URL must not carry a query"},
		{"demo_backend notify_url", block("", "mch_id 1", "demo_backend http://a.test/wechatpay http://a.test/notify?x=1"), "wechat_sandbox: demo_backend: notify_url: must not carry a query"},
		{"demo_backend one value", block("", "mch_id 1", "demo_backend http://a.test/wechatpay"), "wechat_sandbox: demo_backend: takes two values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant      %s…", err, tc.want)
			}
			if strings.Contains(err.Error(), secretValue[:20]) {
				t.Fatalf("the error repeats the APIv3 key: %v", err)
			}
		})
	}
}

// TestProvisionPayV3Errors: the keys are read at provision, and a bad one
// fails it, naming the option.
func TestProvisionPayV3Errors(t *testing.T) {
	base := func() *Handler {
		return &Handler{AppID: "wx-" + t.Name(), AppSecret: testSecret, MerchantPublicKey: testKeys + "apiclient_pub.pem",
			MerchantSerial: testMerchantSerial, APIv3Key: testAPIv3Key,
			WechatpayPrivateKey: &WechatpayKey{Path: testKeys + "wechatpay_pubkey_key.pem", ID: testPubKeyID}}
	}
	t.Setenv("SANDBOX_TEST_SHORT_KEY", "short")
	for _, tc := range []struct {
		name   string
		change func(*Handler)
		want   string
	}{
		{"private key missing", func(h *Handler) { h.WechatpayPrivateKey.Path = testKeys + "missing.pem" }, "wechat_sandbox: wechatpay_private_key: open"},
		{"private key is public", func(h *Handler) { h.WechatpayPrivateKey.Path = testKeys + "wechatpay_pub_key.pem" }, "wechat_sandbox: wechatpay_private_key:"},
		{"private key not RSA", func(h *Handler) { h.WechatpayPrivateKey.Path = testKeys + "ec_p256_pkcs8.pem" }, "not an RSA key"},
		{"certificate and key apart", func(h *Handler) {
			h.WechatpayCertificate = &WechatpayCertificate{Certificate: testKeys + "wechatpay_platform_cert.pem", Key: testKeys + "apiclient_key.pem"}
		}, "wechat_sandbox: wechatpay_certificate: the private key is not the certificate's"},
		{"certificate not a certificate", func(h *Handler) {
			h.WechatpayCertificate = &WechatpayCertificate{Certificate: testKeys + "apiclient_pub.pem", Key: testKeys + "wechatpay_platform_key.pem"}
		}, "wechat_sandbox: wechatpay_certificate:"},
		{"apiv3_key too short", func(h *Handler) { h.APIv3Key = "{env.SANDBOX_TEST_SHORT_KEY}" }, "wechat_sandbox: apiv3_key: must be 32 bytes, got 5"},
		{"apiv3_key unset", func(h *Handler) { h.APIv3Key = "{env.SANDBOX_TEST_UNSET_KEY}" }, "wechat_sandbox: apiv3_key:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := base()
			tc.change(h)
			h.logger = zap.NewNop()
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			err := h.Provision(ctx)
			_ = h.Cleanup()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Provision = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "short") {
				t.Errorf("the error repeats the key: %v", err)
			}
		})
	}
}
