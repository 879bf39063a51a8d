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
)

// maxOrders bounds the prepay ids remembered per app.
const maxOrders = 4096

// serveOrder stands in for WeChat Pay's POST /v3/pay/transactions/jsapi:
// any JSON object in, a fresh prepay_id out. A demo or test points an
// "order backend" route at it and lets wechat_pay sign the answer.
func (h *Handler) serveOrder(w http.ResponseWriter, r *http.Request) {
	h.state.count(endpointPayOrder)
	if !requireMethod(w, r, http.MethodPost) {
		return
	}
	var order map[string]json.RawMessage
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil || json.Unmarshal(body, &order) != nil {
		writeControlError(w, http.StatusBadRequest, "malformed JSON body")
		return
	}
	id := newPrepayID()
	h.state.addOrder(id)
	reply := map[string]any{"prepay_id": id}
	if v, ok := order["out_trade_no"]; ok {
		reply["out_trade_no"] = v
	}
	// A JSAPI order names its payer (payer.openid); the demo's "backend"
	// takes it from wechat_oauth's header, as a real backend would.
	if openid := r.Header.Get("X-WeChat-OpenID"); openid != "" {
		reply["payer"] = map[string]string{"openid": openid}
	}
	writeJSON(w, http.StatusOK, reply)
}

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
	if msg := h.checkPay(req); msg != "" {
		writeJSON(w, http.StatusOK, controlReply{ErrMsg: msg})
		return
	}
	writeJSON(w, http.StatusOK, controlReply{OK: true})
}

func (h *Handler) checkPay(req payRequest) string {
	if req.AppID != h.AppID {
		return "invalid appid"
	}
	id, ok := strings.CutPrefix(req.Package, "prepay_id=")
	if !ok {
		return "package must be prepay_id=…"
	}
	if req.TimeStamp == "" || req.NonceStr == "" {
		return "missing timeStamp or nonceStr"
	}
	var valid bool
	switch req.SignType {
	case "RSA":
		if h.merchantKey == nil {
			return "no merchant_public_key configured for signType RSA"
		}
		sig, err := base64.StdEncoding.DecodeString(req.PaySign)
		if err != nil {
			return "invalid paySign"
		}
		msg := req.AppID + "\n" + req.TimeStamp + "\n" + req.NonceStr + "\n" + req.Package + "\n"
		sum := sha256.Sum256([]byte(msg))
		valid = rsa.VerifyPKCS1v15(h.merchantKey, crypto.SHA256, sum[:], sig) == nil
	case "MD5", "HMAC-SHA256":
		if h.apiKey == "" {
			return "no api_key configured for signType " + req.SignType
		}
		valid = hmac.Equal([]byte(req.PaySign), []byte(legacyPaySign(req, h.apiKey)))
	default:
		return "unknown signType"
	}
	if !valid {
		return "invalid paySign"
	}
	return h.state.payOrder(id)
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

func (s *state) addOrder(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.orders) >= maxOrders {
		s.orders = make(map[string]bool) // a sandbox: forget, do not grow
	}
	s.orders[id] = false
}

// payOrder marks prepay id paid; it answers why it cannot, or "".
func (s *state) payOrder(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	paid, ok := s.orders[id]
	switch {
	case !ok:
		return "unknown prepay_id"
	case paid:
		return "order already paid"
	}
	s.orders[id] = true
	return ""
}
