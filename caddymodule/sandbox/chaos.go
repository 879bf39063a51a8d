package sandbox

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// pathChaos is the control call that sets the standing faults.
const pathChaos = "/sandbox/chaos"

// chaos is the standing fault setting of POST /sandbox/chaos. Unlike the
// queued faults of /sandbox/fault, which fail the next few calls, it holds
// for every /cgi-bin call until it is replaced, as a soak test needs: a
// slow, flaky or absent WeChat for as long as a phase lasts. Its JSON form
// is the request body; {} clears it.
type chaos struct {
	// Latency is added before every /cgi-bin answer, on top of the
	// handler's own latency option.
	Latency caddy.Duration `json:"latency,omitempty"`
	// Jitter adds a uniform random extra delay in [0, Jitter).
	Jitter caddy.Duration `json:"jitter,omitempty"`
	// ErrorRate is the fraction of calls that answer one of ErrorCodes as
	// WeChat does (HTTP 200 with errcode), taken in turn.
	ErrorRate float64 `json:"error_rate,omitempty"`
	// ErrorCodes are the WeChat codes ErrorRate answers; default [-1].
	ErrorCodes []int `json:"error_codes,omitempty"`
	// HTTP5xxRate is the fraction of calls that answer HTTP 502.
	HTTP5xxRate float64 `json:"http_5xx_rate,omitempty"`
	// ResetRate is the fraction of calls whose connection is closed
	// without an answer, as a reset by a middlebox looks to the client.
	ResetRate float64 `json:"reset_rate,omitempty"`
	// Outage closes every call's connection without an answer: WeChat
	// unreachable.
	Outage bool `json:"outage,omitempty"`
}

// check validates c and returns what is wrong.
func (c *chaos) check() string {
	for _, r := range []float64{c.ErrorRate, c.HTTP5xxRate, c.ResetRate} {
		if r < 0 || r > 1 {
			return "error_rate, http_5xx_rate and reset_rate must be between 0 and 1"
		}
	}
	if c.Latency < 0 || c.Jitter < 0 {
		return "latency and jitter must not be negative"
	}
	for _, code := range c.ErrorCodes {
		if code == 0 {
			return "error_codes must not contain 0 (success)"
		}
	}
	return ""
}

// chaosSlot is the setting of one app's state and the turn of its codes.
type chaosSlot struct {
	mu   sync.Mutex
	c    chaos
	turn int
}

// chaosByState holds the setting of each app's state. It lives beside the
// state rather than in it so that the fault machinery stays in one file;
// a state the pool dropped has no handler left to consult it.
var chaosByState sync.Map // *state -> *chaosSlot

// chaosRand returns a float in [0, 1); tests replace it to decide rates.
var chaosRand = rand.Float64

// setChaos replaces the setting of s.
func setChaos(s *state, c chaos) {
	v, _ := chaosByState.LoadOrStore(s, new(chaosSlot))
	slot := v.(*chaosSlot)
	slot.mu.Lock()
	defer slot.mu.Unlock()
	slot.c, slot.turn = c, 0
}

// chaosVerdict is what the setting decides for one call.
type chaosVerdict struct {
	delay   time.Duration
	reset   bool
	status  int // an HTTP status to answer, 0 for none
	errCode int // a WeChat errcode to answer, 0 for none
}

// decide rolls the dice for one call to s.
func decide(s *state) chaosVerdict {
	v, ok := chaosByState.Load(s)
	if !ok {
		return chaosVerdict{}
	}
	slot := v.(*chaosSlot)
	slot.mu.Lock()
	defer slot.mu.Unlock()
	c := slot.c
	d := chaosVerdict{delay: time.Duration(c.Latency)}
	if c.Jitter > 0 {
		d.delay += time.Duration(chaosRand() * float64(c.Jitter))
	}
	switch {
	case c.Outage:
		d.reset = true
	case c.ResetRate > 0 && chaosRand() < c.ResetRate:
		d.reset = true
	case c.HTTP5xxRate > 0 && chaosRand() < c.HTTP5xxRate:
		d.status = http.StatusBadGateway
	case c.ErrorRate > 0 && chaosRand() < c.ErrorRate:
		codes := c.ErrorCodes
		if len(codes) == 0 {
			codes = []int{codeSystemBusy}
		}
		d.errCode = codes[slot.turn%len(codes)]
		slot.turn++
	}
	return d
}

// chaosFirst applies the standing faults to a /cgi-bin call. It reports
// false when it answered the call (or the client went away during the
// delay), true when the call goes on to the queued faults and the answer.
func (h *Handler) chaosFirst(w http.ResponseWriter, r *http.Request) bool {
	d := decide(h.state)
	if sleepCtx(r.Context(), d.delay) != nil {
		return false
	}
	switch {
	case d.reset:
		resetConn(w)
	case d.status != 0:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(d.status)
		_, _ = fmt.Fprintf(w, "wechat_sandbox: chaos HTTP %d\n", d.status)
	case d.errCode != 0:
		writeWeChatError(w, http.StatusOK, d.errCode)
	default:
		return true
	}
	return false
}

// resetConn closes the client's connection without an answer. Where the
// connection cannot be taken over (HTTP/2, a recorder), it panics with
// http.ErrAbortHandler, which net/http turns into a reset stream.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// serveChaos handles POST /sandbox/chaos.
func (h *Handler) serveChaos(w http.ResponseWriter, r *http.Request) {
	var c chaos
	if !readControl(w, r, &c) {
		return
	}
	if msg := c.check(); msg != "" {
		writeControlError(w, http.StatusBadRequest, msg)
		return
	}
	setChaos(h.state, c)
	h.logger.Info("chaos setting replaced",
		zap.Duration("latency", time.Duration(c.Latency)),
		zap.Duration("jitter", time.Duration(c.Jitter)),
		zap.Float64("error_rate", c.ErrorRate),
		zap.Float64("http_5xx_rate", c.HTTP5xxRate),
		zap.Float64("reset_rate", c.ResetRate),
		zap.Bool("outage", c.Outage))
	writeJSON(w, http.StatusOK, controlReply{OK: true})
}
