package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// scriptOpen starts the block wechat_jssdk injects; the wx.config JSON
// follows up to the closing tag.
const scriptOpen = `<script id="wechat-jssdk-config" type="application/json">`

// sample is what the harness saw of one page request.
type sample struct {
	phase    int
	start    time.Time
	end      time.Time
	latency  time.Duration
	failed   string // why the page was not served (after failover); "" when it was
	failover string // why the first instance failed at the transport level, when the other one served
	signed   bool   // a config block was present
	valid    bool   // its signature held when the sandbox was asked
	why      string // the sandbox's reason when the signature did not hold
	retried  bool   // it was invalid and the self-healing retry was sent
	healed   bool   // the retry's config was valid
}

// rotation is one unannounced rotation and how pages recovered from it.
type rotation struct {
	at          time.Time
	phase       int
	invalid     int
	firstRetry  time.Time
	lastInvalid time.Time
}

// loadGen requests pages at a steady rate across the instances and
// records every answer.
type loadGen struct {
	sites   []string // base URLs of the instances
	sandbox sandboxClient
	client  *http.Client
	phase   atomic.Int32

	mu        sync.Mutex
	samples   []sample
	rotations []*rotation
	dropped   int // ticks skipped because too many requests were in flight
}

// maxInFlight bounds the concurrent page requests: beyond it a tick is
// dropped (and counted) rather than piling up goroutines.
const maxInFlight = 512

// run sends rate requests per second until ctx ends, then waits for the
// requests in flight.
func (g *loadGen) run(ctx context.Context, rate int) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			g.mu.Lock()
			g.dropped++
			g.mu.Unlock()
			continue
		}
		wg.Add(1)
		go func(n int) {
			defer func() { <-sem; wg.Done() }()
			g.record(g.page(n))
		}(n)
	}
}

// markRotation records an unannounced rotation made just now.
func (g *loadGen) markRotation(at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rotations = append(g.rotations, &rotation{at: at, phase: int(g.phase.Load())})
}

// page requests page n from one instance, failing over to the other on a
// transport error as a load balancer would, checks its signature and, like
// the boot script, sends the self-healing retry when it is invalid.
func (g *loadGen) page(n int) sample {
	s := sample{phase: int(g.phase.Load()), start: time.Now()}
	first := n % len(g.sites)
	var body []byte
	var site string
	var err error
	for try := range len(g.sites) {
		site = g.sites[(first+try)%len(g.sites)]
		var status int
		status, body, err = g.get(site + "/?n=" + strconv.Itoa(n))
		if err == nil && status/100 != 2 {
			err = fmt.Errorf("HTTP %d", status)
			break // an answer, not a dead instance: no failover
		}
		if err == nil {
			break
		}
		if try == 0 {
			s.failover = err.Error()
		}
	}
	s.end = time.Now()
	s.latency = s.end.Sub(s.start)
	if err != nil {
		s.failed = err.Error()
		s.failover = ""
		return s
	}
	cfg, ok := configBlock(body)
	if !ok {
		return s // fail-open: served without a config
	}
	s.signed = true
	s.valid, s.why, err = g.sandbox.verify(cfg)
	if err != nil {
		s.failed = "verify: " + err.Error()
		return s
	}
	if s.valid {
		return s
	}
	s.retried = true
	g.noteRetry(s.end)
	s.healed = g.retry(site, cfg)
	return s
}

// retry sends the boot script's self-healing retry for the page whose
// config cfg was rejected, and reports whether the new config holds.
func (g *loadGen) retry(site string, cfg []byte) bool {
	var c struct {
		URL string `json:"url"`
	}
	if json.Unmarshal(cfg, &c) != nil {
		return false
	}
	status, body, err := g.get(site + configPath + "?url=" + url.QueryEscape(c.URL) + "&retry=1")
	if err != nil || status != http.StatusOK {
		return false
	}
	ok, _, err := g.sandbox.verify(body)
	return err == nil && ok
}

// get fetches target and returns its status and body.
func (g *loadGen) get(target string) (int, []byte, error) {
	resp, err := g.client.Get(target)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// configBlock extracts the injected wx.config JSON from a page.
func configBlock(page []byte) ([]byte, bool) {
	i := bytes.Index(page, []byte(scriptOpen))
	if i < 0 {
		return nil, false
	}
	rest := page[i+len(scriptOpen):]
	j := bytes.Index(rest, []byte("</script>"))
	if j < 0 {
		return nil, false
	}
	return rest[:j], true
}

// noteRetry records the first retry after the latest rotation.
func (g *loadGen) noteRetry(at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.latestRotation(at); r != nil && r.firstRetry.IsZero() {
		r.firstRetry = at
	}
}

// record keeps s, attributing an invalid page to the rotation before it.
func (g *loadGen) record(s sample) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.samples = append(g.samples, s)
	if s.signed && !s.valid && s.failed == "" {
		if r := g.latestRotation(s.end); r != nil {
			r.invalid++
			if s.end.After(r.lastInvalid) {
				r.lastInvalid = s.end
			}
		}
	}
}

// latestRotation is the last rotation made before t, if any. g.mu is held.
func (g *loadGen) latestRotation(t time.Time) *rotation {
	for i := len(g.rotations) - 1; i >= 0; i-- {
		if !g.rotations[i].at.After(t) {
			return g.rotations[i]
		}
	}
	return nil
}
