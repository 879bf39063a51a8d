package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestSummarizeChecks(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	ok := sample{start: t0, end: t0.Add(time.Millisecond), latency: time.Millisecond, signed: true, valid: true}
	invalid := sample{start: t0, end: t0.Add(time.Millisecond), signed: true}
	unsigned := sample{start: t0, end: t0.Add(3 * time.Second)}
	failed := sample{start: t0, end: t0, failed: "HTTP 503"}
	tests := []struct {
		name    string
		rotates bool
		samples []sample
		calls   int64
		want    []string // substrings of the failures, in order; none for a pass
	}{
		{name: "all valid", samples: []sample{ok, ok}, calls: 2},
		{name: "fail-open is not a failure", samples: []sample{ok, unsigned}},
		{name: "failed request", samples: []sample{ok, failed}, want: []string{"1 requests failed: HTTP 503"}},
		{name: "invalid without rotation", samples: []sample{invalid}, want: []string{"signed-but-invalid"}},
		{name: "invalid during rotation", rotates: true, samples: []sample{invalid}},
		{name: "too many calls", samples: []sample{ok}, calls: 31, want: []string{"31 WeChat calls, bound 30"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := summarize("p", t0, 10*time.Second, tt.rotates, tt.samples, tt.calls)
			if len(r.failures) != len(tt.want) {
				t.Fatalf("failures %q, want %q", r.failures, tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(r.failures[i], w) {
					t.Errorf("failure %d = %q, want %q", i, r.failures[i], w)
				}
			}
		})
	}
}

func TestRotationFailures(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	tests := []struct {
		name string
		rot  rotation
		want string // a substring of the failure; "" for none
	}{
		{name: "nothing invalid", rot: rotation{at: t0}},
		{name: "healed in time", rot: rotation{at: t0, invalid: 3, firstRetry: t0.Add(time.Millisecond), lastInvalid: t0.Add(2 * time.Second)}},
		{name: "healed late", rot: rotation{at: t0, invalid: 3, firstRetry: t0, lastInvalid: t0.Add(2*time.Second + time.Millisecond)}, want: "past the first retry"},
		{name: "never retried", rot: rotation{at: t0, invalid: 1}, want: "no retry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fails := rotationFailures(io.Discard, []*rotation{&tt.rot}, t0)
			switch {
			case tt.want == "" && len(fails) > 0:
				t.Errorf("unexpected failures %q", fails)
			case tt.want != "" && (len(fails) != 1 || !strings.Contains(fails[0], tt.want)):
				t.Errorf("failures %q, want one with %q", fails, tt.want)
			}
		})
	}
}

func TestConfigBlock(t *testing.T) {
	tests := []struct {
		page, want string
		ok         bool
	}{
		{`<head>` + scriptOpen + `{"url":"http://a/"}</script><script>boot</script></head>`, `{"url":"http://a/"}`, true},
		{`<head></head>`, "", false},
		{`<head>` + scriptOpen + `{"url":`, "", false},
	}
	for _, tt := range tests {
		got, ok := configBlock([]byte(tt.page))
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("configBlock(%q) = %q, %v; want %q, %v", tt.page, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTokenTTLScales(t *testing.T) {
	for _, tt := range []struct {
		scale float64
		want  time.Duration
	}{{1, 24 * time.Second}, {1.0 / 3, 24 * time.Second}, {2, 48 * time.Second}} {
		if got := tokenTTLFor(tt.scale); got != tt.want {
			t.Errorf("tokenTTLFor(%v) = %v, want %v", tt.scale, got, tt.want)
		}
	}
}
