// Package paynotify is the wechat_pay_notify handler: it stands on the
// notify_url route before reverse_proxy (or php_fastcgi) to the backend
// and turns WeChat Pay API v3's signed, encrypted payment notifications
// into plain JSON requests the backend can trust without holding the APIv3
// key or WeChat Pay's keys.
//
// For each notification it verifies Wechatpay-Signature over the exact raw
// body with the platform key Wechatpay-Serial names (refusing WeChat Pay's
// WECHATPAY/SIGNTEST/ probes and timestamps 5 minutes or more off), refuses
// a (timestamp, nonce, signature) already seen in the last 10 minutes by
// any instance sharing Caddy's storage, decrypts the AEAD_AES_256_GCM
// resource with the APIv3 key, and passes the backend a POST whose body is
// the decrypted JSON, with X-WeChat-Pay-Event and X-WeChat-Pay-Notify-ID.
// WeChat Pay gets the backend's status: it retries anything but 2xx.
//
// Like wechat_oauth, the handler sees every request of its site (the
// Caddyfile puts the directive's matcher in its "match" field and the
// handler in a route without one, ownpath.ParseEveryRequest) and removes
// client-sent X-WeChat-Pay-* headers, in every spelling a backend could
// read as the same name (internal/identity), from all of them; only the
// requests its matcher matches are notifications. So a backend may trust
// X-WeChat-Pay-* on any request, also one posted to its notification path
// directly.
//
//	handler.go      the module: configuration, defaults, Validate, Provision, ServeHTTP
//	caddyfile.go    the directive
//	replay.go       the replay markers in Caddy's storage
//	headers.go      which request headers go, which are set
//	refuse.go       the {"code":"FAIL"} refusals and the log-once causes
//
// Verification and decryption are the sign package's; the platform keys
// (and the certificate refresh) internal/paykeys', shared with
// wechat_pay_api.
package paynotify
