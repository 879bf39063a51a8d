package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// burst is n concurrent requests on n connections opened beforehand.
type burst struct {
	n        int
	injected int // 200s whose page carries the block
	failed   []string
	p50, p99 time.Duration
	max      time.Duration
	// first and last are when the first and the last answer was complete,
	// counted from the moment the burst was released.
	first, last time.Duration
}

// coldResult is the cold-start test: the first burst on a fresh Caddy whose
// sandbox answers each WeChat call after latency, the sandbox's call counts
// after it, and the same burst again once warm, for what the burst itself
// costs on this machine.
type coldResult struct {
	latency     time.Duration
	cold, warm  burst
	tokenCalls  int // stable_token + token
	ticketCalls int
}

// floor is what a cold page cannot beat: a stable_token call, then a
// getticket call, each delayed by the sandbox's latency.
func (c *coldResult) floor() time.Duration { return 2 * c.latency }

// limit is the target: the WeChat round trip (token and ticket) plus 50 ms.
func (c *coldResult) limit() time.Duration { return c.floor() + 50*time.Millisecond }

func measureColdStart(ctx context.Context, e *env, o options) (*coldResult, error) {
	r := &coldResult{latency: o.latency}
	ports, err := freePorts(2)
	if err != nil {
		return r, err
	}
	sandbox, site := ports[0], ports[1]
	p, err := startCaddy(ctx, e, "cold", caddyConfig{
		Sandbox: &sandboxSite{Port: sandbox, Latency: o.latency},
		Sites:   []caddySite{{Name: "wechat_jssdk, cold", Port: site, JSSDK: true}},
	})
	if err != nil {
		return r, err
	}
	defer p.stop()

	if tok, tick, err := sandboxStats(ctx, sandbox); err != nil || tok+tick != 0 {
		return r, fmt.Errorf("a fresh sandbox has %d token and %d ticket calls (%v)", tok, tick, err)
	}
	if r.cold, err = runBurst(ctx, addr(site), o.coldN); err != nil {
		return r, err
	}
	if r.tokenCalls, r.ticketCalls, err = sandboxStats(ctx, sandbox); err != nil {
		return r, err
	}
	if r.warm, err = runBurst(ctx, addr(site), o.coldN); err != nil {
		return r, err
	}
	logf("cold start: %d/%d injected, %d token and %d ticket calls, p50 %s p99 %s, answers from %s to %s (warm burst: p50 %s p99 %s, %s to %s)",
		r.cold.injected, r.cold.n, r.tokenCalls, r.ticketCalls, r.cold.p50, r.cold.p99, r.cold.first, r.cold.last,
		r.warm.p50, r.warm.p99, r.warm.first, r.warm.last)
	switch {
	case r.tokenCalls != 1 || r.ticketCalls != 1:
		return r, fmt.Errorf("%d concurrent first pages made %d token and %d ticket calls, want 1 and 1",
			o.coldN, r.tokenCalls, r.ticketCalls)
	case r.cold.injected != r.cold.n:
		return r, fmt.Errorf("%d of %d cold pages answered with the block; first failures: %v",
			r.cold.injected, r.cold.n, r.cold.failed)
	case r.warm.injected != r.warm.n:
		return r, fmt.Errorf("%d of %d warm pages answered with the block; first failures: %v",
			r.warm.injected, r.warm.n, r.warm.failed)
	}
	return r, nil
}

// runBurst opens n connections to addr, then sends one page request on
// each at the same moment and times each from its write to the end of its
// body.
func runBurst(ctx context.Context, addr string, n int) (burst, error) {
	b := burst{n: n}
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	d := net.Dialer{Timeout: 5 * time.Second}
	for range n {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return b, fmt.Errorf("opening connection %d of %d: %w", len(conns)+1, n, err)
		}
		conns = append(conns, c)
	}
	req := []byte("GET " + pagePath + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n")

	lat := make([]time.Duration, n)
	done := make([]time.Duration, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var released time.Time
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			t0 := time.Now()
			errs[i] = fetchOn(c, req)
			lat[i] = time.Since(t0)
			done[i] = time.Since(released)
		}()
	}
	released = time.Now()
	close(start)
	wg.Wait()

	for i, err := range errs {
		if err == nil {
			b.injected++
		} else if len(b.failed) < 3 {
			b.failed = append(b.failed, fmt.Sprintf("#%d: %v", i, err))
		}
	}
	slices.Sort(lat)
	slices.Sort(done)
	b.p50, b.p99, b.max = percentile(lat, 50), percentile(lat, 99), lat[len(lat)-1]
	b.first, b.last = done[0], done[len(done)-1]
	return b, nil
}

// fetchOn sends req on c and checks that the answer is a 200 page with
// exactly one block.
func fetchOn(c net.Conn, req []byte) error {
	if _, err := c.Write(req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	if _, err := injectedBlock(body, page16K); err != nil {
		if !bytes.Equal(body, page16K) {
			return err
		}
		return fmt.Errorf("served without the block")
	}
	return nil
}

// sandboxStats reads the sandbox's token (stable_token and token) and
// getticket call counts.
func sandboxStats(ctx context.Context, port int) (tokens, tickets int, err error) {
	body, err := fetch(ctx, pageURL(port, "/sandbox/stats"))
	if err != nil {
		return 0, 0, err
	}
	var s struct {
		Token       int `json:"token"`
		StableToken int `json:"stable_token"`
		GetTicket   int `json:"getticket"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return 0, 0, fmt.Errorf("sandbox stats %s: %w", body, err)
	}
	return s.Token + s.StableToken, s.GetTicket, nil
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}
