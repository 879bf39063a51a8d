package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a server the harness started, in its own process group so that
// stopping it also stops its children (nginx's workers).
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

var (
	procsMu sync.Mutex
	procs   []*proc
)

// startProc starts bin with its output in dir/<name>.log. The process is
// killed if the harness dies without stopping it.
func startProc(dir, name string, env []string, bin string, args ...string) (*proc, error) {
	log := filepath.Join(dir, name+".log")
	f, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	procsMu.Lock()
	procs = append(procs, p)
	procsMu.Unlock()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop ends the process group: SIGTERM, then SIGKILL after 5 s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
	// nginx's master is gone; a worker that outlived it is still ours.
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
}

// stopAll stops every process the harness started, each by its own id.
func stopAll() {
	procsMu.Lock()
	defer procsMu.Unlock()
	for _, p := range procs {
		p.stop()
	}
	procs = nil
}

// waitTCP waits until addr accepts connections, without sending a request
// (an HTML request to a wechat_jssdk site would fetch the ticket).
func waitTCP(ctx context.Context, p *proc, addr string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited (%v) before listening on %s; see %s", p.name, p.err, addr, p.log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %s after 15 s; see %s", p.name, addr, p.log)
		}
	}
}

// freePorts reserves n loopback ports: each is bound and released at the
// end, so they are distinct and were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// vmStatus reads a field of /proc/<pid>/status (VmHWM, VmRSS) in bytes.
func vmStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range splitLines(string(b)) {
		var kb int64
		if n, _ := fmt.Sscanf(line, field+": %d kB", &kb); n == 1 {
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// resetPeakRSS sets the process's VmHWM back to its current RSS (Linux
// 4.0+), so the next peak is the peak of what follows.
func resetPeakRSS(pid int) error {
	err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("cannot reset the peak RSS of pid %d: %w", pid, err)
	}
	return err
}

// clockTick is Linux's USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat: 100 on every architecture Go supports there.
const clockTick = 10 * time.Millisecond

// groupCPU is the CPU time (user + system) used so far by every process in
// the given process groups: a Caddy and its threads, nginx's master and
// workers. Unlike requests per second on a shared machine, it hardly
// depends on what else runs.
func groupCPU(pgids ...int) time.Duration {
	want := map[int]bool{}
	for _, g := range pgids {
		want[g] = true
	}
	entries, _ := os.ReadDir("/proc")
	var ticks int64
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// The command name, in parentheses, may hold spaces: fields are
		// counted after its closing parenthesis (field 3 is the state).
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		pgrp, _ := strconv.Atoi(f[2])
		if !want[pgrp] {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += utime + stime
	}
	return time.Duration(ticks) * clockTick
}
