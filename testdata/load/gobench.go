package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// benchStat is the median of a Go benchmark's runs.
type benchStat struct {
	ns, bytes, allocs float64
}

// goBenches are the benchmarks behind the targets that a wire-speed run
// cannot isolate, by package.
var goBenches = []struct{ pkg, pattern string }{
	{"./caddymodule/sign", "^Benchmark(SignaturePath|BareSHA1)$"},
	{"./caddymodule/jssdk", "^Benchmark(SignatureBlock|AppendBlock|ServeHTTP)$"},
	{"./caddymodule/inject", "^BenchmarkCopy$/^1MiB$"},
	{"./caddymodule/inject", "^BenchmarkInject$/^(head|body)$/^1MiB$"},
}

var benchLineRE = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(.*)$`)

// benchRuns holds every run of every benchmark, by name (without the
// -GOMAXPROCS suffix), one per round.
type benchRuns map[string][]benchStat

// median is the median of each figure over the rounds.
func (r benchRuns) median(name string) benchStat {
	rs := r[name]
	return benchStat{
		ns:     median(rs, func(s benchStat) float64 { return s.ns }),
		bytes:  median(rs, func(s benchStat) float64 { return s.bytes }),
		allocs: median(rs, func(s benchStat) float64 { return s.allocs }),
	}
}

// ratio is the median over rounds of a's ns/op over b's in the same round:
// on a shared machine neighbours in time are more alike than rounds.
func (r benchRuns) ratio(a, b string) float64 {
	as, bs := r[a], r[b]
	var rs []float64
	for i := range min(len(as), len(bs)) {
		rs = append(rs, as[i].ns/bs[i].ns)
	}
	return median(rs, func(x float64) float64 { return x })
}

// runGoBenchmarks runs goBenches with -benchmem, o.benchRounds rounds of
// -count=1 each, so that the benchmarks a target compares ran close in
// time in every round.
func runGoBenchmarks(ctx context.Context, e *env, o options) (benchRuns, error) {
	runs := benchRuns{}
	for round := range o.benchRounds {
		for _, b := range goBenches {
			cmd := exec.CommandContext(ctx, "go", "test", "-run=^$", "-bench="+b.pattern, "-benchmem",
				"-benchtime="+o.benchTime, "-count=1", b.pkg)
			cmd.Dir = e.root
			out, err := cmd.CombinedOutput()
			if err != nil {
				return nil, fmt.Errorf("go test -bench %s: %v\n%s", b.pkg, err, lastLines(out, 20))
			}
			for name, s := range parseBench(string(out)) {
				runs[name] = append(runs[name], s)
			}
		}
		logf("go benchmarks: round %d/%d done", round+1, o.benchRounds)
	}
	for _, want := range []string{benchSig, benchSHA1, benchSigBlock, benchServeInject, benchServeNext,
		benchCopy, benchInjectHead, benchInjectBody} {
		if len(runs[want]) != o.benchRounds {
			return runs, fmt.Errorf("benchmark %s ran %d times, want %d", want, len(runs[want]), o.benchRounds)
		}
	}
	return runs, nil
}

// parseBench reads go test -bench -benchmem output.
func parseBench(out string) map[string]benchStat {
	stats := map[string]benchStat{}
	for _, line := range splitLines(out) {
		m := benchLineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var s benchStat
		s.ns, _ = strconv.ParseFloat(m[2], 64)
		f := strings.Fields(m[3])
		for i := 1; i < len(f); i++ {
			switch f[i] {
			case "B/op":
				s.bytes, _ = strconv.ParseFloat(f[i-1], 64)
			case "allocs/op":
				s.allocs, _ = strconv.ParseFloat(f[i-1], 64)
			}
		}
		stats[m[1]] = s
	}
	return stats
}

// Benchmark names the targets read.
const (
	benchSig          = "BenchmarkSignaturePath"
	benchSHA1         = "BenchmarkBareSHA1"
	benchSigBlock     = "BenchmarkSignatureBlock"
	benchServeNext    = "BenchmarkServeHTTP/next-only"
	benchServePass    = "BenchmarkServeHTTP/pass-through"
	benchServeInject  = "BenchmarkServeHTTP/inject"
	benchServeInjectP = "BenchmarkServeHTTP/inject-parallel"
	benchCopy         = "BenchmarkCopy/1MiB"
	benchInjectHead   = "BenchmarkInject/head/1MiB"
	benchInjectBody   = "BenchmarkInject/body/1MiB"
)
