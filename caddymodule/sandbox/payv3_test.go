package sandbox

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestV3Order(t *testing.T) {
	h, clk := newPayHandler(t, publicMode)
	id := createOrder(t, h, clk, "1217752501201407033233368018", deadURL)
	if len(id) != 34 {
		t.Errorf("prepay_id %q: want wx and 32 hex digits", id)
	}
	// the same order again: the same prepay_id, as WeChat Pay answers
	if again := createOrder(t, h, clk, "1217752501201407033233368018", deadURL); again != id {
		t.Errorf("the same order made twice got %q then %q", id, again)
	}
	if got := statsOf(t, h)["pay_order"]; got != 2 {
		t.Errorf("pay_order counted %d, want 2", got)
	}

	other := strings.Replace(orderBody(h, "1217752501201407033233368018", deadURL), `"total":100`, `"total":200`, 1)
	valid := orderBody(h, "T20260101000001", deadURL)
	for _, tc := range []struct {
		name, body   string
		status       int
		code, reason string
	}{
		{"same out_trade_no, other content", other, http.StatusForbidden, "OUT_TRADE_NO_USED", ""},
		{"not JSON", `{"appid":`, http.StatusBadRequest, "PARAM_ERROR", "JSON"},
		{"no appid", strings.Replace(valid, `"appid":"`+h.AppID+`",`, "", 1), http.StatusBadRequest, "PARAM_ERROR", "appid is required"},
		{"no mchid", strings.Replace(valid, `"mchid":"`+testMchID+`",`, "", 1), http.StatusBadRequest, "PARAM_ERROR", "mchid is required"},
		{"no description", strings.Replace(valid, `"description":"Image形象店-深圳腾大-QQ公仔",`, "", 1), http.StatusBadRequest, "PARAM_ERROR", "description is required"},
		{"no out_trade_no", strings.Replace(valid, `"out_trade_no":"T20260101000001",`, "", 1), http.StatusBadRequest, "PARAM_ERROR", "out_trade_no is required"},
		{"no notify_url", strings.Replace(valid, `"notify_url":"`+deadURL+`",`, "", 1), http.StatusBadRequest, "PARAM_ERROR", "notify_url is required"},
		{"no amount", strings.Replace(valid, `"amount":{"total":100,"currency":"CNY"},`, "", 1), http.StatusBadRequest, "PARAM_ERROR", "amount.total is required"},
		{"no payer", strings.Replace(valid, `,"payer":{"openid":"`+testOpenID+`"}`, "", 1), http.StatusBadRequest, "PARAM_ERROR", "payer.openid is required"},
		{"total as a string", strings.Replace(valid, `"total":100`, `"total":"100"`, 1), http.StatusBadRequest, "PARAM_ERROR", "integer"},
		{"total in yuan", strings.Replace(valid, `"total":100`, `"total":1.00`, 1), http.StatusBadRequest, "PARAM_ERROR", "integer"},
		{"total zero", strings.Replace(valid, `"total":100`, `"total":0`, 1), http.StatusBadRequest, "PARAM_ERROR", "integer"},
		{"total negative", strings.Replace(valid, `"total":100`, `"total":-1`, 1), http.StatusBadRequest, "PARAM_ERROR", "integer"},
		{"currency", strings.Replace(valid, `"CNY"`, `"USD"`, 1), http.StatusBadRequest, "PARAM_ERROR", "CNY"},
		{"another merchant in the body", strings.Replace(valid, `"mchid":"`+testMchID+`"`, `"mchid":"1900000002"`, 1), http.StatusBadRequest, "PARAM_ERROR", "mchid"},
		{"another app", strings.Replace(valid, `"appid":"`+h.AppID+`"`, `"appid":"wxother"`, 1), http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", ""},
		{"short out_trade_no", strings.Replace(valid, `T20260101000001`, `T1`, 1), http.StatusBadRequest, "PARAM_ERROR", "out_trade_no"},
		{"out_trade_no with a slash", strings.Replace(valid, `T20260101000001`, `T2026/0101`, 1), http.StatusBadRequest, "PARAM_ERROR", "out_trade_no"},
		{"notify_url with a query", strings.Replace(valid, deadURL, deadURL+"?a=1", 1), http.StatusBadRequest, "PARAM_ERROR", "notify_url"},
		{"notify_url relative", strings.Replace(valid, deadURL, "/notify", 1), http.StatusBadRequest, "PARAM_ERROR", "notify_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := v3Do(t, h, clk, http.MethodPost, pathV3JSAPI, tc.body)
			mustVerify(t, rec, clk.now()) // refusals are signed too
			e := payErr(t, rec)
			if rec.Code != tc.status || e.Code != tc.code || !strings.Contains(e.Message, tc.reason) {
				t.Fatalf("got %d %+v, want %d %s (%q)", rec.Code, e, tc.status, tc.code, tc.reason)
			}
		})
	}

	payPrepay(t, h, id)
	rec := v3Do(t, h, clk, http.MethodPost, pathV3JSAPI, orderBody(h, "1217752501201407033233368018", deadURL))
	if e := payErr(t, rec); rec.Code != http.StatusBadRequest || e.Code != "ORDERPAID" {
		t.Fatalf("ordering a paid out_trade_no again: %d %+v", rec.Code, e)
	}
}

// TestV3Authorization: every way a merchant's call can fail its signature
// check answers 401 SIGN_ERROR, signed.
func TestV3Authorization(t *testing.T) {
	h, clk := newPayHandler(t, publicMode)
	body := orderBody(h, "T20260101000002", deadURL)
	merchant := readPrivate(t, "apiclient_key.pem")
	sign := func(key string, mch, serial, method, target, b string, at time.Time) string {
		return authorization(t, readPrivate(t, key), mch, serial, method, target, b, at)
	}
	good := authorization(t, merchant, testMchID, testMerchantSerial, http.MethodPost, pathV3JSAPI, body, clk.now())
	for _, tc := range []struct{ name, auth, reason string }{
		{"missing", "", "missing"},
		{"wrong key", sign("wechatpay_platform_key.pem", testMchID, testMerchantSerial, http.MethodPost, pathV3JSAPI, body, clk.now()), "does not verify"},
		{"another body", sign("apiclient_key.pem", testMchID, testMerchantSerial, http.MethodPost, pathV3JSAPI, body+" ", clk.now()), "does not verify"},
		{"another method", sign("apiclient_key.pem", testMchID, testMerchantSerial, http.MethodPut, pathV3JSAPI, body, clk.now()), "does not verify"},
		{"another path", sign("apiclient_key.pem", testMchID, testMerchantSerial, http.MethodPost, "/v3/pay/transactions/native", body, clk.now()), "does not verify"},
		{"wrong serial", sign("apiclient_key.pem", testMchID, testCertSerial, http.MethodPost, pathV3JSAPI, body, clk.now()), "serial_no"},
		{"another merchant", sign("apiclient_key.pem", "1900000002", testMerchantSerial, http.MethodPost, pathV3JSAPI, body, clk.now()), "mchid"},
		{"5 minutes old", sign("apiclient_key.pem", testMchID, testMerchantSerial, http.MethodPost, pathV3JSAPI, body, clk.now().Add(-5*time.Minute)), "timestamp"},
		{"from the future", sign("apiclient_key.pem", testMchID, testMerchantSerial, http.MethodPost, pathV3JSAPI, body, clk.now().Add(6*time.Minute)), "timestamp"},
		{"other schema", strings.Replace(good, "WECHATPAY2-SHA256-RSA2048", "WECHATPAY2-SHA256-RSA", 1), "start with"},
		{"unquoted", strings.Replace(good, `mchid="`+testMchID+`"`, `mchid=`+testMchID, 1), "quotes"},
		{"unknown parameter", good + `,extra="1"`, "unknown parameter"},
		{"twice", good + `,mchid="` + testMchID + `"`, "twice"},
		{"no signature", good[:strings.Index(good, `,signature=`)], "signature is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := v3DoAuth(t, h, http.MethodPost, pathV3JSAPI, body, tc.auth)
			mustVerify(t, rec, clk.now())
			e := payErr(t, rec)
			if rec.Code != http.StatusUnauthorized || e.Code != "SIGN_ERROR" || !strings.Contains(e.Message, tc.reason) {
				t.Fatalf("got %d %+v, want 401 SIGN_ERROR (%q)", rec.Code, e, tc.reason)
			}
		})
	}
	if got := statsOf(t, h)["pay_order"]; got != 0 {
		t.Errorf("refused calls reached the order code: pay_order %d", got)
	}
	// the query string is signed with the path
	target := pathV3ByOutTradeNo + "T20260101000002?mchid=" + testMchID
	auth := authorization(t, merchant, testMchID, testMerchantSerial, http.MethodGet, pathV3ByOutTradeNo+"T20260101000002", "", clk.now())
	if rec := v3DoAuth(t, h, http.MethodGet, target, "", auth); rec.Code != http.StatusUnauthorized {
		t.Errorf("a signature without the query was accepted: %d %s", rec.Code, rec.Body)
	}
	if rec := v3DoAuth(t, h, http.MethodPost, pathV3JSAPI, body, good); rec.Code != http.StatusOK {
		t.Fatalf("the good signature: %d %s", rec.Code, rec.Body)
	}
}

func TestV3Query(t *testing.T) {
	h, clk := newPayHandler(t, publicMode)
	id := createOrder(t, h, clk, "T20260101000003", deadURL)
	query := func(target string) (transaction, *payError, int) {
		rec := v3Do(t, h, clk, http.MethodGet, target, "")
		mustVerify(t, rec, clk.now())
		if rec.Code != http.StatusOK {
			e := payErr(t, rec)
			return transaction{}, &e, rec.Code
		}
		var tr transaction
		if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil {
			t.Fatal(err)
		}
		return tr, nil, rec.Code
	}
	byNo := pathV3ByOutTradeNo + "T20260101000003?mchid=" + testMchID
	if tr, e, _ := query(byNo); e != nil || tr.TradeState != "NOTPAY" || tr.TransactionID != "" || tr.Amount.Total != 100 {
		t.Fatalf("before paying: %+v %+v", tr, e)
	}
	payPrepay(t, h, id)
	tr, e, _ := query(byNo)
	if e != nil || tr.TradeState != "SUCCESS" || tr.TradeType != "JSAPI" || !strings.HasPrefix(tr.TransactionID, "42000") ||
		tr.Payer["openid"] != testOpenID || tr.Amount.PayerTotal == nil || *tr.Amount.PayerTotal != 100 || tr.SuccessTime == "" {
		t.Fatalf("after paying: %+v %+v", tr, e)
	}
	if byID, e, _ := query(pathV3ByID + tr.TransactionID + "?mchid=" + testMchID); e != nil || byID.OutTradeNo != "T20260101000003" {
		t.Fatalf("by transaction_id: %+v %+v", byID, e)
	}
	for _, tc := range []struct {
		target string
		status int
		code   string
	}{
		{pathV3ByOutTradeNo + "T20269999999999?mchid=" + testMchID, http.StatusNotFound, "ORDER_NOT_EXIST"},
		{pathV3ByOutTradeNo + "T20260101000003", http.StatusBadRequest, "PARAM_ERROR"},
		{pathV3ByOutTradeNo + "T20260101000003?mchid=1900000002", http.StatusBadRequest, "PARAM_ERROR"},
		{"/v3/pay/transactions/unknown", http.StatusNotFound, "RESOURCE_NOT_EXISTS"},
	} {
		if _, e, status := query(tc.target); e == nil || status != tc.status || e.Code != tc.code {
			t.Errorf("%s: %d %+v, want %d %s", tc.target, status, e, tc.status, tc.code)
		}
	}
}

func TestV3Refund(t *testing.T) {
	setNotifyDelays(t, 0)
	h, clk := newPayHandler(t, publicMode)
	site := newNotifySite(t, clk)
	id := createOrder(t, h, clk, "T20260101000004", site.url)
	refundBody := func(no string, refund int) string {
		return `{"out_trade_no":"T20260101000004","out_refund_no":"` + no + `","reason":"test","notify_url":"` + site.url +
			`","amount":{"refund":` + strconv.Itoa(refund) + `,"total":100,"currency":"CNY"}}`
	}
	rec := v3Do(t, h, clk, http.MethodPost, pathV3Refunds, refundBody("R1", 40))
	if e := payErr(t, rec); rec.Code != http.StatusBadRequest || e.Code != "INVALID_REQUEST" {
		t.Fatalf("refunding an unpaid order: %d %+v", rec.Code, e)
	}
	payPrepay(t, h, id)
	site.wait(t, 1)

	rec = v3Do(t, h, clk, http.MethodPost, pathV3Refunds, refundBody("R1", 40))
	mustVerify(t, rec, clk.now())
	var r refundAnswer
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &r) != nil || r.Status != "SUCCESS" ||
		r.Amount.Refund != 40 || r.Amount.Total != 100 || r.OutTradeNo != "T20260101000004" || r.RefundID == "" {
		t.Fatalf("refund: %d %s", rec.Code, rec.Body)
	}
	if again := v3Do(t, h, clk, http.MethodPost, pathV3Refunds, refundBody("R1", 40)); !strings.Contains(again.Body.String(), r.RefundID) {
		t.Errorf("the same refund again: %d %s", again.Code, again.Body)
	}
	for _, tc := range []struct{ name, body, code string }{
		{"more than is left", refundBody("R2", 61), "INVALID_REQUEST"},
		{"same out_refund_no, other amount", refundBody("R1", 41), "INVALID_REQUEST"},
		{"wrong total", strings.Replace(refundBody("R3", 1), `"total":100`, `"total":99`, 1), "INVALID_REQUEST"},
		{"unknown order", strings.Replace(refundBody("R4", 1), "T20260101000004", "T20269999999999", 1), "RESOURCE_NOT_EXISTS"},
		{"no currency", strings.Replace(refundBody("R5", 1), `,"currency":"CNY"`, "", 1), "PARAM_ERROR"},
		{"refund not an integer", strings.Replace(refundBody("R6", 1), `"refund":1`, `"refund":0.5`, 1), "PARAM_ERROR"},
	} {
		rec := v3Do(t, h, clk, http.MethodPost, pathV3Refunds, tc.body)
		if e := payErr(t, rec); e.Code != tc.code {
			t.Errorf("%s: %d %+v, want %s", tc.name, rec.Code, e, tc.code)
		}
	}
	rec = v3Do(t, h, clk, http.MethodGet, pathV3ByOutTradeNo+"T20260101000004?mchid="+testMchID, "")
	if !strings.Contains(rec.Body.String(), `"trade_state":"REFUND"`) {
		t.Errorf("query after a refund: %s", rec.Body)
	}
	// a REFUND.SUCCESS notification, with the refund inside
	got := site.wait(t, 2)[1]
	if got.envelope.EventType != "REFUND.SUCCESS" || got.envelope.Resource.OriginalType != "refund" || got.envelope.Resource.AssociatedData != "refund" {
		t.Fatalf("refund notification: %+v", got.envelope)
	}
	var plain map[string]any
	if err := json.Unmarshal(got.plaintext, &plain); err != nil || plain["out_refund_no"] != "R1" || plain["refund_status"] != "SUCCESS" {
		t.Fatalf("refund resource: %s", got.plaintext)
	}
}

func TestV3Certificates(t *testing.T) {
	h, clk := newPayHandler(t, certMode)
	rec := v3Do(t, h, clk, http.MethodGet, pathV3Certificates, "")
	if serial := mustVerify(t, rec, clk.now()); serial != testCertSerial {
		t.Errorf("signed under %q, want the certificate's serial", serial)
	}
	var answer struct {
		Data []struct {
			SerialNo      string `json:"serial_no"`
			EffectiveTime string `json:"effective_time"`
			ExpireTime    string `json:"expire_time"`
			Enc           sealed `json:"encrypt_certificate"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || len(answer.Data) != 1 {
		t.Fatalf("certificates: %d %s", rec.Code, rec.Body)
	}
	d := answer.Data[0]
	if d.SerialNo != testCertSerial || d.Enc.Algorithm != "AEAD_AES_256_GCM" || d.Enc.AssociatedData != "certificate" ||
		!strings.HasSuffix(d.EffectiveTime, "+08:00") || d.ExpireTime <= d.EffectiveTime {
		t.Fatalf("entry: %+v", d)
	}
	plain, err := openResource(testAPIv3Key, d.Enc.Ciphertext, d.Enc.Nonce, d.Enc.AssociatedData)
	if err != nil {
		t.Fatalf("decrypting the certificate: %v", err)
	}
	block, _ := pem.Decode(plain)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || strings.ToUpper(cert.SerialNumber.Text(16)) != testCertSerial {
		t.Fatalf("decrypted certificate: %v %v", cert, err)
	}
	if _, err := openResource("Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp", d.Enc.Ciphertext, d.Enc.Nonce, d.Enc.AssociatedData); err == nil {
		t.Error("another APIv3 key decrypts the certificate")
	}

	pub, clk2 := newPayHandler(t, publicMode)
	rec = v3Do(t, pub, clk2, http.MethodGet, pathV3Certificates, "")
	if e := payErr(t, rec); rec.Code != http.StatusNotFound || e.Code != "RESOURCE_NOT_EXISTS" {
		t.Errorf("certificates in public-key mode: %d %+v", rec.Code, e)
	}
	if serial := mustVerify(t, rec, clk2.now()); serial != testPubKeyID {
		t.Errorf("public-key mode signed under %q", serial)
	}
}

// TestV3Migration: with both platform keys the answers take turns, and
// each verifies with the key its serial names.
func TestV3Migration(t *testing.T) {
	h, clk := newPayHandler(t, migrationMode)
	seen := map[string]int{}
	for range 4 {
		rec := v3Do(t, h, clk, http.MethodGet, pathV3Certificates, "")
		seen[mustVerify(t, rec, clk.now())]++
	}
	if seen[testPubKeyID] != 2 || seen[testCertSerial] != 2 {
		t.Fatalf("serials %v, want each twice", seen)
	}
}

func TestV3Off(t *testing.T) {
	h, _ := newTestHandler(t)
	rec := serve(t, h, http.MethodPost, pathV3JSAPI, "{}")
	if e := payErr(t, rec); rec.Code != http.StatusNotFound || e.Code != "RESOURCE_NOT_EXISTS" || !strings.Contains(e.Message, "merchant_serial") {
		t.Fatalf("v3 without merchant_serial: %d %+v", rec.Code, e)
	}
}

// TestPayFaults: the "pay" faults spoil answers as asked, in order, and
// run out.
func TestPayFaults(t *testing.T) {
	h, clk := newPayHandler(t, publicMode)
	addFault(t, h, `{"endpoint":"pay","signature":"bad"}`)
	addFault(t, h, `{"endpoint":"pay","signature":"signtest"}`)
	addFault(t, h, `{"endpoint":"pay","signature":"stale"}`)
	addFault(t, h, `{"endpoint":"pay","http_status":500,"times":2}`)
	addFault(t, h, `{"endpoint":"*","errcode":-1}`) // /cgi-bin only: never a pay answer
	call := func() (int, error) {
		rec := v3Do(t, h, clk, http.MethodPost, pathV3JSAPI, orderBody(h, "T20260101000005", deadURL))
		_, err := verifyWechatpay(t, rec.Header(), rec.Body.Bytes(), clk.now())
		return rec.Code, err
	}
	if status, err := call(); status != http.StatusOK || err == nil || err == errSignTest {
		t.Errorf("bad: %d %v, want a signature that does not verify", status, err)
	}
	if status, err := call(); status != http.StatusOK || err != errSignTest {
		t.Errorf("signtest: %d %v", status, err)
	}
	rec := v3Do(t, h, clk, http.MethodPost, pathV3JSAPI, orderBody(h, "T20260101000005", deadURL))
	if _, err := verifyWechatpay(t, rec.Header(), rec.Body.Bytes(), clk.now()); err == nil || !strings.Contains(err.Error(), "timestamp") {
		t.Errorf("stale: %v, want a timestamp refusal", err)
	}
	if _, err := verifyWechatpay(t, rec.Header(), rec.Body.Bytes(), clk.now().Add(-staleBy)); err != nil {
		t.Errorf("stale: the signature itself should verify at its own time: %v", err)
	}
	for range 2 {
		rec := v3Do(t, h, clk, http.MethodPost, pathV3JSAPI, orderBody(h, "T20260101000005", deadURL))
		mustVerify(t, rec, clk.now())
		if e := payErr(t, rec); rec.Code != http.StatusInternalServerError || e.Code != "SYSTEM_ERROR" {
			t.Errorf("http_status 500: %d %+v", rec.Code, e)
		}
	}
	if status, err := call(); status != http.StatusOK || err != nil {
		t.Errorf("after the faults: %d %v", status, err)
	}
	rec = serve(t, h, http.MethodGet, tokenURL("client_credential", h.AppID, testSecret), "")
	if r := decode[wechatError](t, rec); r.ErrCode != codeSystemBusy {
		t.Errorf("the * fault was taken by a pay answer: token %+v", r)
	}
}

func TestPayFaultChecks(t *testing.T) {
	h, _ := newTestHandler(t)
	for _, body := range []string{
		`{"endpoint":"pay"}`,
		`{"endpoint":"pay","errcode":1}`,
		`{"endpoint":"pay","signature":"bad","stall":"1s"}`,
		`{"endpoint":"pay","replay":true}`,
		`{"endpoint":"pay","http_status":200}`,
		`{"endpoint":"pay","signature":"weird"}`,
		`{"endpoint":"notify","http_status":500}`,
		`{"endpoint":"notify"}`,
		`{"endpoint":"token","signature":"bad"}`,
		`{"endpoint":"*","replay":true}`,
		`{"endpoint":"pay_order","http_status":500}`,
	} {
		rec := control(t, h, pathFault, body)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s accepted: %d %s", body, rec.Code, rec.Body)
		}
	}
}

// TestV3Close: closing an unpaid order answers 204, signed over the empty
// body; the order can then be neither paid nor made again.
func TestV3Close(t *testing.T) {
	h, clk := newPayHandler(t, publicMode)
	id := createOrder(t, h, clk, "T20260101000020", deadURL)
	closeOrder := func(no string) *httptest.ResponseRecorder {
		return v3Do(t, h, clk, http.MethodPost, pathV3ByOutTradeNo+no+"/close", `{"mchid":"`+testMchID+`"}`)
	}
	rec := closeOrder("T20260101000020")
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("close: %d %q", rec.Code, rec.Body)
	}
	mustVerify(t, rec, clk.now()) // over the empty body
	if rec := v3Do(t, h, clk, http.MethodGet, pathV3ByOutTradeNo+"T20260101000020?mchid="+testMchID, ""); !strings.Contains(rec.Body.String(), `"trade_state":"CLOSED"`) {
		t.Errorf("query after close: %s", rec.Body)
	}
	req := payRequest{AppID: h.AppID, TimeStamp: "1700000000", NonceStr: "n0nce", Package: "prepay_id=" + id, SignType: "RSA"}
	req.PaySign = signV3(t, req.AppID, req.TimeStamp, req.NonceStr, req.Package)
	if ok, msg := payVerify(t, h, req); ok || msg != "order closed" {
		t.Errorf("paying a closed order: ok=%v %q", ok, msg)
	}
	if e := payErr(t, v3Do(t, h, clk, http.MethodPost, pathV3JSAPI, orderBody(h, "T20260101000020", deadURL))); e.Code != "ORDER_CLOSED" {
		t.Errorf("ordering a closed out_trade_no again: %+v", e)
	}
	payPrepay(t, h, createOrder(t, h, clk, "T20260101000021", deadURL))
	if e := payErr(t, closeOrder("T20260101000021")); e.Code != "ORDERPAID" {
		t.Errorf("closing a paid order: %+v", e)
	}
	if e := payErr(t, closeOrder("T20269999999999")); e.Code != "ORDER_NOT_EXIST" {
		t.Errorf("closing an unknown order: %+v", e)
	}
	if e := payErr(t, v3Do(t, h, clk, http.MethodPost, pathV3ByOutTradeNo+"T20260101000021/close", `{}`)); e.Code != "PARAM_ERROR" {
		t.Errorf("close without mchid: %+v", e)
	}
}
