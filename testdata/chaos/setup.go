package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// page is the demo page both instances serve.
//
//go:embed page.html
var page []byte

const (
	// appID and appSecret are the sandbox's made-up app.
	appID     = "wx0123456789abcdef"
	appSecret = "chaos-harness-secret"
	secretEnv = "JSSDK_CHAOS_APP_SECRET"
	// configPath is wechat_jssdk's config_endpoint.
	configPath = "/wechat-config"
	// baseTokenTTL is the lifetime of the sandbox's tokens and tickets in
	// the default run, scaled with it: short, so that the instances refetch
	// (at 3/4 of the usable life) while the faults are on and a 30 s outage
	// outlives the ticket; with WeChat's 2 h no phase would make a single
	// upstream call.
	baseTokenTTL = 24 * time.Second
	// minTokenTTL keeps a refresh through the latency phase (a token and a
	// ticket call of up to 3.5 s each) inside the credential's last quarter
	// of usable life plus its margin (0.325 of the life): 7 s needs 21.5 s.
	// With shorter lives (-ttl 7s, which CI runs too) refreshes outlast the
	// credentials: pages go unsigned (fail-open) for longer, but must never
	// be signed with a ticket the sandbox rejects. At 7 s they were, before
	// the store judged a flight's ticket when the flight ends rather than
	// when it starts.
	minTokenTTL = 24 * time.Second
)

// tokenTTLFor is the sandbox's token_ttl for a run scaled by scale.
func tokenTTLFor(scale float64) time.Duration {
	return max(minTokenTTL, time.Duration(float64(baseTokenTTL)*scale).Round(time.Second))
}

// cluster is the sandbox and the two instances sharing one storage dir.
type cluster struct {
	dir       string
	storage   string // the instances' shared file_system storage
	sandbox   *proc
	sandURL   string
	instances []*proc
}

// newCluster writes the configs and starts every process.
func newCluster(ctx context.Context, dir, bin string, tokenTTL time.Duration) (*cluster, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, storage: filepath.Join(dir, "shared-storage")}
	if err := os.MkdirAll(c.storage, 0o755); err != nil {
		return nil, err
	}
	site := filepath.Join(dir, "site")
	if err := os.MkdirAll(site, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(site, "index.html"), page, 0o644); err != nil {
		return nil, err
	}
	env := []string{secretEnv + "=" + appSecret}
	sandCfg := fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
	grace_period 1s
	storage file_system %s
}

http://127.0.0.1:%d {
	wechat_sandbox {
		app_id     %s
		app_secret {env.%s}
		token_ttl  %s
	}
}
`, filepath.Join(dir, "sandbox-storage"), ports[0], appID, secretEnv, tokenTTL)
	c.sandbox, err = newProc(dir, "sandbox", bin, sandCfg, ports[0], env)
	if err != nil {
		return nil, err
	}
	c.sandURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	for i, port := range ports[1:] {
		cfg := fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
	grace_period 1s
	storage file_system %s
}

http://127.0.0.1:%d {
	wechat_jssdk {
		app_id          %s
		app_secret      {env.%s}
		api_base        %s
		config_endpoint %s
	}
	root * %s
	file_server
}
`, c.storage, port, appID, secretEnv, c.sandURL, configPath, site)
		p, err := newProc(dir, fmt.Sprintf("instance%d", i+1), bin, cfg, port, env)
		if err != nil {
			return nil, err
		}
		c.instances = append(c.instances, p)
	}
	for _, p := range append([]*proc{c.sandbox}, c.instances...) {
		if err := p.start(ctx); err != nil {
			c.stop()
			return nil, err
		}
	}
	return c, nil
}

// newProc writes the Caddyfile of one process in its own directory.
func newProc(dir, name, bin, caddyfile string, port int, env []string) (*proc, error) {
	home := filepath.Join(dir, name)
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(home, "Caddyfile")
	if err := os.WriteFile(cfg, []byte(caddyfile), 0o644); err != nil {
		return nil, err
	}
	return &proc{
		name: name, bin: bin, config: cfg, env: env,
		addr: fmt.Sprintf("127.0.0.1:%d", port),
		log:  filepath.Join(home, "caddy.log"),
	}, nil
}

// stop stops every process.
func (c *cluster) stop() {
	for _, p := range c.instances {
		p.stop()
	}
	c.sandbox.stop()
}
