// Package sign computes the signatures WeChat checks: the JS-SDK wx.config
// signature and nonces. It has no Caddy dependency.
package sign

// JSSDK returns the lowercase hex SHA-1 of
// "jsapi_ticket=T&noncestr=N&timestamp=TS&url=U".
func JSSDK(ticket, nonce string, timestamp int64, url string) string {
	panic("unimplemented")
}

// AppendJSSDK appends JSSDK's 40 hex digits to dst.
func AppendJSSDK(dst []byte, ticket, nonce string, timestamp int64, url string) []byte {
	panic("unimplemented")
}

// Nonce returns a fresh 16-character [A-Za-z0-9] nonce from crypto/rand.
func Nonce() string { panic("unimplemented") }
