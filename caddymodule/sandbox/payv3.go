package sandbox

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// WeChat Pay API v3, as the sandbox plays it. Every call must carry a
// merchant's Authorization header, which the sandbox checks with its own
// few lines of crypto/rsa against merchant_public_key; every answer,
// refusals included, is signed with the platform key (signer) in the
// Wechatpay-* headers. The checks and signatures are written here again,
// never taken from the sign package, so that a bug in one is caught by
// the other.

// Paths of the v3 API.
const (
	pathV3Prefix       = "/v3/"
	pathV3JSAPI        = "/v3/pay/transactions/jsapi"
	pathV3ByOutTradeNo = "/v3/pay/transactions/out-trade-no/" // + {no}, or {no}/close
	pathV3ByID         = "/v3/pay/transactions/id/"
	pathV3Refunds      = "/v3/refund/domestic/refunds"
	pathV3Certificates = "/v3/certificates"
)

// authSchema is the scheme of a merchant's Authorization header and the
// value of Wechatpay-Signature-Type.
const authSchema = "WECHATPAY2-SHA256-RSA2048"

// maxClockSkew is how far a merchant's timestamp may be from the
// sandbox's clock, as at WeChat Pay.
const maxClockSkew = 5 * time.Minute

// staleBy is how old the timestamp of a "stale" fault's signature is:
// past the 5 minutes a verifier accepts.
const staleBy = 10 * time.Minute

// signTestPrefix starts the signatures of WeChat Pay's probes, which a
// merchant must refuse.
const signTestPrefix = "WECHATPAY/SIGNTEST/"

// payError is WeChat Pay's error answer.
type payError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// v3Call is one v3 request being answered: the merchant it came from, once
// its Authorization verified, and the fault (if any) its answer carries.
type v3Call struct {
	h     *Handler
	w     http.ResponseWriter
	r     *http.Request
	body  []byte
	mchID string
	fault fault
}

// serveV3 answers a WeChat Pay API v3 call.
func (h *Handler) serveV3(w http.ResponseWriter, r *http.Request) {
	if h.v3 == nil {
		// Nothing can sign an answer: say so plainly.
		writeJSON(w, http.StatusNotFound, payError{Code: "RESOURCE_NOT_EXISTS",
			Message: "wechat_sandbox: WeChat Pay API v3 is off; set merchant_serial and the options it needs"})
		return
	}
	c := &v3Call{h: h, w: w, r: r}
	if f, ok := h.state.takeFault(endpointPay); ok {
		c.fault = f
		if f.HTTPStatus != 0 {
			h.logger.Debug("answering a v3 call with an injected fault", zap.Int("http_status", f.HTTPStatus))
			c.fail(f.HTTPStatus, statusCode(f.HTTPStatus), "injected fault")
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "the body could not be read, or is larger than 64 KiB")
		return
	}
	c.body = body
	if msg := h.checkAuthorization(c); msg != "" {
		c.fail(http.StatusUnauthorized, "SIGN_ERROR", msg)
		return
	}
	p := r.URL.Path
	switch {
	case p == pathV3JSAPI && r.Method == http.MethodPost:
		h.state.count(endpointPayOrder)
		h.serveV3Order(c)
	case strings.HasPrefix(p, pathV3ByOutTradeNo) && strings.HasSuffix(p, "/close") && r.Method == http.MethodPost:
		h.state.count(endpointPayQuery)
		h.serveV3Close(c, strings.TrimSuffix(strings.TrimPrefix(p, pathV3ByOutTradeNo), "/close"))
	case strings.HasPrefix(p, pathV3ByOutTradeNo) && r.Method == http.MethodGet:
		h.state.count(endpointPayQuery)
		h.serveV3Query(c, strings.TrimPrefix(p, pathV3ByOutTradeNo), false)
	case strings.HasPrefix(p, pathV3ByID) && r.Method == http.MethodGet:
		h.state.count(endpointPayQuery)
		h.serveV3Query(c, strings.TrimPrefix(p, pathV3ByID), true)
	case p == pathV3Refunds && r.Method == http.MethodPost:
		h.state.count(endpointPayRefund)
		h.serveV3Refund(c)
	case p == pathV3Certificates && r.Method == http.MethodGet:
		h.state.count(endpointPayCertificates)
		h.serveV3Certificates(c)
	default:
		c.fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "no such API: "+r.Method+" "+p)
	}
}

// statusCode is the error code WeChat Pay answers with a status.
func statusCode(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "SIGN_ERROR"
	case status == http.StatusForbidden:
		return "NO_AUTH"
	case status == http.StatusNotFound:
		return "RESOURCE_NOT_EXISTS"
	case status == http.StatusTooManyRequests:
		return "FREQUENCY_LIMITED"
	case status >= 500:
		return "SYSTEM_ERROR"
	case status >= 400:
		return "INVALID_REQUEST"
	}
	return "OK"
}

// fail answers WeChat Pay's error JSON, signed like every answer.
func (c *v3Call) fail(status int, code, message string) {
	c.reply(status, payError{Code: code, Message: message})
}

// reply answers v as JSON with the platform signature.
func (c *v3Call) reply(status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // only our own types are marshalled
		body = []byte(`{"code":"SYSTEM_ERROR","message":"marshal"}`)
		status = http.StatusInternalServerError
	}
	hdr := c.w.Header()
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	c.h.signInto(hdr, body, c.fault.Signature)
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}

// replyNoContent answers 204, signed over the empty body as WeChat Pay
// signs its bodyless answers.
func (c *v3Call) replyNoContent() {
	c.w.Header().Set("Cache-Control", "no-store")
	c.h.signInto(c.w.Header(), nil, c.fault.Signature)
	c.w.WriteHeader(http.StatusNoContent)
}

// Signature faults, as POST /sandbox/fault names them.
const (
	sigBad      = "bad"      // a signature that does not verify
	sigSignTest = "signtest" // WeChat Pay's WECHATPAY/SIGNTEST/ probe
	sigStale    = "stale"    // a timestamp 10 minutes old
)

// signInto sets the Wechatpay-* headers of body on hdr: SHA256withRSA over
// "TIMESTAMP\nNONCE\nBODY\n" with the platform key, or the fault named.
func (h *Handler) signInto(hdr http.Header, body []byte, fault string) {
	serial, key := h.signer()
	at := h.clock()
	if fault == sigStale {
		at = at.Add(-staleBy)
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	nonce := randomAlnum(32)
	msg := ts + "\n" + nonce + "\n" + string(body) + "\n"
	if fault == sigBad {
		msg = ts + "\n" + nonce + "\n" + string(body) + " tampered\n"
	}
	sig := rsaSign(key, msg)
	if fault == sigSignTest {
		sig = signTestPrefix + base64.StdEncoding.EncodeToString([]byte(randomAlnum(48)))
	}
	hdr.Set("Wechatpay-Timestamp", ts)
	hdr.Set("Wechatpay-Nonce", nonce)
	hdr.Set("Wechatpay-Signature", sig)
	hdr.Set("Wechatpay-Serial", serial)
	hdr.Set("Wechatpay-Signature-Type", authSchema)
	hdr.Set("Request-ID", strings.ToUpper(randomHex(16)))
}

// rsaSign is base64(SHA256withRSA(key, msg)).
func rsaSign(key *rsa.PrivateKey, msg string) string {
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil { // a loaded RSA key of at least 1024 bits signs a digest
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// checkAuthorization verifies a merchant's call as WeChat Pay does: the
// WECHATPAY2-SHA256-RSA2048 Authorization, its serial_no naming the
// merchant certificate, a timestamp within 5 minutes, and a signature
// over "METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n" with merchant_public_key,
// URL being the request target as it arrived (path and query). It answers
// why the call is refused, or "" and records the merchant in c.
func (h *Handler) checkAuthorization(c *v3Call) string {
	raw := c.r.Header.Get("Authorization")
	if raw == "" {
		return "the Authorization header is missing"
	}
	a, msg := parseAuthorization(raw)
	if msg != "" {
		return msg
	}
	switch {
	case !isMchID(a["mchid"]):
		return "Authorization: mchid is not a merchant ID"
	case h.v3.mchID != "" && a["mchid"] != h.v3.mchID:
		return "Authorization: mchid is not a merchant this sandbox knows"
	case !strings.EqualFold(a["serial_no"], h.v3.merchantSerial):
		return "Authorization: serial_no is not the merchant certificate's serial (merchant_serial)"
	}
	ts, err := strconv.ParseInt(a["timestamp"], 10, 64)
	if err != nil {
		return "Authorization: timestamp is not a number of seconds"
	}
	if d := h.clock().Sub(time.Unix(ts, 0)); d >= maxClockSkew || d <= -maxClockSkew {
		return "Authorization: timestamp is 5 minutes or more off"
	}
	target := c.r.RequestURI
	if target == "" {
		target = c.r.URL.RequestURI()
	}
	sig, err := base64.StdEncoding.DecodeString(a["signature"])
	if err != nil {
		return "Authorization: signature is not base64"
	}
	msg = c.r.Method + "\n" + target + "\n" + a["timestamp"] + "\n" + a["nonce_str"] + "\n" + string(c.body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	if rsa.VerifyPKCS1v15(h.merchantKey, crypto.SHA256, sum[:], sig) != nil {
		return "signature does not verify with the merchant's public key (method, URL, timestamp, nonce_str or body differ from what was signed)"
	}
	c.mchID = a["mchid"]
	return ""
}

// authParams are the parameters of a merchant's Authorization.
var authParams = []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"}

// parseAuthorization reads `WECHATPAY2-SHA256-RSA2048 k="v",…` into its
// five parameters, each quoted, each exactly once, in any order.
func parseAuthorization(raw string) (map[string]string, string) {
	rest, ok := strings.CutPrefix(raw, authSchema+" ")
	if !ok {
		return nil, "Authorization must start with " + authSchema + " and a space"
	}
	a := make(map[string]string, len(authParams))
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, "Authorization: a parameter has no '='"
		}
		if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return nil, "Authorization: the value of " + k + " is not in double quotes"
		}
		v = v[1 : len(v)-1]
		known := false
		for _, p := range authParams {
			known = known || p == k
		}
		switch {
		case !known:
			return nil, "Authorization: unknown parameter " + strconv.Quote(k)
		case a[k] != "":
			return nil, "Authorization: " + k + " appears twice"
		case v == "":
			return nil, "Authorization: " + k + " is empty"
		}
		a[k] = v
	}
	for _, p := range authParams {
		if a[p] == "" {
			return nil, "Authorization: " + p + " is missing"
		}
	}
	return a, ""
}

// randomAlnum returns n random letters and digits.
func randomAlnum(n int) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// randomDigits returns n random decimal digits.
func randomDigits(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// chinaTime is the zone WeChat Pay writes its times in.
var chinaTime = time.FixedZone("CST", 8*3600)

// wxTime formats t as WeChat Pay does: RFC 3339 in China's time zone.
func wxTime(t time.Time) string { return t.In(chinaTime).Format(time.RFC3339) }
