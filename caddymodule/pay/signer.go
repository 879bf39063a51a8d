package pay

import (
	"crypto/rsa"

	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

// signer computes paySign over the four values chooseWXPay checks.
//
// It is a closure over the key rather than a struct holding it: fmt prints
// a func as an address whatever the verb and however deep it is nested,
// while a key in a struct field can surface through a %s or %d of the
// Handler (fmt's bad-verb fallback prints nested pointers' fields).
type signer func(appID, timeStamp, nonceStr, pkg string) (string, error)

// rsaSigner is API v3: RSASSA-PKCS1-v1_5 SHA-256 with the merchant key.
func rsaSigner(key *rsa.PrivateKey) signer {
	return func(appID, timeStamp, nonceStr, pkg string) (string, error) {
		return sign.PayV3(key, appID, timeStamp, nonceStr, pkg)
	}
}

// v2Signer is API v2: MD5 or HMAC-SHA256 keyed with the API key, over the
// five JSAPI parameters (signType included).
func v2Signer(apiKey, signType string) signer {
	return func(appID, timeStamp, nonceStr, pkg string) (string, error) {
		return sign.PayV2(map[string]string{
			"appId":     appID,
			"timeStamp": timeStamp,
			"nonceStr":  nonceStr,
			"package":   pkg,
			"signType":  signType,
		}, apiKey, signType)
	}
}
