package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// memRun is the peak RSS of one Caddy while n clients fetch the 10 MiB page
// at once.
type memRun struct {
	before, peak int64 // VmHWM reset before the fetches, and after them
	maxInFlight  int32 // responses being received at the same moment
}

func (m memRun) rise() int64 { return m.peak - m.before }

// memoryResult compares file_server alone with file_server behind
// wechat_jssdk, each in its own fresh Caddy.
type memoryResult struct {
	fetches     int
	plain, ours memRun
}

// perResponse is what wechat_jssdk adds to the peak RSS per concurrent
// response, over file_server alone.
func (m *memoryResult) perResponse() float64 {
	return float64(m.ours.rise()-m.plain.rise()) / float64(m.fetches)
}

func measureMemory(ctx context.Context, e *env, o options) (*memoryResult, error) {
	r := &memoryResult{fetches: o.memFetches}
	var err error
	if r.plain, err = memoryOf(ctx, e, o, false); err != nil {
		return r, fmt.Errorf("file_server alone: %w", err)
	}
	if r.ours, err = memoryOf(ctx, e, o, true); err != nil {
		return r, fmt.Errorf("wechat_jssdk: %w", err)
	}
	logf("peak RSS rise: file_server %s, wechat_jssdk %s (%d concurrent 10 MiB responses)",
		mib(r.plain.rise()), mib(r.ours.rise()), r.fetches)
	return r, nil
}

// memoryOf starts a fresh Caddy, serves the 10 MiB page once so that what
// any first response allocates is in the baseline, resets the peak RSS and
// lets o.memFetches clients fetch the page at the same time.
func memoryOf(ctx context.Context, e *env, o options, jssdk bool) (memRun, error) {
	var run memRun
	ports, err := freePorts(2)
	if err != nil {
		return run, err
	}
	cfg := caddyConfig{Sites: []caddySite{{Name: "the 10 MiB page", Port: ports[1], JSSDK: jssdk}}}
	name := "mem-file_server"
	if jssdk {
		cfg.Sandbox = &sandboxSite{Port: ports[0]}
		name = "mem-wechat_jssdk"
	}
	p, err := startCaddy(ctx, e, name, cfg)
	if err != nil {
		return run, err
	}
	defer p.stop()

	url := pageURL(ports[1], bigPagePath)
	first, err := fetch(ctx, url)
	if err != nil {
		return run, err
	}
	want := int64(len(first))
	switch {
	case !jssdk && want != bigPageSize:
		return run, fmt.Errorf("the page is %d bytes, want %d", want, bigPageSize)
	case jssdk && (want <= bigPageSize || !bytes.Contains(first[:64<<10], []byte(blockMarker))):
		return run, fmt.Errorf("the 10 MiB page was not injected")
	}
	first = nil

	if err := resetPeakRSS(p.pid()); err != nil {
		return run, err
	}
	if run.before, err = vmStatus(p.pid(), "VmHWM"); err != nil {
		return run, err
	}
	if run.maxInFlight, err = concurrentFetches(ctx, url, o.memFetches, want); err != nil {
		return run, err
	}
	if run.peak, err = vmStatus(p.pid(), "VmHWM"); err != nil {
		return run, err
	}
	return run, nil
}

// concurrentFetches has n clients, each on its own connection, GET url at
// the same moment and read the body at about 100 MB/s each, so that all n
// responses are in flight together. It checks each body's length and
// returns the most responses seen in flight at once.
func concurrentFetches(ctx context.Context, url string, n int, want int64) (int32, error) {
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: n}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	var inFlight, maxInFlight atomic.Int32
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			resp, err := c.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			now := inFlight.Add(1)
			defer inFlight.Add(-1)
			for m := maxInFlight.Load(); now > m && !maxInFlight.CompareAndSwap(m, now); m = maxInFlight.Load() {
			}
			var got int64
			buf := make([]byte, 64<<10)
			for {
				k, err := io.ReadFull(resp.Body, buf)
				got += int64(k)
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					break
				}
				if err != nil {
					errs <- err
					return
				}
				time.Sleep(640 * time.Microsecond) // 64 KiB per 0.64 ms: ~100 MB/s
			}
			if resp.StatusCode != http.StatusOK || got != want {
				errs <- fmt.Errorf("%s, %d bytes; want 200, %d bytes", resp.Status, got, want)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		return maxInFlight.Load(), err
	}
	return maxInFlight.Load(), nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
