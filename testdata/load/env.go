package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The page every throughput setup serves: 16 KiB of ordinary HTML with
// "</head>" near the start.
//
//go:embed page.html
var page16K []byte

// bigPageSize is the page of the memory test: large enough that buffering
// it per response would show at once in the process's RSS.
const bigPageSize = 10 << 20

const (
	pagePath    = "/page.html"
	bigPagePath = "/page10m.html"
	// appID and appSecret are the sandbox's made-up app.
	appID     = "wx0123456789abcdef"
	appSecret = "load-harness-secret"
	// blockMarker starts the block wechat_jssdk injects.
	blockMarker = `<script id="wechat-jssdk-config"`
)

// tools are the external programs the harness drives.
type tools struct {
	wrk, nginx string
}

// ensureTools finds wrk and nginx, installing Debian's packages when one is
// missing.
func ensureTools(ctx context.Context) (tools, error) {
	t, missing := lookTools()
	if len(missing) == 0 {
		return t, nil
	}
	logf("installing %s with apt-get", strings.Join(missing, " "))
	if os.Geteuid() != 0 {
		return t, fmt.Errorf("%s missing and not root: apt-get install %s", strings.Join(missing, ", "), strings.Join(missing, " "))
	}
	for _, args := range [][]string{
		{"update", "-qq"},
		append([]string{"install", "-y", "-qq", "--no-install-recommends"}, missing...),
	} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return t, fmt.Errorf("apt-get %s: %v\n%s", args[0], err, lastLines(out, 10))
		}
	}
	t, missing = lookTools()
	if len(missing) > 0 {
		return t, fmt.Errorf("still missing after apt-get: %s", strings.Join(missing, ", "))
	}
	return t, nil
}

// lookTools returns the tools found and the Debian packages to install for
// the others. nginx lives in /usr/sbin, often not on a user's PATH.
func lookTools() (tools, []string) {
	var t tools
	var missing []string
	if p, err := exec.LookPath("wrk"); err == nil {
		t.wrk = p
	} else {
		missing = append(missing, "wrk")
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		t.nginx = p
	} else if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		t.nginx = "/usr/sbin/nginx"
	} else {
		missing = append(missing, "nginx")
	}
	return t, missing
}

// env is one run's work directory, binaries and pages.
type env struct {
	root    string // the checkout
	dir     string // work directory: configs, logs, the site
	www     string // the site every server serves
	caddy   string
	tools   tools
	keepDir bool
}

func newEnv(ctx context.Context, root string, t tools, o options) (*env, error) {
	dir, err := os.MkdirTemp("", "jssdk-load-")
	if err != nil {
		return nil, err
	}
	e := &env{root: root, dir: dir, www: filepath.Join(dir, "www"), caddy: filepath.Join(dir, "caddy"), tools: t}
	// nginx's workers run as nobody: they must be able to read the site.
	if err := os.Chmod(dir, 0o755); err != nil {
		return e, err
	}
	if err := os.Mkdir(e.www, 0o755); err != nil {
		return e, err
	}
	if err := os.WriteFile(filepath.Join(e.www, pagePath), page16K, 0o644); err != nil {
		return e, err
	}
	if err := os.WriteFile(filepath.Join(e.www, bigPagePath), bigPage(bigPageSize), 0o644); err != nil {
		return e, err
	}
	if o.caddy != "" {
		e.caddy = o.caddy
		return e, nil
	}
	logf("building Caddy with the plugin (go build ./testdata/caddy)")
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", e.caddy, "./testdata/caddy")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return e, fmt.Errorf("go build ./testdata/caddy: %v\n%s", err, out)
	}
	logf("built in %s", time.Since(start).Round(time.Second))
	return e, nil
}

func (e *env) cleanup(keep bool) {
	if keep || e.keepDir {
		return
	}
	_ = os.RemoveAll(e.dir)
}

// bigPage is the 16 KiB page's head followed by its body repeated to size
// bytes, so "</head>" is near the start and "</body>" at the very end.
func bigPage(size int) []byte {
	i := bytes.Index(page16K, []byte("<main"))
	j := bytes.Index(page16K, []byte("</main>"))
	head, body := page16K[:i], page16K[i:j]
	const tail = "</main></body></html>\n"
	var b bytes.Buffer
	b.Grow(size)
	b.Write(head)
	for b.Len()+len(body)+len(tail) <= size {
		b.Write(body)
	}
	b.Write(bytes.Repeat([]byte("\n"), size-b.Len()-len(tail)))
	b.WriteString(tail)
	return b.Bytes()
}

// versions names what was measured, for the report's header.
func versions(ctx context.Context, e *env) string {
	first := func(name string, args ...string) string {
		out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput()
		s := strings.TrimSpace(string(out))
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[:i]
		}
		return s
	}
	caddyV := strings.Fields(first(e.caddy, "version") + " ?")[0]
	nginxV := strings.TrimPrefix(first(e.tools.nginx, "-v"), "nginx version: ")
	wrkV := strings.Fields(first(e.tools.wrk, "-v") + " ? ?")[1]
	goV := strings.TrimPrefix(first("go", "env", "GOVERSION"), "go")
	return fmt.Sprintf("Caddy %s, Go %s, %s, wrk %s", caddyV, goV, nginxV, wrkV)
}

func splitLines(s string) []string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return lines
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
