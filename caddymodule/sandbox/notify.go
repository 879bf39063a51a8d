package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
)

// WeChat Pay's notifications, as the sandbox sends them: when an order is
// paid (POST /sandbox/pay/verify, which the stub's chooseWXPay and
// getBrandWCPayRequest call) or refunded with a notify_url, the sandbox
// POSTs the event to the notify_url from its own process: a JSON envelope
// whose resource is the transaction (or refund) encrypted with the APIv3
// key, signed in the Wechatpay-* headers like an answer. Like WeChat Pay
// it retries until the merchant answers 200 or 204 — here at most 5
// times in about 15 seconds (WeChat Pay: 15 times over a day), each
// attempt signed afresh, the body unchanged — and logs every result.

// notification is one event WeChat Pay tells a merchant of.
type notification struct {
	event   string // TRANSACTION.SUCCESS, REFUND.SUCCESS
	summary string
	// kind is the resource's original_type and associated_data:
	// "transaction" or "refund".
	kind       string
	plaintext  []byte
	url        string
	outTradeNo string
	// outRefundNo is set for a refund.
	outRefundNo string
}

// notifyDelays are the waits before each attempt: 5 attempts, doubling
// from 1 s. A variable so that tests can shorten it.
var notifyDelays = []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

// notifyTimeout bounds one attempt, as WeChat Pay's 5 seconds.
const notifyTimeout = 5 * time.Second

// maxDeliveries bounds the log of notifications sent.
const maxDeliveries = 100

// notifyUserAgent is what WeChat Pay's notifications say they are.
const notifyUserAgent = "Mozilla/4.0"

// delivery is the log of one notification: its JSON form is an entry of
// GET /sandbox/pay/notifications.
type delivery struct {
	ID          string    `json:"id"`
	EventType   string    `json:"event_type"`
	OutTradeNo  string    `json:"out_trade_no"`
	OutRefundNo string    `json:"out_refund_no,omitempty"`
	URL         string    `json:"url"`
	Attempts    []attempt `json:"attempts"`
	// Delivered: an attempt was answered 200 or 204.
	Delivered bool `json:"delivered"`
	// Done: no attempt is pending any more (delivered or given up).
	Done bool `json:"done"`
}

// attempt is one request that sent a notification.
type attempt struct {
	At time.Time `json:"at"`
	// Status is the site's answer; 0 when none came (Error says why).
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	// Serial is the Wechatpay-Serial it was signed under.
	Serial string `json:"serial"`
	// Fault is the signature fault it carried, if any.
	Fault string `json:"fault,omitempty"`
	// Replay marks the second, identical copy of a replay fault.
	Replay bool `json:"replay,omitempty"`
}

// notifier sends the notifications of one app and keeps their log. Its
// goroutines end when the state is destroyed (stop) or reset.
type notifier struct {
	client *http.Client

	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	stopped bool
	log     []*delivery
	wg      sync.WaitGroup
}

func newNotifier() *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	return &notifier{
		client: &http.Client{
			Timeout: notifyTimeout,
			// WeChat Pay does not follow a redirect: it is not 200/204
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		ctx: ctx, cancel: cancel,
	}
}

// begin logs d and returns the context its sending runs under, or false
// once the notifier is stopped.
func (n *notifier) begin(d *delivery) (context.Context, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return nil, false
	}
	if len(n.log) >= maxDeliveries {
		n.log = slices.Delete(n.log, 0, len(n.log)-maxDeliveries+1)
	}
	n.log = append(n.log, d)
	n.wg.Add(1)
	return n.ctx, true
}

// update changes d under the lock.
func (n *notifier) update(d *delivery, change func(*delivery)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	change(d)
}

// snapshot copies the log, oldest first; with outTradeNo set, only that
// order's notifications.
func (n *notifier) snapshot(outTradeNo string) []delivery {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]delivery, 0, len(n.log))
	for _, d := range n.log {
		if outTradeNo == "" || d.OutTradeNo == outTradeNo {
			c := *d
			c.Attempts = slices.Clone(d.Attempts)
			out = append(out, c)
		}
	}
	return out
}

// reset abandons the notifications being sent and forgets the log.
func (n *notifier) reset() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cancel()
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.log = nil
}

// stop abandons the notifications being sent and waits for their
// goroutines.
func (n *notifier) stop() {
	n.mu.Lock()
	n.stopped = true
	n.cancel()
	n.mu.Unlock()
	n.wg.Wait()
}

// envelope is a notification's body.
type envelope struct {
	ID           string `json:"id"`
	CreateTime   string `json:"create_time"`
	ResourceType string `json:"resource_type"`
	EventType    string `json:"event_type"`
	Summary      string `json:"summary"`
	Resource     sealed `json:"resource"`
}

// notify sends ev to its notify_url in the background.
func (h *Handler) notify(ev notification) {
	if h.v3 == nil || ev.url == "" {
		return
	}
	now := h.clock()
	res := seal(h.v3.apiv3, ev.kind, ev.plaintext)
	res.OriginalType = ev.kind
	env := envelope{ID: "EV-" + now.In(chinaTime).Format("20060102150405") + randomDigits(7),
		CreateTime: wxTime(now), ResourceType: "encrypt-resource", EventType: ev.event,
		Summary: ev.summary, Resource: res}
	body, err := json.Marshal(env)
	if err != nil { // our own types
		h.logger.Error("cannot build a notification", zap.Error(err))
		return
	}
	d := &delivery{ID: env.ID, EventType: ev.event, OutTradeNo: ev.outTradeNo, OutRefundNo: ev.outRefundNo, URL: ev.url}
	nt := h.state.notifier
	ctx, ok := nt.begin(d)
	if !ok {
		return
	}
	delays := notifyDelays // read here, not in the goroutine: tests change it
	go func() {
		defer nt.wg.Done()
		h.deliver(ctx, nt, d, body, delays)
	}()
}

// deliver sends body until the site answers 200 or 204, or the attempts
// run out.
func (h *Handler) deliver(ctx context.Context, nt *notifier, d *delivery, body []byte, delays []time.Duration) {
	log := h.logger.With(zap.String("notify_id", d.ID), zap.String("event_type", d.EventType),
		zap.String("out_trade_no", d.OutTradeNo), zap.String("notify_url", d.URL))
	delivered := false
	for i, wait := range delays {
		if sleepCtx(ctx, wait) != nil {
			break
		}
		f, _ := h.state.takeFault(endpointNotify)
		hdr := http.Header{}
		h.signInto(hdr, body, f.Signature)
		a := h.send(ctx, nt, hdr, d.URL, body)
		a.Fault = f.Signature
		nt.update(d, func(d *delivery) { d.Attempts = append(d.Attempts, a) })
		delivered = a.Status == http.StatusOK || a.Status == http.StatusNoContent
		if f.Replay {
			// the same request again, as a replayed notification arrives
			r := h.send(ctx, nt, hdr, d.URL, body)
			r.Fault, r.Replay = f.Signature, true
			nt.update(d, func(d *delivery) { d.Attempts = append(d.Attempts, r) })
			log.Info("sent a notification twice (replay fault)", zap.Int("status", a.Status), zap.Int("replay_status", r.Status))
		}
		if delivered {
			log.Info("notification delivered", zap.Int("attempt", i+1), zap.Int("status", a.Status), zap.String("fault", a.Fault))
			break
		}
		log.Warn("notification not accepted; WeChat Pay retries", zap.Int("attempt", i+1), zap.Int("status", a.Status),
			zap.String("error", a.Error), zap.String("fault", a.Fault))
	}
	nt.update(d, func(d *delivery) { d.Delivered, d.Done = delivered, true })
	if !delivered && ctx.Err() == nil {
		log.Warn("giving up on a notification", zap.Int("attempts", len(delays)))
	}
}

// send POSTs one notification request and reports how it went.
func (h *Handler) send(ctx context.Context, nt *notifier, hdr http.Header, target string, body []byte) attempt {
	h.state.count(endpointNotify)
	a := attempt{At: h.clock(), Serial: hdr.Get("Wechatpay-Serial")}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		a.Error = "bad notify_url"
		return a
	}
	req.Header = hdr.Clone()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", notifyUserAgent)
	resp, err := nt.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which the log has already
		}
		a.Error = err.Error()
		return a
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	a.Status = resp.StatusCode
	return a
}

// serveNotifications handles GET /sandbox/pay/notifications: the log of
// the notifications sent (the last 100), oldest first, each with its
// attempts; ?out_trade_no= keeps one order's.
func (h *Handler) serveNotifications(w http.ResponseWriter, r *http.Request) {
	if !requireMethod(w, r, http.MethodGet) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": h.state.notifier.snapshot(r.URL.Query().Get("out_trade_no"))})
}
