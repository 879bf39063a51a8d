package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// healLimit is how long after the first self-healing retry invalid pages
// may still be served.
const healLimit = 2 * time.Second

// callBound is the most WeChat calls (token, stable_token, getticket,
// faulted ones included) a phase may make: 10, plus 2 per second of the
// phase — each of the two instances calling at most once a second, which
// is already 25 times fewer calls than pages at 50 pages/s.
func callBound(d time.Duration) int64 { return 10 + int64(2*d.Seconds()) }

// phaseResult is one row of the report.
type phaseResult struct {
	name                                   string
	length                                 time.Duration
	requests, served, valid, unsigned, bad int
	failovers, retries, healed             int
	calls                                  int64
	p50, p99                               time.Duration
	// unsignedUntil is when, from the phase's start, the last page
	// without a config was served: how long the fail-open lasted.
	unsignedUntil time.Duration
	// failoverWhy counts the transport errors that caused failovers.
	failoverWhy map[string]int
	// invalidWhy counts the sandbox's reasons for rejecting signatures.
	invalidWhy map[string]int
	failures   []string
}

// summarize computes a phase's row and its failures.
func summarize(name string, from time.Time, length time.Duration, rotates bool, samples []sample, calls int64) phaseResult {
	r := phaseResult{name: name, length: length, requests: len(samples), calls: calls}
	lat := make([]time.Duration, 0, len(samples))
	failed := map[string]int{}
	for _, s := range samples {
		lat = append(lat, s.latency)
		if s.failed != "" {
			failed[s.failed]++
			continue
		}
		r.served++
		if s.failover != "" {
			r.failovers++
			if r.failoverWhy == nil {
				r.failoverWhy = map[string]int{}
			}
			r.failoverWhy[failoverCause(s.failover)]++
		}
		switch {
		case !s.signed:
			r.unsigned++
			r.unsignedUntil = max(r.unsignedUntil, s.end.Sub(from))
		case s.valid:
			r.valid++
		default:
			r.bad++
			if r.invalidWhy == nil {
				r.invalidWhy = map[string]int{}
			}
			r.invalidWhy[s.why]++
		}
		if s.retried {
			r.retries++
			if s.healed {
				r.healed++
			}
		}
	}
	slices.Sort(lat)
	r.p50, r.p99 = quantile(lat, 0.50), quantile(lat, 0.99)
	for why, n := range failed {
		r.failures = append(r.failures, fmt.Sprintf("%d requests failed: %s", n, why))
	}
	if r.bad > 0 && !rotates {
		r.failures = append(r.failures, fmt.Sprintf("%d signed-but-invalid pages in a phase without unannounced rotation", r.bad))
	}
	if b := callBound(length); r.calls > b {
		r.failures = append(r.failures, fmt.Sprintf("%d WeChat calls, bound %d", r.calls, b))
	}
	slices.Sort(r.failures)
	return r
}

// quantile returns the q-quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// pct formats n of total as a percentage.
func pct(n, total int) string {
	if total == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", 100*float64(n)/float64(total))
}

// tableHeader is the markdown header of the phase table.
const tableHeader = "| phase | length | requests | served | signed+valid | unsigned (fail-open) | last unsigned at | signed-but-invalid | retries (healed) | failovers | WeChat calls (bound) | p50 | p99 |\n" +
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"

// writeRow writes r as a table row.
func writeRow(w io.Writer, r phaseResult) {
	last := "–"
	if r.unsigned > 0 {
		last = "+" + r.unsignedUntil.Round(100*time.Millisecond).String()
	}
	fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %d | %d (%d) | %d | %d (≤ %d) | %s | %s |\n",
		r.name, r.length.Round(100*time.Millisecond), r.requests, pct(r.served, r.requests),
		pct(r.valid, r.requests), pct(r.unsigned, r.requests), last, r.bad, r.retries, r.healed,
		r.failovers, r.calls, callBound(r.length), ms(r.p50), ms(r.p99))
}

// ms formats d in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// rotationFailures checks that pages healed within healLimit of the first
// retry after each rotation, and describes each rotation.
func rotationFailures(w io.Writer, rots []*rotation, start time.Time) []string {
	var fails []string
	for i, r := range rots {
		switch {
		case r.invalid == 0:
			fmt.Fprintf(w, "- rotation %d at +%s: no invalid page served\n", i+1, r.at.Sub(start).Round(time.Millisecond))
		case r.firstRetry.IsZero():
			fails = append(fails, fmt.Sprintf("rotation %d: %d invalid pages and no retry", i+1, r.invalid))
		default:
			heal := r.lastInvalid.Sub(r.firstRetry)
			fmt.Fprintf(w, "- rotation %d at +%s: %d invalid pages; first retry +%s after it; last invalid page %s after the first retry\n",
				i+1, r.at.Sub(start).Round(time.Millisecond), r.invalid,
				r.firstRetry.Sub(r.at).Round(time.Millisecond), heal.Round(time.Millisecond))
			if heal > healLimit {
				fails = append(fails, fmt.Sprintf("rotation %d: invalid pages went on %s past the first retry (limit %s)",
					i+1, heal.Round(time.Millisecond), healLimit))
			}
		}
	}
	return fails
}

// failoverCause shortens a transport error to its cause, without the
// per-request URL, so that equal causes count together.
func failoverCause(err string) string {
	if i := strings.LastIndex(err, ": "); i >= 0 {
		return err[i+2:]
	}
	return err
}

// writeCauses lists the causes of r's failovers and invalid pages.
func writeCauses(w io.Writer, r phaseResult) {
	for _, m := range []struct {
		what   string
		counts map[string]int
	}{{"failover", r.failoverWhy}, {"signature rejected", r.invalidWhy}} {
		causes := make([]string, 0, len(m.counts))
		for c := range m.counts {
			causes = append(causes, c)
		}
		slices.Sort(causes)
		for _, c := range causes {
			fmt.Fprintf(w, "- %s: %d × %s\n", m.what, m.counts[c], c)
		}
	}
}
