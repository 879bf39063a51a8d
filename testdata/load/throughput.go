package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// setup is one server configuration under wrk.
type setup struct {
	key   string
	label string
	port  int
	// pair is the key of the same setup without injection, for the
	// setups that inject.
	pair string
	// check verifies one response body before the setup is measured.
	check func(body []byte) error
}

// Setup keys; the baseline is the first.
const (
	keyCaddy      = "caddy"
	keyJSSDK      = "caddy+jssdk"
	keyProxy      = "proxy"
	keyProxyJSSDK = "proxy+jssdk"
	keyNginx      = "nginx"
	keyNginxSub   = "nginx+sub_filter"
)

// setupKeys are the setups' keys in the order they are measured, for -setups.
var setupKeys = []string{keyCaddy, keyJSSDK, keyProxy, keyProxyJSSDK, keyNginx, keyNginxSub}

// selectSetups keeps the setups -setups names (all when it is empty).
func selectSetups(all []setup, names string) ([]setup, error) {
	if strings.TrimSpace(names) == "" {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			if !slices.Contains(setupKeys, n) {
				return nil, fmt.Errorf("-setups: unknown setup %q (have %s)", n, strings.Join(setupKeys, ", "))
			}
			want[n] = true
		}
	}
	var kept []setup
	for _, s := range all {
		if want[s.key] {
			kept = append(kept, s)
		}
	}
	return kept, nil
}

// throughputResult holds every wrk run of every round.
type throughputResult struct {
	setups   []setup
	runs     map[string][]wrkResult // by setup key, one per round
	blockLen int
	timeouts int // requests wrk gave up on, over all runs
}

// measureThroughput starts the servers, checks each setup's page, warms
// them up and runs wrk on every setup in each round, rotating the order
// from round to round so no setup always runs first or after the same one.
func measureThroughput(ctx context.Context, e *env, o options) (*throughputResult, error) {
	ports, err := freePorts(8)
	if err != nil {
		return nil, err
	}
	sandbox, plain, jssdk, proxy, proxyJSSDK, upstream, ngx, ngxSub :=
		ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6], ports[7]

	up, err := startCaddy(ctx, e, "upstream", caddyConfig{Sites: []caddySite{
		{Name: "the upstream of the reverse_proxy setups", Port: upstream},
	}})
	if err != nil {
		return nil, err
	}
	defer up.stop()
	cd, err := startCaddy(ctx, e, "caddy", caddyConfig{
		Sandbox: &sandboxSite{Port: sandbox},
		Sites: []caddySite{
			{Name: "the baseline: file_server", Port: plain},
			{Name: "file_server with wechat_jssdk", Port: jssdk, JSSDK: true},
			{Name: "reverse_proxy to the upstream", Port: proxy, Upstream: upstream},
			{Name: "reverse_proxy with wechat_jssdk", Port: proxyJSSDK, JSSDK: true, Upstream: upstream},
		},
	})
	if err != nil {
		return nil, err
	}
	defer cd.stop()

	// The first page through wechat_jssdk fetches the ticket from the
	// sandbox; its block is what nginx inserts too.
	body, err := fetch(ctx, pageURL(jssdk, pagePath))
	if err != nil {
		return nil, err
	}
	block, err := injectedBlock(body, page16K)
	if err != nil {
		return nil, fmt.Errorf("wechat_jssdk page: %w", err)
	}
	ng, err := startNginx(ctx, e, ngx, ngxSub, block)
	if err != nil {
		return nil, err
	}
	defer ng.stop()

	same := func(body []byte) error {
		if !bytes.Equal(body, page16K) {
			return fmt.Errorf("the page came back changed (%d bytes)", len(body))
		}
		return nil
	}
	signed := func(port int) func([]byte) error {
		return func(body []byte) error {
			b, err := injectedBlock(body, page16K)
			if err != nil {
				return err
			}
			return verifyBlock(ctx, sandbox, b, pageURL(port, pagePath))
		}
	}
	r := &throughputResult{
		blockLen: len(block),
		runs:     map[string][]wrkResult{},
		setups: []setup{
			{keyCaddy, "Caddy file_server (baseline)", plain, "", same},
			{keyJSSDK, "Caddy file_server + wechat_jssdk", jssdk, keyCaddy, signed(jssdk)},
			{keyProxy, "Caddy reverse_proxy → Caddy file_server", proxy, "", same},
			{keyProxyJSSDK, "Caddy reverse_proxy + wechat_jssdk", proxyJSSDK, keyProxy, signed(proxyJSSDK)},
			{keyNginx, "nginx static", ngx, "", same},
			{keyNginxSub, "nginx + sub_filter (fixed block, same size)", ngxSub, keyNginx, func(body []byte) error {
				if len(body) != len(page16K)+len(block) || !bytes.HasSuffix(body, page16K[bytes.Index(page16K, []byte("</head>")):]) {
					return fmt.Errorf("sub_filter did not insert the %d-byte block before </head>", len(block))
				}
				return nil
			}},
		},
	}
	if r.setups, err = selectSetups(r.setups, o.setups); err != nil {
		return nil, err
	}
	for _, s := range r.setups {
		body, err := fetch(ctx, pageURL(s.port, pagePath))
		if err == nil {
			err = s.check(body)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.label, err)
		}
	}

	if o.warmup > 0 {
		for _, s := range r.setups {
			if _, err := runWrk(ctx, e.tools.wrk, pageURL(s.port, pagePath), o.warmup, o.conns, o.threads); err != nil {
				return nil, err
			}
		}
	}
	var problems []string
	for round := range o.rounds {
		for i := range r.setups {
			s := r.setups[(i+round)%len(r.setups)]
			cpu0 := groupCPU(up.pid(), cd.pid(), ng.pid())
			res, err := runWrk(ctx, e.tools.wrk, pageURL(s.port, pagePath), o.duration, o.conns, o.threads)
			if err != nil {
				return r, err
			}
			res.cpu = groupCPU(up.pid(), cd.pid(), ng.pid()) - cpu0
			if res.timeouts > 0 {
				r.timeouts += res.timeouts
			}
			if res.errors != "" {
				problems = append(problems, fmt.Sprintf("%s, round %d: %s", s.label, round+1, res.errors))
			}
			logf("round %d/%d %-18s %7.0f req/s  p50 %-9s p99 %-9s server CPU %s/req",
				round+1, o.rounds, s.key, res.rps, res.p50, res.p99, res.cpuPerRequest())
			r.runs[s.key] = append(r.runs[s.key], res)
		}
	}
	// The servers must still answer correctly after the load.
	for _, s := range r.setups {
		body, err := fetch(ctx, pageURL(s.port, pagePath))
		if err == nil {
			err = s.check(body)
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s after the load: %v", s.label, err))
		}
	}
	if len(problems) > 0 {
		return r, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return r, nil
}

// verifyBlock asks the sandbox whether the block's wx.config is validly
// signed for url, as WeChat's client would.
func verifyBlock(ctx context.Context, sandboxPort int, block []byte, url string) error {
	start := bytes.IndexByte(block, '>') + 1
	end := bytes.Index(block, []byte("</script>"))
	if start <= 0 || end < start {
		return fmt.Errorf("no JSON in the block")
	}
	var cfg struct {
		AppID     string `json:"appId"`
		Timestamp int64  `json:"timestamp"`
		NonceStr  string `json:"nonceStr"`
		Signature string `json:"signature"`
		URL       string `json:"url"`
	}
	if err := json.Unmarshal(block[start:end], &cfg); err != nil {
		return fmt.Errorf("block JSON: %w", err)
	}
	if cfg.URL != url {
		return fmt.Errorf("signed %q, want %q", cfg.URL, url)
	}
	reqBody, _ := json.Marshal(cfg)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, pageURL(sandboxPort, "/sandbox/verify"), bytes.NewReader(reqBody))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var verdict struct {
		OK     bool   `json:"ok"`
		ErrMsg string `json:"errmsg"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&verdict); err != nil {
		return fmt.Errorf("sandbox verify: %w", err)
	}
	if !verdict.OK {
		return fmt.Errorf("the sandbox rejects the signature: %s", verdict.ErrMsg)
	}
	return nil
}
