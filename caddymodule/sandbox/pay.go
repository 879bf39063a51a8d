package sandbox

import (
	"crypto"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"
)

// maxOrders bounds the prepay ids remembered per app.
const maxOrders = 4096

// payRequest is what chooseWXPay / getBrandWCPayRequest receive.
type payRequest struct {
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

// servePayVerify checks paySign as WeChat's client does before it opens
// the payment sheet, and marks the order paid.
func (h *Handler) servePayVerify(w http.ResponseWriter, r *http.Request) {
	h.state.count(endpointPayVerify)
	if !requireMethod(w, r, http.MethodPost) {
		return
	}
	var req payRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil || json.Unmarshal(body, &req) != nil {
		writeControlError(w, http.StatusBadRequest, "malformed JSON body")
		return
	}
	paid, msg := h.checkPay(req)
	if msg != "" {
		writeJSON(w, http.StatusOK, controlReply{ErrMsg: msg})
		return
	}
	writeJSON(w, http.StatusOK, controlReply{OK: true})
	// As WeChat Pay does once the user has paid: tell the merchant.
	plain, _ := json.Marshal(paid.asTransaction())
	h.notify(notification{event: "TRANSACTION.SUCCESS", summary: "支付成功", kind: "transaction",
		plaintext: plain, url: paid.NotifyURL, outTradeNo: paid.OutTradeNo})
}

// checkPay checks req and marks its order paid; it answers the order as
// paid, or why it cannot be paid.
func (h *Handler) checkPay(req payRequest) (order, string) {
	if req.AppID != h.AppID {
		return order{}, "invalid appid"
	}
	id, ok := strings.CutPrefix(req.Package, "prepay_id=")
	if !ok {
		return order{}, "package must be prepay_id=…"
	}
	if req.TimeStamp == "" || req.NonceStr == "" {
		return order{}, "missing timeStamp or nonceStr"
	}
	var valid bool
	switch req.SignType {
	case "RSA":
		if h.merchantKey == nil {
			return order{}, "no merchant_public_key configured for signType RSA"
		}
		sig, err := base64.StdEncoding.DecodeString(req.PaySign)
		if err != nil {
			return order{}, "invalid paySign"
		}
		msg := req.AppID + "\n" + req.TimeStamp + "\n" + req.NonceStr + "\n" + req.Package + "\n"
		sum := sha256.Sum256([]byte(msg))
		valid = rsa.VerifyPKCS1v15(h.merchantKey, crypto.SHA256, sum[:], sig) == nil
	case "MD5", "HMAC-SHA256":
		if h.apiKey == "" {
			return order{}, "no api_key configured for signType " + req.SignType
		}
		valid = hmac.Equal([]byte(req.PaySign), []byte(legacyPaySign(req, h.apiKey)))
	default:
		return order{}, "unknown signType"
	}
	if !valid {
		return order{}, "invalid paySign"
	}
	return h.state.payOrder(id, h.clock())
}

// legacyPaySign is WeChat Pay v2's signature, written here again rather
// than imported from the sign package, so that each checks the other.
func legacyPaySign(req payRequest, key string) string {
	params := map[string]string{"appId": req.AppID, "nonceStr": req.NonceStr,
		"package": req.Package, "signType": req.SignType, "timeStamp": req.TimeStamp}
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + params[k] + "&")
	}
	b.WriteString("key=" + key)
	if req.SignType == "HMAC-SHA256" {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(b.String()))
		return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
	}
	sum := md5.Sum([]byte(b.String()))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// loadPublicKey reads the merchant's RSA public key (PKIX or PKCS#1 PEM, or
// a certificate), to check v3 paySigns.
func loadPublicKey(path string) (*rsa.PublicKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		if rk, ok := k.(*rsa.PublicKey); ok {
			return rk, nil
		}
		return nil, fmt.Errorf("%T is not an RSA key", k)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		if rk, ok := c.PublicKey.(*rsa.PublicKey); ok {
			return rk, nil
		}
		return nil, errors.New("certificate key is not RSA")
	}
	return nil, fmt.Errorf("PEM block %q is not a public key", block.Type)
}

// newPrepayID looks like WeChat's: "wx" and 32 hex digits.
func newPrepayID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails: crypto/rand crashes the program instead
	return "wx" + hex.EncodeToString(b)
}

// payOrder marks the order of prepay id paid, with a fresh transaction
// id; it answers the paid order, or why it cannot be paid.
func (s *state) payOrder(id string, now time.Time) (order, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.pay.byPrepay[id]
	switch {
	case o == nil:
		return order{}, "unknown prepay_id"
	case o.Paid:
		return order{}, "order already paid"
	case o.Closed:
		return order{}, "order closed"
	}
	o.Paid, o.SuccessTime = true, now
	o.TransactionID = "42000" + now.In(chinaTime).Format("20060102") + randomDigits(15)
	s.pay.byTxn[o.TransactionID] = o
	return *o, ""
}
