// Package sign computes and checks the values WeChat signs or verifies: the
// JS-SDK wx.config signature and its nonces, WeChat Pay's chooseWXPay
// paySign, and WeChat Pay API v3's merchant-call signatures, answer and
// notification signatures and encrypted resources.
//
// It is deliberately free of Caddy and of any I/O so that it can be read,
// tested and benchmarked on its own; the handlers feed it bytes and headers
// and act on its results and typed errors.
//
// # JS-SDK and paySign
//
// JSSDK and AppendJSSDK give the wx.config SHA-1; Nonce and AppendNonce
// its nonces. PayV3 (RSA) and PayV2 (MD5, HMAC-SHA256) give chooseWXPay's
// paySign; ParsePrivateKeyPEM loads the merchant's apiclient_key.pem. The
// signing functions take the secret jsapi_ticket or key as an argument and
// never keep, log or return it; only digests and signatures leave. The one
// holder is NewJSSDKTicket's JSSDKTicket (a ticket prepared for signing
// many pages), which the caller keeps where it keeps the ticket.
//
// # WeChat Pay API v3 (wechat_pay_api, wechat_pay_notify)
//
// Outgoing calls: RequestSigner builds the Authorization header,
// WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",timestamp="…",
// serial_no="…",signature="…", over METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n.
// ParseAuthorization reads such a header back, strictly (for the sandbox
// and tests).
//
// Answers and notifications: Verifier checks Wechatpay-Signature over
// TIMESTAMP\nNONCE\nBODY\n with the key Wechatpay-Serial names — a
// PUB_KEY_ID_… public key (ParsePublicKeyPEM) or a platform certificate
// (ParseCertificates decrypts GET /v3/certificates) — refusing stale
// timestamps and WeChat's WECHATPAY/SIGNTEST/ probes. Its key sets are
// replaced atomically, so a certificate refresh runs beside verification.
// Every refusal is a *VerifyError (answer 401); ErrUnknownSerial is the one
// a certificate refresh may cure.
//
// Notifications: ParseNotification reads the body; APIv3Key.Decrypt opens
// its AEAD_AES_256_GCM resource. Their refusals are *ResourceError (answer
// 400), except that ErrDecrypt after a verified signature means the
// configured APIv3 key is wrong. De-duplication by Notification.ID is the
// handler's: it needs storage, which this package does not touch.
//
// The hot paths take []byte bodies whole (no streaming: WeChat Pay signs
// the whole body, so it must be read anyway), append to caller-owned
// buffers, and add no allocation to what crypto/rsa makes; the package's
// benchmarks and TestV3Allocations hold them to that.
//
// Error texts are fixed phrases: no key, signature, header value,
// ciphertext or plaintext ever appears in one (TestV3ErrorsHoldNoSecrets),
// so callers may log them as they are. APIv3Key prints as redacted.
package sign
