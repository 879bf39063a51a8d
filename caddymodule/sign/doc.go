// Package sign computes the values WeChat verifies on the browser side: the
// JS-SDK wx.config signature and the nonces that go into it.
//
// It is deliberately free of Caddy and of any I/O so that it can be read,
// tested and benchmarked on its own. WeChat Pay paySign (v2 MD5/HMAC-SHA256,
// v3 RSA-SHA256) belongs here too, in its own file.
//
// The signing functions take the secret jsapi_ticket as an argument and never
// keep, log or return it; only its SHA-1 digest leaves this package.
package sign
