package integration_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The multi-instance tests run Caddy as separate processes, built from
// testdata/caddy: the standard modules, the Redis storage module and this
// plugin.

var clusterBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// clusterBinary builds the cluster Caddy once per test run.
func clusterBinary(t *testing.T) string {
	t.Helper()
	clusterBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "jssdk-cluster-bin-")
		if err != nil {
			clusterBuild.err = err
			return
		}
		clusterBuild.dir = dir
		clusterBuild.path = filepath.Join(dir, "caddy")
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		build := exec.Command(goTool, "build", "-o", clusterBuild.path, "./testdata/caddy")
		build.Dir = repoRoot
		out, err := build.CombinedOutput()
		if err != nil {
			clusterBuild.err = fmt.Errorf("go build ./testdata/caddy: %v\n%s", err, out)
		}
	})
	if clusterBuild.err != nil {
		t.Fatal(clusterBuild.err)
	}
	return clusterBuild.path
}

// removeClusterBinary deletes what clusterBinary built; TestMain calls it.
func removeClusterBinary() {
	if clusterBuild.dir != "" {
		_ = os.RemoveAll(clusterBuild.dir)
	}
}

// freePort returns a loopback TCP port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// instance is one Caddy process.
type instance struct {
	name     string
	bin      string
	config   string // the Caddyfile's path
	adminURL string
	siteURL  string
	logPath  string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// clusterSecretEnv carries the app secret to the processes, so that their
// Caddyfile holds a placeholder, as a production one should.
const clusterSecretEnv = "JSSDK_CLUSTER_SECRET"

// newInstance writes the Caddyfile of one instance: its own admin and site
// ports, the given storage global option, and wechat_jssdk in front of
// testdata/site with the in-process sandbox as WeChat.
func newInstance(t *testing.T, name, bin, storage string) *instance {
	t.Helper()
	dir := t.TempDir()
	adminPort, sitePort := freePort(t), freePort(t)
	caddyfile := fmt.Sprintf(`{
	admin 127.0.0.1:%d
	auto_https off
	persist_config off
	grace_period 1ns
	%s
}

http://127.0.0.1:%d {
	wechat_jssdk {
		app_id     %s
		app_secret {env.%s}
		api_base   http://127.0.0.1:9081
		timeout    3s
	}
	root * %s
	file_server
}
`, adminPort, storage, sitePort, testAppID, clusterSecretEnv, siteRoot)
	in := &instance{
		name:     name,
		bin:      bin,
		config:   filepath.Join(dir, "Caddyfile"),
		adminURL: fmt.Sprintf("http://127.0.0.1:%d", adminPort),
		siteURL:  fmt.Sprintf("http://127.0.0.1:%d", sitePort),
		logPath:  filepath.Join(dir, "caddy.log"),
	}
	if err := os.WriteFile(in.config, []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.kill()
		if t.Failed() {
			logs, _ := os.ReadFile(in.logPath)
			t.Logf("%s's log:\n%s", in.name, logs)
		}
	})
	return in
}

// start runs the process and waits until its site answers.
func (in *instance) start(t *testing.T) {
	t.Helper()
	logFile, err := os.OpenFile(in.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	home := filepath.Dir(in.config)
	in.cmd = exec.Command(in.bin, "run", "--config", in.config, "--adapter", "caddyfile")
	in.cmd.Env = append(os.Environ(),
		clusterSecretEnv+"="+testSecret,
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"))
	in.cmd.Stdout, in.cmd.Stderr = logFile, logFile
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(in.cmd, in.exited)

	// A stylesheet, not a page: waiting must not fetch a credential.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(in.siteURL + "/style.css")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-in.exited:
			t.Fatalf("%s exited while starting", in.name)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start: %v", in.name, err)
		}
	}
}

// stop ends the process as an operator would (SIGINT), waiting for it.
func (in *instance) stop(t *testing.T) {
	t.Helper()
	if in.cmd == nil {
		return
	}
	_ = in.cmd.Process.Signal(os.Interrupt)
	select {
	case <-in.exited:
	case <-time.After(20 * time.Second):
		t.Errorf("%s did not stop on SIGINT", in.name)
		in.kill()
	}
	in.cmd = nil
}

// kill ends the process at once, as a crash would.
func (in *instance) kill() {
	if in.cmd == nil {
		return
	}
	_ = in.cmd.Process.Kill()
	<-in.exited
	in.cmd = nil
}

// startRedis runs a throwaway redis-server on a free loopback port, with
// no persistence, and returns its address. It skips the test when
// redis-server is not installed (failSkips turns that into a failure under
// JSSDK_NO_SKIP, as in CI).
func startRedis(t *testing.T) string {
	t.Helper()
	failSkips(t)
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed (Debian package redis-server): the Redis storage test cannot run")
	}
	port := freePort(t)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
			return addr
		}
		select {
		case <-exited:
			t.Fatalf("redis-server exited: %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal(errors.Join(errors.New("redis-server did not start"), err))
		}
	}
}
