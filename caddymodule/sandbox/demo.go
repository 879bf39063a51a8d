package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The demo's order backend. With demo_backend set, the sandbox also plays
// the small app behind the demo site — and holds no key while doing so:
//
//   - POST /demo/orders creates an order for the payer wechat_oauth named
//     (X-WeChat-OpenID) by calling POST /v3/pay/transactions/jsapi with
//     plain, unsigned HTTP through the site's wechat_pay_api route, which
//     signs the call with the merchant key and checks WeChat Pay's signed
//     answer; it answers the page {"prepay_id", "out_trade_no", …}, to
//     which the site's wechat_pay adds the signed chooseWXPay parameters.
//   - POST /demo/notify is the backend's end of notify_url: the site's
//     wechat_pay_notify verified, de-duplicated and decrypted the
//     notification, so what arrives is the transaction in plain JSON. An
//     encrypted envelope is refused: this backend could not read it.
//   - GET /demo/orders/{out_trade_no}?wait=10s answers what the backend
//     has heard of the order — waiting up to wait (at most 30 s) for the
//     notification — and what WeChat Pay says of it now (GET
//     /v3/pay/transactions/out-trade-no/{no}, again through
//     wechat_pay_api).
//
// In the demo these paths sit on the sandbox's own site, which anyone on
// the machine can reach: a real backend listens where only its Caddy
// reaches it, or it would take forged notifications.

// Paths of the demo backend.
const (
	pathDemoPrefix = "/demo/"
	pathDemoOrders = "/demo/orders"
	pathDemoNotify = "/demo/notify"
)

// Limits of the demo backend.
const (
	maxDemoOrders   = 1024
	maxDemoWait     = 30 * time.Second
	demoCallTimeout = 10 * time.Second
)

// demoStore is what the demo backend knows of its orders.
type demoStore struct {
	mu     sync.Mutex
	orders map[string]*demoOrder
	client *http.Client
}

// demoOrder is one order of the demo backend.
type demoOrder struct {
	notifications []demoNotification
	// paid is closed by the first TRANSACTION.SUCCESS notification.
	paid chan struct{}
}

// demoNotification is a notification as the backend received it.
type demoNotification struct {
	EventType string `json:"event_type"`
	NotifyID  string `json:"notify_id"`
	// Resource is the decrypted resource, as wechat_pay_notify passed it.
	Resource json.RawMessage `json:"resource"`
}

func newDemoStore() *demoStore {
	return &demoStore{orders: map[string]*demoOrder{}, client: &http.Client{Timeout: demoCallTimeout}}
}

func (s *demoStore) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders = map[string]*demoOrder{}
}

// order returns the order no, creating it when create is set.
func (s *demoStore) order(no string, create bool) *demoOrder {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[no]
	if o == nil && create {
		if len(s.orders) >= maxDemoOrders {
			s.orders = map[string]*demoOrder{}
		}
		o = &demoOrder{paid: make(chan struct{})}
		s.orders[no] = o
	}
	return o
}

// heard records a notification of order no.
func (s *demoStore) heard(no string, n demoNotification) {
	o := s.order(no, true)
	s.mu.Lock()
	defer s.mu.Unlock()
	o.notifications = append(o.notifications, n)
	if n.EventType == "TRANSACTION.SUCCESS" {
		select {
		case <-o.paid:
		default:
			close(o.paid)
		}
	}
}

func (s *demoStore) notifications(o *demoOrder) []demoNotification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]demoNotification(nil), o.notifications...)
}

// serveDemo answers the demo backend's paths.
func (h *Handler) serveDemo(w http.ResponseWriter, r *http.Request) {
	if h.DemoBackend == nil {
		writeJSON(w, http.StatusNotFound, demoError{Error: "not_found", Message: "this sandbox plays no demo backend (demo_backend)"})
		return
	}
	p := r.URL.Path
	switch {
	case p == pathDemoOrders:
		if requireMethod(w, r, http.MethodPost) {
			h.serveDemoCreate(w, r)
		}
	case strings.HasPrefix(p, pathDemoOrders+"/"):
		if requireMethod(w, r, http.MethodGet) {
			h.serveDemoStatus(w, r, strings.TrimPrefix(p, pathDemoOrders+"/"))
		}
	case p == pathDemoNotify:
		if requireMethod(w, r, http.MethodPost) {
			h.serveDemoNotify(w, r)
		}
	default:
		writeJSON(w, http.StatusNotFound, demoError{Error: "not_found", Message: "no such demo path"})
	}
}

// demoError is the demo backend's error answer.
type demoError struct {
	Error   string          `json:"error"`
	Message string          `json:"message,omitempty"`
	Status  int             `json:"status,omitempty"`
	Answer  json.RawMessage `json:"answer,omitempty"`
}

// serveDemoCreate creates an order for the signed-in payer.
func (h *Handler) serveDemoCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Description string `json:"description"`
		Amount      struct {
			Total json.RawMessage `json:"total"`
		} `json:"amount"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil || len(bytes.TrimSpace(body)) > 0 && json.Unmarshal(body, &req) != nil {
		writeJSON(w, http.StatusBadRequest, demoError{Error: "bad_request", Message: "the body must be a JSON object"})
		return
	}
	openid := r.Header.Get("X-WeChat-OpenID")
	if openid == "" {
		writeJSON(w, http.StatusForbidden, demoError{Error: "no_payer",
			Message: "a JSAPI payment needs the payer's openid: open the page in WeChat (a MicroMessenger User-Agent), where wechat_oauth signs you in"})
		return
	}
	total := int64(1)
	if len(req.Amount.Total) > 0 {
		var ok bool
		if total, ok = fen(req.Amount.Total); !ok {
			writeJSON(w, http.StatusBadRequest, demoError{Error: "bad_request", Message: "amount.total must be a positive integer number of fen"})
			return
		}
	}
	desc := req.Description
	if desc == "" || len(desc) > 127 {
		desc = "caddy-wechat-jssdk demo"
	}
	no := "DEMO" + time.Now().In(chinaTime).Format("20060102150405") + randomDigits(6)
	call, _ := json.Marshal(map[string]any{
		"appid": h.AppID, "mchid": h.MchID, "description": desc, "out_trade_no": no,
		"notify_url": h.DemoBackend.NotifyURL,
		"amount":     map[string]any{"total": total, "currency": "CNY"},
		"payer":      map[string]string{"openid": openid},
	})
	status, answer, err := h.demoCall(r.Context(), http.MethodPost, pathV3JSAPI, call)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, demoError{Error: "wechat_pay_unreachable", Message: err.Error()})
		return
	}
	var created struct {
		PrepayID string `json:"prepay_id"`
	}
	if status != http.StatusOK || json.Unmarshal(answer, &created) != nil || created.PrepayID == "" {
		writeJSON(w, http.StatusBadGateway, demoError{Error: "wechat_pay_refused", Status: status, Answer: jsonOrString(answer)})
		return
	}
	h.state.demo.order(no, true)
	writeJSON(w, http.StatusOK, map[string]any{
		"prepay_id": created.PrepayID, "out_trade_no": no, "description": desc,
		"amount": map[string]int64{"total": total}, "payer": map[string]string{"openid": openid},
	})
}

// serveDemoStatus answers what the backend has heard of order no, and
// what WeChat Pay says of it.
func (h *Handler) serveDemoStatus(w http.ResponseWriter, r *http.Request, no string) {
	if !validOutNo(no, 6, 32) {
		writeJSON(w, http.StatusNotFound, demoError{Error: "unknown_order"})
		return
	}
	o := h.state.demo.order(no, false)
	if o == nil {
		writeJSON(w, http.StatusNotFound, demoError{Error: "unknown_order"})
		return
	}
	if s := r.URL.Query().Get("wait"); s != "" {
		wait, err := time.ParseDuration(s)
		if err != nil || wait < 0 {
			writeJSON(w, http.StatusBadRequest, demoError{Error: "bad_request", Message: "wait must be a duration such as 10s"})
			return
		}
		t := time.NewTimer(min(wait, maxDemoWait))
		select {
		case <-o.paid:
		case <-t.C:
		case <-r.Context().Done():
		}
		t.Stop()
	}
	query := map[string]any{}
	status, answer, err := h.demoCall(r.Context(), http.MethodGet,
		pathV3ByOutTradeNo+url.PathEscape(no)+"?mchid="+url.QueryEscape(h.MchID), nil)
	if err != nil {
		query["error"] = err.Error()
	} else {
		query["status"], query["answer"] = status, jsonOrString(answer)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"out_trade_no":  no,
		"notifications": h.state.demo.notifications(o),
		"query":         query,
	})
}

// serveDemoNotify takes a notification that wechat_pay_notify has
// verified and decrypted.
func (h *Handler) serveDemoNotify(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var t struct {
		OutTradeNo string          `json:"out_trade_no"`
		Resource   json.RawMessage `json:"resource"`
	}
	switch {
	case err != nil || json.Unmarshal(body, &t) != nil:
		writeJSON(w, http.StatusBadRequest, payError{Code: "FAIL", Message: "not JSON"})
		return
	case t.Resource != nil:
		writeJSON(w, http.StatusBadRequest, payError{Code: "FAIL",
			Message: "an encrypted notification: this backend holds no APIv3 key; wechat_pay_notify must stand in front of it"})
		return
	case t.OutTradeNo == "":
		writeJSON(w, http.StatusBadRequest, payError{Code: "FAIL", Message: "no out_trade_no"})
		return
	}
	h.state.demo.heard(t.OutTradeNo, demoNotification{
		EventType: r.Header.Get("X-WeChat-Pay-Event"),
		NotifyID:  r.Header.Get("X-WeChat-Pay-Notify-ID"),
		Resource:  body,
	})
	w.WriteHeader(http.StatusNoContent)
}

// demoCall calls WeChat Pay through the site's wechat_pay_api route, as
// the backend would: plain HTTP, no Authorization, no key.
func (h *Handler) demoCall(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(h.DemoBackend.PayAPI, "/")+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := h.state.demo.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = errors.New("calling " + h.DemoBackend.PayAPI + ": " + ue.Err.Error())
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return resp.StatusCode, answer, err
}

// jsonOrString keeps a JSON answer as it is and quotes anything else.
func jsonOrString(b []byte) json.RawMessage {
	if json.Valid(b) {
		return b
	}
	q, _ := json.Marshal(string(b))
	return q
}
