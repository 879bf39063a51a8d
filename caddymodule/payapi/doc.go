// Package payapi is the wechat_pay_api handler: it stands before
// reverse_proxy https://api.mch.weixin.qq.com and makes a backend's plain
// HTTP calls into WeChat Pay API v3 calls signed with the merchant's key,
// and WeChat Pay's answers into answers whose signature has been checked,
// so that the backend holds no merchant credential at all.
//
// For each request it reads the body (up to max_body), signs
// METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n with the merchant's
// private key exactly as reverse_proxy will send it (the path and query as
// this handler sees them, after any strip or rewrite before it), and sets
// the Authorization header, replacing the client's. The answer is held
// until it is complete, its Wechatpay-Signature is verified with the
// platform key Wechatpay-Serial names (public-key mode, platform
// certificates, or both during a migration), and only then does the first
// byte reach the backend; an answer that does not verify becomes a 502
// {"code":"SIGN_VERIFY_FAILED",…}.
//
//	handler.go         the module: configuration, defaults, Validate, Provision, ServeHTTP
//	caddyfile.go       the directive
//	responsewriter.go  holds the answer until it is verified
//	refuse.go          the JSON refusals and the log-once causes
//
// Signing, verification and decryption are the sign package's; loading and
// refreshing the platform keys is internal/paykeys', shared with
// wechat_pay_notify.
package payapi
