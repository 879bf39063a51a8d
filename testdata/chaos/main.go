// Command chaos is the soak-and-chaos harness of caddy-wechat-jssdk: a
// sandbox WeChat, two Caddy instances sharing file_system storage in front
// of a demo page, and a load generator that requests pages at a steady
// rate across both while a fault schedule cycles through latency, errors,
// a full outage, unannounced credential rotations, a SIGKILLed instance
// and a storage outage. It prints a markdown table per phase and exits
// non-zero when a promise is broken:
//
//   - a page request failed (non-2xx, or a transport error on both
//     instances);
//   - a signed-but-invalid page was served in a phase without unannounced
//     rotation;
//   - after a rotation, invalid pages went on more than 2 s past the first
//     self-healing retry;
//   - a phase made more WeChat calls than 10 + 2 per second of phase.
//
// Run it from the repository root:
//
//	go run ./testdata/chaos              # 3 minutes
//	go run ./testdata/chaos -quick       # about a minute
//	go run ./testdata/chaos -duration 10m -rate 100
//	go run ./testdata/chaos -ttl 2h     # WeChat's real credential lifetime
//	go run ./testdata/chaos -quick -ttl 7s  # short lives: refreshes outlast them (CI)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// harness is one run.
type harness struct {
	cluster *cluster
	sandbox sandboxClient
	load    *loadGen
	start   time.Time
}

// logf prints a progress line on stderr.
func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[+%6.1fs] %s\n", time.Since(h.start).Seconds(), fmt.Sprintf(format, args...))
}

func main() {
	duration := flag.Duration("duration", 3*time.Minute, "total length of the run")
	quick := flag.Bool("quick", false, "a run of about a minute (overrides -duration)")
	rate := flag.Int("rate", 50, "page requests per second, across both instances")
	keep := flag.Bool("keep", false, "keep the working directory (configs, logs, storage)")
	ttl := flag.Duration("ttl", 0, "the sandbox's token_ttl (default: 24s, scaled up with -duration above 3m; CI also runs -quick -ttl 7s)")
	flag.Parse()
	if *quick {
		*duration = time.Minute
	}
	ok, err := run(*duration, *rate, *keep, *ttl)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// run sets everything up, runs the schedule, prints the report and says
// whether every check passed.
func run(duration time.Duration, rate int, keep bool, ttl time.Duration) (bool, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "jssdk-chaos-")
	if err != nil {
		return false, err
	}
	if keep {
		fmt.Fprintln(os.Stderr, "working directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	h := &harness{start: time.Now()}
	h.logf("building testdata/caddy")
	bin, err := buildCaddy(ctx, dir)
	if err != nil {
		return false, err
	}
	phases := schedule()
	scale := duration.Seconds() / totalSeconds(phases)
	tokenTTL := ttl
	if tokenTTL == 0 {
		tokenTTL = tokenTTLFor(scale)
	}
	c, err := newCluster(ctx, dir, bin, tokenTTL)
	if err != nil {
		return false, err
	}
	defer c.stop()
	h.cluster = c
	h.sandbox = sandboxClient{base: c.sandURL, http: newHTTPClient(10 * time.Second)}
	defer storageUp(h) // whatever happens, put the storage back
	h.load = &loadGen{
		sites:   []string{"http://" + c.instances[0].addr, "http://" + c.instances[1].addr},
		sandbox: h.sandbox,
		// beyond the sidecar's 5 s upstream timeout
		client: newHTTPClient(15 * time.Second),
	}

	fmt.Printf("# chaos run %s: %s, %d pages/s over 2 instances, %d CPU cores, %s/%s, sandbox token_ttl %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), duration, rate, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, tokenTTL)

	loadCtx, stopLoad := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	h.start = time.Now()
	go func() { h.load.run(loadCtx, rate); close(loadDone) }()

	type window struct {
		from, to time.Time
		calls    int64
	}
	windows := make([]window, len(phases))
	for i, p := range phases {
		length := time.Duration(p.seconds * scale * float64(time.Second))
		before, err := h.sandbox.wechatCalls()
		if err != nil {
			stopLoad()
			return false, err
		}
		h.load.phase.Store(int32(i))
		windows[i].from = time.Now()
		h.logf("phase %d: %s for %s", i+1, p.name, length.Round(100*time.Millisecond))
		pctx, cancel := context.WithDeadline(ctx, windows[i].from.Add(length))
		if err := p.start(pctx, h); err != nil {
			cancel()
			stopLoad()
			return false, fmt.Errorf("phase %s: %w", p.name, err)
		}
		<-pctx.Done()
		cancel()
		if p.stop != nil {
			if err := p.stop(h); err != nil {
				stopLoad()
				return false, fmt.Errorf("phase %s: stop: %w", p.name, err)
			}
		}
		windows[i].to = time.Now()
		after, err := h.sandbox.wechatCalls()
		if err != nil {
			stopLoad()
			return false, err
		}
		windows[i].calls = after - before
		if ctx.Err() != nil {
			stopLoad()
			return false, ctx.Err()
		}
	}
	stopLoad()
	<-loadDone

	// The samples of a phase are the requests started in it; the ones
	// still in flight at a phase's end finish (and count) there.
	byPhase := make([][]sample, len(phases))
	for _, s := range h.load.samples {
		byPhase[s.phase] = append(byPhase[s.phase], s)
	}
	var all []string
	var rows []phaseResult
	for i, p := range phases {
		r := summarize(p.name, windows[i].from, windows[i].to.Sub(windows[i].from), p.rotates, byPhase[i], windows[i].calls)
		rows = append(rows, r)
		fmt.Printf("## Phase %d: %s\n\n%s", i+1, p.name, tableHeader)
		writeRow(os.Stdout, r)
		fmt.Println()
		writeCauses(os.Stdout, r)
		for _, f := range r.failures {
			fmt.Printf("**FAIL**: %s\n\n", f)
			all = append(all, p.name+": "+f)
		}
		if p.rotates {
			for _, f := range rotationFailures(os.Stdout, h.load.rotations, h.start) {
				all = append(all, p.name+": "+f)
			}
			fmt.Println()
		}
	}
	fmt.Printf("## All phases\n\n%s", tableHeader)
	for _, r := range rows {
		writeRow(os.Stdout, r)
	}
	if h.load.dropped > 0 {
		all = append(all, fmt.Sprintf("%d ticks dropped: more than %d requests in flight", h.load.dropped, maxInFlight))
	}
	fmt.Println()
	if len(all) > 0 {
		fmt.Printf("**RESULT: FAIL** (%d)\n\n- %s\n", len(all), strings.Join(all, "\n- "))
		fmt.Fprintf(os.Stderr, "logs: rerun with -keep to keep %s\n", dir)
		return false, nil
	}
	fmt.Println("**RESULT: PASS**")
	return true, nil
}
