package paynotify

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

const secretValue = "SECRETVALUE0123456789ABCDEFGHIJK" // 32 bytes, like an APIv3 key

func parse(block string) (*Handler, error) {
	var h Handler
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("wechat_pay_notify {\n" + block + "\n}"))
	return &h, err
}

const okBlock = "wechatpay_public_key /p.pem PUB_KEY_ID_01\n"

func TestCaddyfile(t *testing.T) {
	h, err := parse(okBlock + "apiv3_key {env.K}\nmch_id 1900000001\nserial_no 5157F09EFDC096DE15EBE81A47057A7232F1B8E1\nprivate_key /k.pem\napi_base https://api2.mch.weixin.qq.com\nmax_body 2KiB")
	if err != nil {
		t.Fatal(err)
	}
	if h.WechatpayPublicKey.Path != "/p.pem" || h.WechatpayPublicKey.ID != "PUB_KEY_ID_01" || h.APIv3Key != "{env.K}" || h.MaxBody != 2048 || h.APIBase != "https://api2.mch.weixin.qq.com" {
		t.Errorf("%+v", h)
	}
	// the adapted config keeps only what was written
	h, err = parse(okBlock + "apiv3_key {env.K}")
	if err != nil || h.APIBase != "" || h.MaxBody != 0 {
		t.Errorf("defaults leaked into the config: %+v %v", h, err)
	}
}

func TestCaddyfileErrors(t *testing.T) {
	for _, c := range []struct{ block, want string }{
		{okBlock, "wechat_pay_notify: apiv3_key is required"},
		{"apiv3_key {env.K}", "wechat_pay_notify: wechatpay_public_key (public-key mode) or mch_id, serial_no and private_key"},
		{"apiv3_key {env.K}\nmch_id 1900000001\nprivate_key /k.pem", "wechat_pay_notify: serial_no is required"},
		{okBlock + "apiv3_key {env.K}\nmax_body 17MiB", "wechat_pay_notify: max_body:"},
		{okBlock + "apiv3_key " + secretValue[:20], "wechat_pay_notify: apiv3_key: must be 32 bytes, got 20"},
		{okBlock + "apiv3_key", "wechat_pay_notify: apiv3_key: missing value"},
		{okBlock + "apiv3_key a b", "wechat_pay_notify: apiv3_key: takes exactly one value"},
		{okBlock + "apiv3_key {env.K}\napiv3_key {env.L}", "wechat_pay_notify: apiv3_key: given more than once"},
		{okBlock + "apiv3_key\n" + secretValue, "wechat_pay_notify: apiv3_key: missing value"},
		{okBlock + secretValue, "wechat_pay_notify: unknown option (not repeated here"},
		{okBlock + "apiv3_key {env.K}\nmax_body lots", "wechat_pay_notify: max_body:"},
		{okBlock + "apiv3_key {env.K}\napi_base http://user:pw@x", "wechat_pay_notify: api_base:"},
	} {
		_, err := parse(c.block)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.block, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), secretValue[:20]) {
			t.Errorf("%q: error repeats the key: %v", c.block, err)
		}
	}
}

// FuzzCaddyfile: no panic, every error names the directive, and the value
// given to apiv3_key is never repeated.
func FuzzCaddyfile(f *testing.F) {
	for _, s := range []string{
		okBlock + "apiv3_key " + secretValue,
		okBlock + "apiv3_key {env.K}\nmch_id 1\nserial_no AB\nprivate_key /k\nmax_body 1MiB",
		"apiv3_key\n" + secretValue + "\n}\n{",
		"wechatpay_public_key " + secretValue,
		"max_body -1\napi_base " + secretValue,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, block string) {
		_, err := parse(block)
		if err == nil {
			return
		}
		msg := err.Error()
		if !strings.Contains(msg, "wechat_pay_notify") && !strings.Contains(msg, "Wrong argument count") && !strings.Contains(msg, "unexpected") {
			t.Errorf("error does not name the directive: %s", msg)
		}
		if key := apiv3Value(block); len(key) >= 8 && strings.Contains(msg, key) {
			t.Errorf("error repeats the APIv3 key %q: %s", key, msg)
		}
	})
}

// apiv3Value is the token written after apiv3_key in block, if it is the
// only token with that text (another token with the same text, such as an
// option of that name, may be named in an error).
func apiv3Value(block string) string {
	d := caddyfile.NewTestDispenser(block)
	var toks []string
	for d.Next() {
		toks = append(toks, d.Val())
	}
	for i := 0; i+1 < len(toks); i++ {
		if toks[i] != "apiv3_key" {
			continue
		}
		n := 0
		for _, tok := range toks {
			if strings.Contains(tok, toks[i+1]) {
				n++
			}
		}
		if n == 1 {
			return toks[i+1]
		}
	}
	return ""
}
