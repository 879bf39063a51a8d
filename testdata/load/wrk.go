package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrkResult is one wrk run.
type wrkResult struct {
	rps      float64
	p50, p99 time.Duration
	requests int64
	errors   string // non-2xx/3xx responses and socket errors, as wrk words them
	// timeouts counts requests wrk gave up on after its 5 s timeout: on a
	// busy machine a slow answer, not a broken one, so not an error.
	timeouts int
	// cpu is the CPU time the servers used during the run (set by the
	// caller, which knows them).
	cpu time.Duration
}

// cpuPerRequest is the servers' CPU time per request served.
func (r wrkResult) cpuPerRequest() time.Duration {
	if r.requests == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.requests)
}

// runWrk loads url for d with conns connections and threads threads.
func runWrk(ctx context.Context, bin, url string, d time.Duration, conns, threads int) (wrkResult, error) {
	secs := int(d.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin,
		"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", strconv.Itoa(secs)+"s",
		"--timeout", "5s", "--latency", url).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v\n%s", url, err, out)
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return r, fmt.Errorf("wrk %s: %v\n%s", url, err, out)
	}
	return r, nil
}

// parseWrk reads wrk --latency output.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var errs []string
	for _, line := range splitLines(out) {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.rps, _ = strconv.ParseFloat(f[1], 64)
		case len(f) == 2 && f[0] == "50%":
			r.p50, _ = parseWrkDuration(f[1])
		case len(f) == 2 && f[0] == "99%":
			r.p99, _ = parseWrkDuration(f[1])
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			r.requests, _ = strconv.ParseInt(f[0], 10, 64)
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			errs = append(errs, line)
		case strings.HasPrefix(line, "Socket errors:"):
			var c, rd, wr, to int
			fmt.Sscanf(line, "Socket errors: connect %d, read %d, write %d, timeout %d", &c, &rd, &wr, &to)
			if c+rd+wr > 0 {
				errs = append(errs, line)
			}
			r.timeouts = to
		}
	}
	r.errors = strings.Join(errs, "; ")
	if r.rps == 0 || r.p99 == 0 || r.requests == 0 {
		return r, fmt.Errorf("no requests/s or latency percentiles in the output")
	}
	return r, nil
}

// parseWrkDuration reads wrk's "812.00us", "1.23ms", "2.00s" and "1.50m"
// (minutes), all of which time.ParseDuration understands.
func parseWrkDuration(s string) (time.Duration, error) { return time.ParseDuration(s) }
