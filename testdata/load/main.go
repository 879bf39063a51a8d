// Command load is the wire-speed harness for wechat_jssdk (issue #3). In one
// run, on loopback only, it
//
//   - builds Caddy with the plugin from this checkout (./testdata/caddy),
//     and installs wrk and nginx with apt-get when they are missing;
//   - measures with wrk, interleaved over several rounds: Caddy file_server
//     serving a 16 KiB page (the baseline), the same with wechat_jssdk (warm
//     ticket from the sandbox), reverse_proxy to an upstream Caddy with and
//     without wechat_jssdk, and nginx alone and with sub_filter inserting a
//     fixed block of the same size (the lower bound on injection cost);
//   - measures peak RSS while 32 clients fetch a 10 MiB page at once, through
//     wechat_jssdk and through file_server alone;
//   - cold-starts a fresh Caddy whose sandbox answers after a delay and sends
//     1,000 concurrent first requests, then reads the sandbox's call counts;
//   - runs the Go benchmarks behind the remaining targets;
//
// and prints a markdown table (also written to testdata/load/results/).
//
//	go run ./testdata/load          # full: about 5 minutes on 2 cores
//	go run ./testdata/load -quick   # smoke: one short round, no Go benchmarks
//
// It exits 1 when something does not work (a failed request, a page without
// its block, more than one token call); with -strict also when a
// performance target is missed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// options are the harness's knobs; -quick changes the defaults of those
// the user did not set.
type options struct {
	quick       bool
	rounds      int
	duration    time.Duration
	warmup      time.Duration
	conns       int
	threads     int
	coldN       int
	latency     time.Duration
	memFetches  int
	benches     bool
	benchTime   string
	benchRounds int
	strict      bool
	keep        bool
	out         string
	caddy       string
	only        string
	setups      string
}

func parseFlags() options {
	var o options
	flag.BoolVar(&o.quick, "quick", false, "smoke run: 1 round of 2 s per setup, no Go benchmarks (a few tens of seconds)")
	flag.IntVar(&o.rounds, "rounds", 5, "interleaved rounds of wrk runs; medians are reported")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of one wrk run")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "wrk warm-up per setup before the first round")
	flag.IntVar(&o.conns, "conns", 64, "wrk connections")
	flag.IntVar(&o.threads, "threads", 1, "wrk threads (the server gets the rest of the machine)")
	flag.IntVar(&o.coldN, "cold", 1000, "concurrent first requests in the cold-start test")
	flag.DurationVar(&o.latency, "latency", 200*time.Millisecond, "sandbox latency per WeChat call in the cold-start test")
	flag.IntVar(&o.memFetches, "mem", 32, "concurrent 10 MiB fetches in the memory test")
	flag.BoolVar(&o.benches, "bench", true, "run the Go benchmarks (off by default with -quick)")
	flag.StringVar(&o.benchTime, "benchtime", "1s", "go test -benchtime")
	flag.IntVar(&o.benchRounds, "benchrounds", 3, "rounds of the Go benchmarks, each go test -count=1 (medians, ratios within a round)")
	flag.BoolVar(&o.strict, "strict", false, "exit 1 when a performance target is missed, too")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (configs, logs) after the run")
	flag.StringVar(&o.out, "out", "", "directory for the result file (default testdata/load/results)")
	flag.StringVar(&o.only, "only", "", "comma-separated parts to run: throughput, memory, cold, bench (default all)")
	flag.StringVar(&o.setups, "setups", "", "comma-separated throughput setups to measure (default all): "+strings.Join(setupKeys, ", "))
	flag.StringVar(&o.caddy, "caddy", "", "measure this Caddy binary (built with the plugin) instead of building one from the checkout")
	flag.Parse()

	if o.quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		defaults := map[string]func(){
			"rounds":      func() { o.rounds = 1 },
			"duration":    func() { o.duration = 2 * time.Second },
			"warmup":      func() { o.warmup = 300 * time.Millisecond },
			"bench":       func() { o.benches = false },
			"benchtime":   func() { o.benchTime = "200ms" },
			"benchrounds": func() { o.benchRounds = 1 },
		}
		for name, apply := range defaults {
			if !set[name] {
				apply()
			}
		}
	}
	return o
}

func main() {
	o := parseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, o)
	stop()
	os.Exit(code)
}

// run does the whole measurement and returns the exit code. Every process
// it starts is stopped before it returns, whatever happened.
func run(ctx context.Context, o options) int {
	defer stopAll()
	root, err := repoRoot()
	if err != nil {
		return fail(err)
	}
	if runtime.GOOS != "linux" {
		return fail(fmt.Errorf("the harness reads /proc and needs Linux"))
	}
	tools, err := ensureTools(ctx)
	if err != nil {
		return fail(err)
	}
	env, err := newEnv(ctx, root, tools, o)
	if err != nil {
		return fail(err)
	}
	defer env.cleanup(o.keep)

	rep := &report{opts: o, started: time.Now(), env: env}
	rep.versions = versions(ctx, env)
	rep.load[0] = loadAvg()

	parts := map[string]bool{}
	for _, p := range strings.Split(o.only, ",") {
		if p = strings.TrimSpace(p); p != "" {
			parts[p] = true
		}
	}
	step := func(part, title string, f func() error) {
		if ctx.Err() != nil || len(parts) > 0 && !parts[part] {
			return
		}
		logf("== %s", title)
		if err := f(); err != nil {
			rep.problems = append(rep.problems, fmt.Sprintf("%s: %v", title, err))
			logf("%s: %v", title, err)
		}
	}
	step("throughput", "throughput", func() (err error) { rep.throughput, err = measureThroughput(ctx, env, o); return })
	step("memory", "memory", func() (err error) { rep.memory, err = measureMemory(ctx, env, o); return })
	step("cold", "cold start", func() (err error) { rep.cold, err = measureColdStart(ctx, env, o); return })
	if o.benches {
		step("bench", "Go benchmarks", func() (err error) { rep.benches, err = runGoBenchmarks(ctx, env, o); return })
	}
	if ctx.Err() != nil {
		rep.problems = append(rep.problems, "interrupted")
	}

	rep.load[1] = loadAvg()
	text := rep.markdown()
	fmt.Print(text)
	if path, err := rep.save(root); err != nil {
		logf("saving the report: %v", err)
	} else {
		logf("report written to %s", path)
	}
	switch {
	case len(rep.problems) > 0:
		if !o.keep && ctx.Err() == nil {
			logf("work directory (configs, logs) kept for inspection: %s", env.dir)
			env.keepDir = true
		}
		return 1
	case o.strict && rep.missed() > 0:
		return 1
	}
	return 0
}

func fail(err error) int {
	logf("error: %v", err)
	return 1
}

// logf reports progress on stderr, so stdout carries only the report.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", args...)
}

// repoRoot finds this module's root from the working directory, so the
// harness runs from anywhere inside the checkout.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && containsModule(b, "github.com/caddy-wechat/jssdk") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run the harness inside the caddy-wechat-jssdk checkout")
		}
		dir = parent
	}
}

func containsModule(gomod []byte, path string) bool {
	for _, line := range splitLines(string(gomod)) {
		if line == "module "+path {
			return true
		}
	}
	return false
}
