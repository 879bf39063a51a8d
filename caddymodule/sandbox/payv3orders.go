package sandbox

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// order is an order created through POST /v3/pay/transactions/jsapi.
type order struct {
	PrepayID    string
	AppID       string
	MchID       string
	Description string
	OutTradeNo  string
	NotifyURL   string
	Attach      string
	OpenID      string
	Total       int64
	Created     time.Time
	// Set once paid (pay.go):
	Paid          bool
	TransactionID string
	SuccessTime   time.Time
	// Refunded is the sum of the refunds made.
	Refunded int64
	// Closed: closed unpaid; it cannot be paid any more.
	Closed bool
}

// refund is a refund made through POST /v3/refund/domestic/refunds.
type refund struct {
	RefundID      string
	OutRefundNo   string
	OutTradeNo    string
	TransactionID string
	MchID         string
	Refund        int64
	Total         int64
	Created       time.Time
}

// payStore is the orders and refunds of one app. The state's mutex guards
// it.
type payStore struct {
	byPrepay map[string]*order
	byTrade  map[string]*order // tradeKey(mchid, out_trade_no)
	byTxn    map[string]*order // transaction_id
	refunds  map[string]*refund
}

func newPayStore() payStore {
	return payStore{byPrepay: map[string]*order{}, byTrade: map[string]*order{},
		byTxn: map[string]*order{}, refunds: map[string]*refund{}}
}

func tradeKey(mchID, no string) string { return mchID + "/" + no }

// v3OrderRequest is the body of POST /v3/pay/transactions/jsapi; fields
// the sandbox does not look at (detail, scene_info, …) are allowed.
type v3OrderRequest struct {
	AppID       string `json:"appid"`
	MchID       string `json:"mchid"`
	Description string `json:"description"`
	OutTradeNo  string `json:"out_trade_no"`
	NotifyURL   string `json:"notify_url"`
	Attach      string `json:"attach"`
	Amount      *struct {
		Total    json.RawMessage `json:"total"`
		Currency string          `json:"currency"`
	} `json:"amount"`
	Payer *struct {
		OpenID string `json:"openid"`
	} `json:"payer"`
}

// serveV3Order creates a JSAPI order: POST /v3/pay/transactions/jsapi →
// {"prepay_id"}. The same out_trade_no with the same content gives the
// same prepay_id again; with other content it is OUT_TRADE_NO_USED, and
// once paid ORDERPAID.
func (h *Handler) serveV3Order(c *v3Call) {
	var req v3OrderRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "the body is not a JSON object of the order's shape")
		return
	}
	missing := func(field string) { c.fail(http.StatusBadRequest, "PARAM_ERROR", field+" is required") }
	switch {
	case req.AppID == "":
		missing("appid")
		return
	case req.MchID == "":
		missing("mchid")
		return
	case req.Description == "":
		missing("description")
		return
	case req.OutTradeNo == "":
		missing("out_trade_no")
		return
	case req.NotifyURL == "":
		missing("notify_url")
		return
	case req.Amount == nil || len(req.Amount.Total) == 0:
		missing("amount.total")
		return
	case req.Payer == nil || req.Payer.OpenID == "":
		missing("payer.openid")
		return
	}
	total, ok := fen(req.Amount.Total)
	switch {
	case !ok:
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "amount.total must be a positive integer number of fen (分)")
		return
	case req.Amount.Currency != "" && req.Amount.Currency != "CNY":
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "amount.currency must be CNY")
		return
	case req.MchID != c.mchID:
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "the mchid of the Authorization header and the mchid of the body differ")
		return
	case req.AppID != h.AppID:
		c.fail(http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "appid and mchid do not match (the sandbox plays app "+h.AppID+")")
		return
	case !validOutNo(req.OutTradeNo, 6, 32):
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "out_trade_no must be 6 to 32 of 0-9 A-Z a-z _ - | *")
		return
	case len(req.Description) > 127 || len(req.Attach) > 128 || len(req.Payer.OpenID) > 128:
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "description (127 bytes), attach or payer.openid (128) is too long")
		return
	}
	if msg := checkNotifyURL(req.NotifyURL); msg != "" {
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "notify_url: "+msg)
		return
	}
	o := &order{AppID: req.AppID, MchID: req.MchID, Description: req.Description, OutTradeNo: req.OutTradeNo,
		NotifyURL: req.NotifyURL, Attach: req.Attach, OpenID: req.Payer.OpenID, Total: total, Created: h.clock()}
	id, status, code := h.state.addOrder(o)
	switch code {
	case "ORDERPAID":
		c.fail(status, code, "this out_trade_no has been paid")
	case "ORDER_CLOSED":
		c.fail(status, code, "this out_trade_no has been closed")
	case "OUT_TRADE_NO_USED":
		c.fail(status, code, "this out_trade_no was used for an order with other content")
	default:
		c.reply(http.StatusOK, map[string]string{"prepay_id": id})
	}
}

// addOrder stores o under a fresh prepay id, or answers the prepay id of
// the same order made before; code is WeChat Pay's refusal otherwise.
func (s *state) addOrder(o *order) (prepayID string, status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.pay.byTrade[tradeKey(o.MchID, o.OutTradeNo)]; old != nil {
		switch {
		case old.Paid:
			return "", http.StatusBadRequest, "ORDERPAID"
		case old.Closed:
			return "", http.StatusBadRequest, "ORDER_CLOSED"
		case old.AppID != o.AppID || old.Description != o.Description || old.NotifyURL != o.NotifyURL ||
			old.Attach != o.Attach || old.OpenID != o.OpenID || old.Total != o.Total:
			return "", http.StatusForbidden, "OUT_TRADE_NO_USED"
		}
		return old.PrepayID, http.StatusOK, ""
	}
	if len(s.pay.byPrepay) >= maxOrders {
		s.pay = newPayStore() // a sandbox: forget, do not grow
	}
	o.PrepayID = newPrepayID()
	s.pay.byPrepay[o.PrepayID] = o
	s.pay.byTrade[tradeKey(o.MchID, o.OutTradeNo)] = o
	return o.PrepayID, http.StatusOK, ""
}

// serveV3Close closes an unpaid order: POST
// /v3/pay/transactions/out-trade-no/{no}/close {"mchid"} → 204, signed over
// the empty body. A closed order cannot be paid; a paid one cannot be
// closed (400 ORDERPAID).
func (h *Handler) serveV3Close(c *v3Call, no string) {
	var req struct {
		MchID string `json:"mchid"`
	}
	switch {
	case json.Unmarshal(c.body, &req) != nil || req.MchID == "":
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "the body must be {\"mchid\": …}")
		return
	case req.MchID != c.mchID:
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "the mchid of the Authorization header and the mchid of the body differ")
		return
	}
	status, code, msg := h.state.closeOrder(req.MchID, no)
	if code != "" {
		c.fail(status, code, msg)
		return
	}
	c.replyNoContent()
}

func (s *state) closeOrder(mchID, no string) (int, string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.pay.byTrade[tradeKey(mchID, no)]
	switch {
	case o == nil:
		return http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在"
	case o.Paid:
		return http.StatusBadRequest, "ORDERPAID", "the order has been paid"
	}
	o.Closed = true
	return 0, "", ""
}

// transaction is what the query answers and what a TRANSACTION.SUCCESS
// notification's resource holds.
type transaction struct {
	AppID          string             `json:"appid"`
	MchID          string             `json:"mchid"`
	OutTradeNo     string             `json:"out_trade_no"`
	TransactionID  string             `json:"transaction_id,omitempty"`
	TradeType      string             `json:"trade_type,omitempty"`
	TradeState     string             `json:"trade_state"`
	TradeStateDesc string             `json:"trade_state_desc"`
	BankType       string             `json:"bank_type,omitempty"`
	Attach         string             `json:"attach"`
	SuccessTime    string             `json:"success_time,omitempty"`
	Payer          map[string]string  `json:"payer"`
	Amount         *transactionAmount `json:"amount"`
}

type transactionAmount struct {
	Total         int64  `json:"total"`
	PayerTotal    *int64 `json:"payer_total,omitempty"`
	Currency      string `json:"currency"`
	PayerCurrency string `json:"payer_currency"`
}

// asTransaction renders o as WeChat Pay's transaction object.
func (o *order) asTransaction() transaction {
	t := transaction{AppID: o.AppID, MchID: o.MchID, OutTradeNo: o.OutTradeNo, Attach: o.Attach,
		TradeState: "NOTPAY", TradeStateDesc: "订单未支付", Payer: map[string]string{},
		Amount: &transactionAmount{Total: o.Total, Currency: "CNY", PayerCurrency: "CNY"}}
	if o.Paid {
		total := o.Total
		t.TransactionID, t.TradeType, t.BankType = o.TransactionID, "JSAPI", "OTHERS"
		t.TradeState, t.TradeStateDesc = "SUCCESS", "支付成功"
		t.SuccessTime = wxTime(o.SuccessTime)
		t.Payer["openid"] = o.OpenID
		t.Amount.PayerTotal = &total
		if o.Refunded > 0 {
			t.TradeState, t.TradeStateDesc = "REFUND", "转入退款"
		}
	} else if o.Closed {
		t.TradeState, t.TradeStateDesc = "CLOSED", "订单已关闭"
	}
	return t
}

// serveV3Query answers GET /v3/pay/transactions/out-trade-no/{no}?mchid=
// (or …/id/{transaction_id}?mchid=) with the order's transaction.
func (h *Handler) serveV3Query(c *v3Call, no string, byID bool) {
	mchID := c.r.URL.Query().Get("mchid")
	switch {
	case no == "" || strings.Contains(no, "/"):
		c.fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "no such API: GET "+c.r.URL.Path)
		return
	case mchID == "":
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "the query parameter mchid is required")
		return
	case mchID != c.mchID:
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "the mchid of the Authorization header and the mchid of the query differ")
		return
	}
	t, ok := h.state.findTransaction(mchID, no, byID)
	if !ok {
		c.fail(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
		return
	}
	c.reply(http.StatusOK, t)
}

func (s *state) findTransaction(mchID, no string, byID bool) (transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.pay.byTrade[tradeKey(mchID, no)]
	if byID {
		o = s.pay.byTxn[no]
	}
	if o == nil || o.MchID != mchID {
		return transaction{}, false
	}
	return o.asTransaction(), true
}

// v3RefundRequest is the body of POST /v3/refund/domestic/refunds.
type v3RefundRequest struct {
	TransactionID string `json:"transaction_id"`
	OutTradeNo    string `json:"out_trade_no"`
	OutRefundNo   string `json:"out_refund_no"`
	Reason        string `json:"reason"`
	NotifyURL     string `json:"notify_url"`
	Amount        *struct {
		Refund   json.RawMessage `json:"refund"`
		Total    json.RawMessage `json:"total"`
		Currency string          `json:"currency"`
	} `json:"amount"`
}

// refundAnswer is the refund object WeChat Pay answers and notifies.
type refundAnswer struct {
	RefundID            string       `json:"refund_id"`
	OutRefundNo         string       `json:"out_refund_no"`
	TransactionID       string       `json:"transaction_id"`
	OutTradeNo          string       `json:"out_trade_no"`
	Channel             string       `json:"channel"`
	UserReceivedAccount string       `json:"user_received_account"`
	SuccessTime         string       `json:"success_time"`
	CreateTime          string       `json:"create_time"`
	Status              string       `json:"status"`
	FundsAccount        string       `json:"funds_account"`
	Amount              refundAmount `json:"amount"`
}

type refundAmount struct {
	Total            int64  `json:"total"`
	Refund           int64  `json:"refund"`
	PayerTotal       int64  `json:"payer_total"`
	PayerRefund      int64  `json:"payer_refund"`
	SettlementRefund int64  `json:"settlement_refund"`
	SettlementTotal  int64  `json:"settlement_total"`
	DiscountRefund   int64  `json:"discount_refund"`
	Currency         string `json:"currency"`
}

func (r *refund) answer() refundAnswer {
	return refundAnswer{RefundID: r.RefundID, OutRefundNo: r.OutRefundNo, TransactionID: r.TransactionID,
		OutTradeNo: r.OutTradeNo, Channel: "ORIGINAL", UserReceivedAccount: "支付用户零钱",
		SuccessTime: wxTime(r.Created), CreateTime: wxTime(r.Created), Status: "SUCCESS", FundsAccount: "AVAILABLE",
		Amount: refundAmount{Total: r.Total, Refund: r.Refund, PayerTotal: r.Total, PayerRefund: r.Refund,
			SettlementRefund: r.Refund, SettlementTotal: r.Total, Currency: "CNY"}}
}

// serveV3Refund refunds (part of) a paid order at once: the answer's
// status is SUCCESS, and a REFUND.SUCCESS notification goes to the
// refund's notify_url when it has one.
func (h *Handler) serveV3Refund(c *v3Call) {
	var req v3RefundRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "the body is not a JSON object of the refund's shape")
		return
	}
	switch {
	case req.TransactionID == "" && req.OutTradeNo == "":
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "transaction_id or out_trade_no is required")
		return
	case !validOutNo(req.OutRefundNo, 1, 64):
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "out_refund_no must be 1 to 64 of 0-9 A-Z a-z _ - | * @")
		return
	case req.Amount == nil:
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "amount is required")
		return
	case req.Amount.Currency != "CNY":
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "amount.currency must be CNY")
		return
	}
	amount, ok1 := fen(req.Amount.Refund)
	total, ok2 := fen(req.Amount.Total)
	if !ok1 || !ok2 {
		c.fail(http.StatusBadRequest, "PARAM_ERROR", "amount.refund and amount.total must be positive integer numbers of fen (分)")
		return
	}
	if req.NotifyURL != "" {
		if msg := checkNotifyURL(req.NotifyURL); msg != "" {
			c.fail(http.StatusBadRequest, "PARAM_ERROR", "notify_url: "+msg)
			return
		}
	}
	rf, o, status, code, msg := h.state.addRefund(c.mchID, req, amount, total, h.clock())
	if code != "" {
		c.fail(status, code, msg)
		return
	}
	answer := rf.answer()
	c.reply(http.StatusOK, answer)
	if req.NotifyURL != "" && o != nil { // a new refund, not a repeated call
		plain, _ := json.Marshal(map[string]any{
			"mchid": rf.MchID, "out_trade_no": rf.OutTradeNo, "transaction_id": rf.TransactionID,
			"out_refund_no": rf.OutRefundNo, "refund_id": rf.RefundID, "refund_status": "SUCCESS",
			"success_time": answer.SuccessTime, "user_received_account": answer.UserReceivedAccount,
			"amount": map[string]int64{"total": rf.Total, "refund": rf.Refund, "payer_total": rf.Total, "payer_refund": rf.Refund},
		})
		h.notify(notification{event: "REFUND.SUCCESS", summary: "退款成功", kind: "refund",
			plaintext: plain, url: req.NotifyURL, outTradeNo: rf.OutTradeNo, outRefundNo: rf.OutRefundNo})
	}
}

// addRefund records a refund of amount fen of the order req names. A
// repeated out_refund_no with the same content answers the refund made
// (and a nil order: nothing new to notify).
func (s *state) addRefund(mchID string, req v3RefundRequest, amount, total int64, now time.Time) (*refund, *order, int, string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.pay.byTrade[tradeKey(mchID, req.OutTradeNo)]
	if req.TransactionID != "" {
		o = s.pay.byTxn[req.TransactionID]
	}
	if o == nil || o.MchID != mchID {
		return nil, nil, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在"
	}
	key := tradeKey(mchID, req.OutRefundNo)
	if old := s.pay.refunds[key]; old != nil {
		if old.OutTradeNo != o.OutTradeNo || old.Refund != amount || old.Total != total {
			return nil, nil, http.StatusBadRequest, "INVALID_REQUEST", "this out_refund_no was used for a refund with other content"
		}
		return old, nil, 0, "", ""
	}
	switch {
	case !o.Paid:
		return nil, nil, http.StatusBadRequest, "INVALID_REQUEST", "the order has not been paid"
	case total != o.Total:
		return nil, nil, http.StatusBadRequest, "INVALID_REQUEST", "amount.total is not the order's total"
	case amount > o.Total-o.Refunded:
		return nil, nil, http.StatusBadRequest, "INVALID_REQUEST", "the refund is more than what is left to refund of the order"
	}
	o.Refunded += amount
	rf := &refund{RefundID: "50" + randomDigits(27), OutRefundNo: req.OutRefundNo, OutTradeNo: o.OutTradeNo,
		TransactionID: o.TransactionID, MchID: mchID, Refund: amount, Total: o.Total, Created: now}
	s.pay.refunds[key] = rf
	return rf, o, 0, "", ""
}

// serveV3Certificates answers GET /v3/certificates: the platform
// certificate, encrypted with the APIv3 key (AEAD_AES_256_GCM, associated
// data "certificate").
func (h *Handler) serveV3Certificates(c *v3Call) {
	v := h.v3
	if v.certKey == nil {
		c.fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "this merchant has no platform certificate: the sandbox runs in public-key mode only (no wechatpay_certificate)")
		return
	}
	enc := seal(v.apiv3, "certificate", v.certPEM)
	c.reply(http.StatusOK, map[string]any{"data": []any{map[string]any{
		"serial_no":           v.certSerial,
		"effective_time":      wxTime(v.certFrom),
		"expire_time":         wxTime(v.certUntil),
		"encrypt_certificate": enc,
	}}})
}

// sealed is an AEAD_AES_256_GCM-encrypted resource as WeChat Pay writes
// it.
type sealed struct {
	OriginalType   string `json:"original_type,omitempty"`
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

// seal encrypts plaintext with the APIv3 key as WeChat Pay does: AES-256-
// GCM, a 12-character nonce whose bytes are the IV, aad as the associated
// data, base64 of the ciphertext with the tag appended.
func seal(key []byte, aad string, plaintext []byte) sealed {
	block, err := aes.NewCipher(key)
	if err != nil { // the key is 32 bytes: Provision checked it
		panic(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	nonce := randomAlnum(gcm.NonceSize())
	return sealed{Algorithm: "AEAD_AES_256_GCM", AssociatedData: aad, Nonce: nonce,
		Ciphertext: base64.StdEncoding.EncodeToString(gcm.Seal(nil, []byte(nonce), plaintext, []byte(aad)))}
}

// fen reads a JSON integer literal > 0: "1", 1.0 and 1e2 are refused, as
// WeChat Pay refuses anything but an integer number of fen.
func fen(raw json.RawMessage) (int64, bool) {
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil && n > 0
}

// validOutNo checks a merchant's order or refund number.
func validOutNo(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	return strings.Trim(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-|*@") == ""
}

// checkNotifyURL says what is wrong with a notify_url, or "". WeChat Pay
// requires https; the sandbox, which runs next to its site, takes http too.
func checkNotifyURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return "must be an absolute http(s) URL"
	case u.User != nil:
		return "must not carry user info"
	case u.RawQuery != "" || u.Fragment != "":
		return "must not carry a query or a fragment"
	case len(s) > 256:
		return fmt.Sprintf("must be at most 256 bytes, got %d", len(s))
	}
	return ""
}
