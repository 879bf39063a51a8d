package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report gathers every measurement and prints them as markdown, in a
// format the README pastes as it is.
type report struct {
	opts       options
	started    time.Time
	env        *env
	versions   string
	load       [2]string // /proc/loadavg at the start and at the end
	throughput *throughputResult
	memory     *memoryResult
	cold       *coldResult
	benches    benchRuns
	problems   []string
}

// target is one line of the targets table; met is nil for a figure shown
// for information only.
type target struct {
	what, measured, goal string
	met                  *bool
}

func median[T any](xs []T, f func(T) float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// ratio is the median over rounds of setup's figure divided by other's in
// the same round: rounds differ more from each other than neighbours in a
// round do on a shared machine.
func (t *throughputResult) ratio(setup, other string, f func(wrkResult) float64) float64 {
	a, b := t.runs[setup], t.runs[other]
	var rs []float64
	for i := range min(len(a), len(b)) {
		rs = append(rs, f(a[i])/f(b[i]))
	}
	return median(rs, func(x float64) float64 { return x })
}

func rps(r wrkResult) float64 { return r.rps }
func p50(r wrkResult) float64 { return float64(r.p50) }
func p99(r wrkResult) float64 { return float64(r.p99) }
func cpu(r wrkResult) float64 { return float64(r.cpuPerRequest()) }

func (rep *report) markdown() string {
	var b strings.Builder
	o := rep.opts
	mode := "full"
	if o.quick {
		mode = "quick (smoke: indicative only)"
	}
	fmt.Fprintf(&b, "\n### Load test: %s, nproc %d\n\n", rep.started.UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU())
	fmt.Fprintf(&b, "%s. Mode %s: %d interleaved round(s) of %s per setup, medians; `wrk -t%d -c%d --latency`; %d-byte page",
		rep.versions, mode, o.rounds, o.duration, o.threads, o.conns, len(page16K))
	if t := rep.throughput; t != nil {
		fmt.Fprintf(&b, ", %d-byte block", t.blockLen)
	}
	fmt.Fprintf(&b, ". Load average %s at the start, %s at the end.\n\n", rep.load[0], rep.load[1])

	if t := rep.throughput; t != nil && len(t.runs) > 0 {
		b.WriteString("| setup | req/s | p50 | p99 | server CPU/req | req/s ÷ baseline | p99 ÷ baseline | CPU/req ÷ baseline | req/s ÷ same without injection |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, s := range t.setups {
			runs := t.runs[s.key]
			if len(runs) == 0 {
				continue
			}
			pair := ""
			if s.pair != "" {
				pair = fmt.Sprintf("%.2f", t.ratio(s.key, s.pair, rps))
			}
			toBase := func(f func(wrkResult) float64) string {
				if len(t.runs[keyCaddy]) == 0 {
					return "—" // the baseline was not measured (-setups)
				}
				return fmt.Sprintf("%.2f", t.ratio(s.key, keyCaddy, f))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.label,
				thousands(median(runs, rps)), ms(median(runs, p50)), ms(median(runs, p99)), us(median(runs, cpu)),
				toBase(rps), toBase(p99), toBase(cpu), pair)
		}
		b.WriteString("\n")
	}

	if t := rep.throughput; t != nil && t.timeouts > 0 {
		fmt.Fprintf(&b, "wrk gave up on %d requests after 5 s; its latency figures leave them out.\n\n", t.timeouts)
	}
	targets := rep.targets()
	b.WriteString("| target | measured | goal | |\n|---|---|---|---|\n")
	for _, t := range targets {
		verdict := "info"
		if t.measured == "not measured" {
			verdict = "—"
		}
		if t.met != nil {
			verdict = map[bool]string{true: "met", false: "**missed**"}[*t.met]
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.what, t.measured, t.goal, verdict)
	}

	if len(rep.benches) > 0 {
		fmt.Fprintf(&b, "\nGo benchmarks (`-benchmem -benchtime=%s`, median of %d rounds; ratios are taken within a round):\n\n", o.benchTime, o.benchRounds)
		b.WriteString("| benchmark | ns/op | B/op | allocs/op |\n|---|---:|---:|---:|\n")
		names := make([]string, 0, len(rep.benches))
		for name := range rep.benches {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			s := rep.benches.median(name)
			fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f |\n", strings.TrimPrefix(name, "Benchmark"), thousands(s.ns), s.bytes, s.allocs)
		}
	}
	if len(rep.problems) > 0 {
		b.WriteString("\nProblems:\n\n")
		for _, p := range rep.problems {
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(p, "\n", "\n  "))
		}
	}
	return b.String()
}

// targets are issue #3's targets, each with what this run measured.
func (rep *report) targets() []target {
	var ts []target
	check := func(what, measured, goal string, ok bool) {
		ts = append(ts, target{what, measured, goal, &ok})
	}
	info := func(what, measured string) { ts = append(ts, target{what: what, measured: measured, goal: "—"}) }
	missing := func(what, goal string) { ts = append(ts, target{what: what, measured: "not measured", goal: goal}) }

	if t := rep.throughput; t != nil && len(t.runs[keyJSSDK]) > 0 && len(t.runs[keyNginxSub]) > 0 {
		r := t.ratio(keyJSSDK, keyCaddy, rps)
		check("req/s, file_server + wechat_jssdk ÷ file_server (16 KiB, 64 conns)", fmt.Sprintf("%.2f", r), "≥ 0.90", r >= 0.90)
		p := t.ratio(keyJSSDK, keyCaddy, p99)
		check("p99, file_server + wechat_jssdk ÷ file_server", fmt.Sprintf("%.2f", p), "≤ 1.20", p <= 1.20)
		n := t.ratio(keyNginxSub, keyNginx, rps)
		check("relative req/s: ours (jssdk ÷ file_server) vs nginx (sub_filter ÷ static)",
			fmt.Sprintf("%.2f vs %.2f", r, n), "ours ≥ nginx's", r >= n)
		info("server CPU per request, file_server + wechat_jssdk ÷ file_server (robust to a busy machine)",
			fmt.Sprintf("%.2f (+%s/req)", t.ratio(keyJSSDK, keyCaddy, cpu),
				us(median(t.runs[keyJSSDK], cpu)-median(t.runs[keyCaddy], cpu))))
		info("server CPU per request, nginx sub_filter ÷ nginx static", fmt.Sprintf("%.2f", t.ratio(keyNginxSub, keyNginx, cpu)))
	} else if t == nil || len(t.runs[keyProxyJSSDK]) == 0 {
		missing("throughput and p99 against file_server and nginx", "≥ 0.90, ≤ 1.20, ahead of nginx")
	}
	if t := rep.throughput; t != nil && len(t.runs[keyProxyJSSDK]) > 0 && len(t.runs[keyProxy]) > 0 {
		r := t.ratio(keyProxyJSSDK, keyProxy, rps)
		check("req/s behind reverse_proxy, with ÷ without wechat_jssdk", fmt.Sprintf("%.2f", r), "≥ 0.95", r >= 0.95)
		info("server CPU per request behind reverse_proxy, with ÷ without wechat_jssdk (robust to a busy machine)",
			fmt.Sprintf("%.2f (+%s/req)", t.ratio(keyProxyJSSDK, keyProxy, cpu),
				us(median(t.runs[keyProxyJSSDK], cpu)-median(t.runs[keyProxy], cpu))))
	}

	if m := rep.memory; m != nil && m.ours.peak > 0 {
		per := m.perResponse()
		check(fmt.Sprintf("peak RSS per concurrent 10 MiB response, wechat_jssdk − file_server (%d at once)", m.fetches),
			fmt.Sprintf("%.2f MiB (rise %s vs %s; %d and %d in flight)", per/(1<<20), mib(m.ours.rise()), mib(m.plain.rise()),
				m.ours.maxInFlight, m.plain.maxInFlight), "< 1 MiB", per < 1<<20)
	} else {
		missing("peak RSS per concurrent 10 MiB response", "< 1 MiB")
	}

	if c := rep.cold; c != nil && c.cold.n > 0 {
		check(fmt.Sprintf("cold start, %d concurrent first pages: token / ticket calls", c.cold.n),
			fmt.Sprintf("%d / %d", c.tokenCalls, c.ticketCalls), "1 / 1", c.tokenCalls == 1 && c.ticketCalls == 1)
		check("cold start: pages answered with the block", fmt.Sprintf("%d / %d", c.cold.injected, c.cold.n),
			"all", c.cold.injected == c.cold.n)
		check(fmt.Sprintf("cold start p99 (sandbox latency %s per call; warm burst p99 %s)", c.latency, ms(float64(c.warm.p99))),
			fmt.Sprintf("%s (p50 %s, max %s)", ms(float64(c.cold.p99)), ms(float64(c.cold.p50)), ms(float64(c.cold.max))),
			fmt.Sprintf("≤ %s (token + ticket + 50 ms)", ms(float64(c.limit()))), c.cold.p99 <= c.limit())
		wait := c.cold.p99 - c.warm.p99
		check("cold start p99 − warm burst p99: what waiting for WeChat adds to the burst's own cost",
			fmt.Sprintf("%s (answers %s–%s after the burst began)", ms(float64(wait)), ms(float64(c.cold.first)), ms(float64(c.cold.last))),
			fmt.Sprintf("≤ %s", ms(float64(c.limit()))), wait <= c.limit())
	} else {
		missing("cold start", "1 token and 1 ticket call, all answered, p99 ≤ round trip + 50 ms")
	}

	if bs := rep.benches; len(bs) > 0 {
		sig, blk := bs.median(benchSig), bs.median(benchSigBlock)
		rs, rb := bs.ratio(benchSig, benchSHA1), bs.ratio(benchSigBlock, benchSHA1)
		check("signature path (nonce + sha1 + hex) ÷ bare sha1; allocs", fmt.Sprintf("%.2f; %.0f", rs, sig.allocs), "≤ 2; ≤ 3",
			rs <= 2 && sig.allocs <= 3)
		check("whole signature path (nonce + sha1 + wx.config JSON) ÷ bare sha1; allocs", fmt.Sprintf("%.2f; %.0f", rb, blk.allocs), "≤ 2; ≤ 3",
			rb <= 2 && blk.allocs <= 3)
		for _, name := range []string{benchInjectHead, benchInjectBody} {
			r := bs.ratio(name, benchCopy)
			what := "injector ÷ io.Copy, 1 MiB page, head mode (stops scanning at </head>)"
			if name == benchInjectBody {
				what = "injector ÷ io.Copy, 1 MiB page, body mode (scans the whole page)"
			}
			check(what, fmt.Sprintf("%.2f", r), "≤ 1.20", r <= 1.20)
		}
		next, inj := bs.median(benchServeNext), bs.median(benchServeInject)
		info("ServeHTTP, 16 KiB page, warm ticket: inject vs next only (ns/op, B/op, allocs/op)",
			fmt.Sprintf("%s / %.0f / %.0f vs %s / %.0f / %.0f", thousands(inj.ns), inj.bytes, inj.allocs,
				thousands(next.ns), next.bytes, next.allocs))
	} else if rep.opts.benches {
		missing("Go benchmarks (signature path, injector)", "≤ 2× sha1, ≤ 3 allocs, ≤ 1.2× io.Copy")
	}
	return ts
}

// missed counts the targets this run missed.
func (rep *report) missed() int {
	n := 0
	for _, t := range rep.targets() {
		if t.met != nil && !*t.met {
			n++
		}
	}
	return n
}

// save writes the report under testdata/load/results (or -out), which git
// ignores.
func (rep *report) save(root string) (string, error) {
	dir := rep.opts.out
	if dir == "" {
		dir = filepath.Join(root, "testdata", "load", "results")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := rep.started.UTC().Format("20060102-150405")
	if rep.opts.quick {
		name += "-quick"
	}
	path := filepath.Join(dir, name+".md")
	return path, os.WriteFile(path, []byte(rep.markdown()), 0o644)
}

// loadAvg is the 1, 5 and 15 minute load averages: how busy the shared
// machine was, which the reader needs to weigh the numbers.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// ms formats nanoseconds as milliseconds.
func ms(ns float64) string {
	switch v := ns / 1e6; {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.2f ms", v)
	}
}

// us formats nanoseconds as microseconds.
func us(ns float64) string { return fmt.Sprintf("%.0f µs", ns/1e3) }

// thousands formats v rounded, with thin separators: 23,456.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
