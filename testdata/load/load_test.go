package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// These cover the harness's own arithmetic and parsing; `go test ./...`
// skips testdata, so run them with `go test ./testdata/load`.

const wrkOutput = `Running 5s test @ http://127.0.0.1:40001/page.html
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.10ms    2.01ms  48.30ms   91.00%
    Req/Sec    12.60k     1.10k   14.00k    80.00%
  Latency Distribution
     50%    4.81ms
     75%    5.60ms
     90%    6.90ms
     99%   12.40ms
  62710 requests in 5.00s, 1.01GB read
%s
Requests/sec:  12541.73
Transfer/sec:    206.20MB
`

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name, extra string
		wantErrors  string
	}{
		{"clean", "", ""},
		{"non-2xx", "  Non-2xx or 3xx responses: 17", "Non-2xx or 3xx responses: 17"},
		{"socket errors", "  Socket errors: connect 0, read 3, write 0, timeout 1", "Socket errors: connect 0, read 3, write 0, timeout 1"},
		{"timeouts only", "  Socket errors: connect 0, read 0, write 0, timeout 4", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseWrk(strings.Replace(wrkOutput, "%s", tt.extra, 1))
			if err != nil {
				t.Fatal(err)
			}
			if r.rps != 12541.73 || r.p50 != 4810*time.Microsecond || r.p99 != 12400*time.Microsecond || r.requests != 62710 {
				t.Errorf("parsed %+v", r)
			}
			if r.errors != tt.wantErrors {
				t.Errorf("errors %q, want %q", r.errors, tt.wantErrors)
			}
		})
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Error("output without results parsed without an error")
	}
}

func TestParseWrkDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"812.00us", 812 * time.Microsecond},
		{"1.23ms", 1230 * time.Microsecond},
		{"2.00s", 2 * time.Second},
		{"1.50m", 90 * time.Second},
	}
	for _, tt := range tests {
		if got, err := parseWrkDuration(tt.in); err != nil || got != tt.want {
			t.Errorf("parseWrkDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestPercentileAndMedian(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 1000; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		p    int
		want time.Duration
	}{{50, 500 * time.Millisecond}, {99, 990 * time.Millisecond}, {100, time.Second}, {0, time.Millisecond}}
	for _, tt := range tests {
		if got := percentile(lat, tt.p); got != tt.want {
			t.Errorf("p%d = %v, want %v", tt.p, got, tt.want)
		}
	}
	id := func(x float64) float64 { return x }
	for _, tt := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tt.in, id); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// Ratios are taken within a round, then the median over rounds.
func TestRatio(t *testing.T) {
	r := &throughputResult{runs: map[string][]wrkResult{
		keyCaddy: {{rps: 100}, {rps: 50}, {rps: 200}},
		keyJSSDK: {{rps: 90}, {rps: 50}, {rps: 100}},
	}}
	if got := r.ratio(keyJSSDK, keyCaddy, rps); got != 0.9 {
		t.Errorf("ratio = %v, want 0.9 (the median of 0.9, 1, 0.5)", got)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{thousands(0), "0"},
		{thousands(999.4), "999"},
		{thousands(12541.73), "12,542"},
		{thousands(1234567), "1,234,567"},
		{ms(float64(812 * time.Microsecond)), "0.81 ms"},
		{ms(float64(48300 * time.Microsecond)), "48.3 ms"},
		{ms(float64(662 * time.Millisecond)), "662 ms"},
		{us(float64(201400 * time.Nanosecond)), "201 µs"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestNginxLiteral(t *testing.T) {
	in := []byte(`<script>var a='x', b="$y\z";` + "\n</script>")
	got := nginxLiteral(in)
	if len(got) != len(in) || strings.ContainsAny(got, "'$\\\n\r") {
		t.Errorf("nginxLiteral = %q", got)
	}
}

func TestSplitBlock(t *testing.T) {
	for _, n := range []int{0, 1, 2047, 2048, 2049, 5000} {
		s := strings.Repeat("x", n)
		parts := splitBlock(s, nginxTokenMax)
		if strings.Join(parts, "") != s {
			t.Fatalf("%d bytes: pieces do not join back", n)
		}
		for _, p := range parts {
			if len(p) > nginxTokenMax {
				t.Fatalf("%d bytes: a piece of %d", n, len(p))
			}
		}
	}
}

func TestInjectedBlock(t *testing.T) {
	page := []byte("<html><head><title>t</title></head><body>x</body></html>")
	block := blockMarker + ` type="application/json">{}</script><script id="wechat-jssdk-boot">boot()</script>`
	at := bytes.Index(page, []byte("</head>"))
	good := string(page[:at]) + block + string(page[at:])
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"before </head>", good, true},
		{"untouched", string(page), false},
		{"at the end", string(page) + block, false},
		{"twice", string(page[:at]) + block + block + string(page[at:]), false},
		{"page changed", strings.Replace(good, "<title>t", "<title>T", 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := injectedBlock([]byte(tt.body), page)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && string(got) != block {
				t.Errorf("block %q", got)
			}
		})
	}
}

func TestPages(t *testing.T) {
	if len(page16K) != 16<<10 || bytes.Count(page16K, []byte("</head>")) != 1 {
		t.Errorf("page.html is %d bytes with %d </head>; want 16384 and 1", len(page16K), bytes.Count(page16K, []byte("</head>")))
	}
	big := bigPage(bigPageSize)
	if len(big) != bigPageSize || bytes.Index(big, []byte("</head>")) != bytes.Index(page16K, []byte("</head>")) ||
		!bytes.HasSuffix(big, []byte("</body></html>\n")) {
		t.Errorf("bigPage: %d bytes, </head> at %d", len(big), bytes.Index(big, []byte("</head>")))
	}
}

func TestTemplates(t *testing.T) {
	var b strings.Builder
	cfg := caddyConfig{AppID: appID, Root: "/srv", Sandbox: &sandboxSite{Port: 1, Latency: 200 * time.Millisecond},
		Sites: []caddySite{{Name: "a", Port: 2, JSSDK: true}, {Name: "b", Port: 3, Upstream: 4}}}
	if err := caddyfileTmpl.Execute(&b, cfg); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"latency    200ms", "http://127.0.0.1:2 {", "api_base   http://127.0.0.1:1",
		"reverse_proxy 127.0.0.1:4", "default_bind 127.0.0.1", "admin off"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Caddyfile lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := nginxConfTmpl.Execute(&b, nginxConfig{Dir: "/d", Root: "/srv", Workers: 2, Plain: 5, Sub: 6, BlockParts: []string{"<script>", "x</script>"}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"listen 127.0.0.1:5;", "listen 127.0.0.1:6;", "set $wx0 '<script>';", "set $wx1 'x</script>';", "sub_filter '</head>' '$wx0$wx1</head>';"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("nginx.conf lacks %q:\n%s", want, b.String())
		}
	}
}

func TestParseBench(t *testing.T) {
	out := `goos: linux
BenchmarkServeHTTP/inject-2         	  289850	      6678 ns/op	2453.46 MB/s	     180 B/op	       8 allocs/op
BenchmarkBareSHA1-2        	 4878603	       248.6 ns/op	       0 B/op	       0 allocs/op
BenchmarkCopy/1MiB         	   39573	     30926 ns/op
PASS
`
	got := parseBench(out)
	want := map[string]benchStat{
		"BenchmarkServeHTTP/inject": {6678, 180, 8},
		"BenchmarkBareSHA1":         {248.6, 0, 0},
		"BenchmarkCopy/1MiB":        {30926, 0, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("parsed %v", got)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s = %+v, want %+v", name, got[name], w)
		}
	}
	runs := benchRuns{"a": {{ns: 300}, {ns: 900}, {ns: 100}}, "b": {{ns: 100}, {ns: 300}, {ns: 100}}}
	if r := runs.ratio("a", "b"); r != 3 {
		t.Errorf("ratio = %v, want 3 (the median of 3, 3, 1)", r)
	}
}

func TestSelectSetups(t *testing.T) {
	var all []setup
	for _, k := range setupKeys {
		all = append(all, setup{key: k})
	}
	keys := func(ss []setup) (ks []string) {
		for _, s := range ss {
			ks = append(ks, s.key)
		}
		return ks
	}
	if got, err := selectSetups(all, ""); err != nil || len(got) != len(all) {
		t.Errorf("no selection: %v, %v; want all", keys(got), err)
	}
	if got, err := selectSetups(all, " proxy+jssdk, proxy"); err != nil || strings.Join(keys(got), ",") != "proxy,proxy+jssdk" {
		t.Errorf("proxy pair: %v, %v; want proxy,proxy+jssdk in measuring order", keys(got), err)
	}
	if _, err := selectSetups(all, "proxy,bogus"); err == nil {
		t.Error("an unknown setup is accepted")
	}
}
