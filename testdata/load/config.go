package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/template"
	"time"
)

var (
	//go:embed Caddyfile.tmpl
	caddyfileText string
	//go:embed nginx.conf.tmpl
	nginxConfText string

	caddyfileTmpl = template.Must(template.New("Caddyfile").Parse(caddyfileText))
	nginxConfTmpl = template.Must(template.New("nginx.conf").Parse(nginxConfText))
)

// caddyConfig is what Caddyfile.tmpl renders: an optional sandbox and the
// sites of one Caddy process.
type caddyConfig struct {
	AppID   string
	Root    string
	Sandbox *sandboxSite
	Sites   []caddySite
}

type sandboxSite struct {
	Port    int
	Latency time.Duration // 0: none
}

// caddySite is one site: file_server over the page directory, or
// reverse_proxy to Upstream; wechat_jssdk in front when JSSDK.
type caddySite struct {
	Name     string
	Port     int
	JSSDK    bool
	Upstream int
}

// startCaddy renders cfg, starts a Caddy on it and waits until every site
// listens. It sends no request: the first one is the caller's.
func startCaddy(ctx context.Context, e *env, name string, cfg caddyConfig) (*proc, error) {
	cfg.AppID, cfg.Root = appID, e.www
	var b bytes.Buffer
	if err := caddyfileTmpl.Execute(&b, cfg); err != nil {
		return nil, err
	}
	path := filepath.Join(e.dir, name+".Caddyfile")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return nil, err
	}
	home := filepath.Join(e.dir, "home-"+name)
	p, err := startProc(e.dir, name, []string{
		"JSSDK_LOAD_APP_SECRET=" + appSecret,
		// Caddy keeps nothing in the user's home.
		"HOME=" + home, "XDG_CONFIG_HOME=" + home, "XDG_DATA_HOME=" + home,
	}, e.caddy, "run", "--adapter", "caddyfile", "--config", path)
	if err != nil {
		return nil, err
	}
	ports := []int{}
	if cfg.Sandbox != nil {
		ports = append(ports, cfg.Sandbox.Port)
	}
	for _, s := range cfg.Sites {
		ports = append(ports, s.Port)
	}
	for _, port := range ports {
		if err := waitTCP(ctx, p, addr(port)); err != nil {
			p.stop()
			return nil, err
		}
	}
	return p, nil
}

// nginxConfig is what nginx.conf.tmpl renders.
type nginxConfig struct {
	Dir, Root  string
	Workers    int
	Plain, Sub int
	BlockParts []string // the block, cut into pieces nginx accepts as tokens
}

// nginxTokenMax is the longest piece of the block put in one nginx string:
// nginx's configuration parser refuses a token of 4096 bytes or more, and
// the block (boot script included) is longer than that.
const nginxTokenMax = 2048

// splitBlock cuts s into pieces of at most n bytes; the bytes are ASCII
// (the block's JSON escapes everything else), so no cut splits a rune.
func splitBlock(s string, n int) []string {
	var parts []string
	for len(s) > n {
		parts = append(parts, s[:n])
		s = s[n:]
	}
	return append(parts, s)
}

// startNginx starts nginx serving the page alone on plain and with
// sub_filter inserting block on sub.
func startNginx(ctx context.Context, e *env, plain, sub int, block []byte) (*proc, error) {
	dir := filepath.Join(e.dir, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfg := nginxConfig{Dir: dir, Root: e.www, Workers: runtime.NumCPU(), Plain: plain, Sub: sub,
		BlockParts: splitBlock(nginxLiteral(block), nginxTokenMax)}
	var b bytes.Buffer
	if err := nginxConfTmpl.Execute(&b, cfg); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, b.Bytes(), 0o644); err != nil {
		return nil, err
	}
	p, err := startProc(e.dir, "nginx", nil, e.tools.nginx, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	if err != nil {
		return nil, err
	}
	for _, port := range []int{plain, sub} {
		if err := waitTCP(ctx, p, addr(port)); err != nil {
			p.stop()
			return nil, err
		}
	}
	return p, nil
}

// nginxLiteral makes block safe inside a single-quoted nginx string whose
// variables are expanded: only the length of the fixed block matters to
// the measurement, so the few characters nginx would interpret become '_'.
func nginxLiteral(block []byte) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\'', '\\', '$', '\n', '\r':
			return '_'
		}
		return r
	}, string(block))
}

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

func pageURL(port int, path string) string { return fmt.Sprintf("http://%s%s", addr(port), path) }

// client makes the harness's own checks: no gzip (which Go's transport
// asks for by default), so bodies are compared as served.
var client = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64},
}

// fetch GETs url and returns the body, failing on anything but 200.
func fetch(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// injectedBlock checks that body is page with exactly one block inserted
// right before the first "</head>", and returns the block.
func injectedBlock(body, page []byte) ([]byte, error) {
	if n := bytes.Count(body, []byte(blockMarker)); n != 1 {
		return nil, fmt.Errorf("%d wechat_jssdk blocks in the page, want 1", n)
	}
	at := bytes.Index(page, []byte("</head>"))
	extra := len(body) - len(page)
	if extra <= 0 || !bytes.Equal(body[:at], page[:at]) || !bytes.Equal(body[at+extra:], page[at:]) {
		return nil, fmt.Errorf("the page is not the original with one block before </head>")
	}
	block := body[at : at+extra]
	if !bytes.HasPrefix(block, []byte(blockMarker)) {
		return nil, fmt.Errorf("the inserted bytes do not start with the block")
	}
	return block, nil
}
