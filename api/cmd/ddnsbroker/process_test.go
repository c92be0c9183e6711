package main

// The real binary run as a child process, for the tests and benchmarks that
// need a server of its own: to kill it, to run two, or to measure its memory.

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildServer builds the ddnsbroker binary into a temporary directory.
func buildServer(t testing.TB) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	bin := filepath.Join(t.TempDir(), "ddnsbroker")
	start := time.Now()
	out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built the server in %s", time.Since(start).Round(100*time.Millisecond))
	return bin
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is `ddnsbroker serve` as a child process, restartable on the same
// address.
type proc struct {
	t      testing.TB
	name   string
	bin    string
	addr   string
	env    []string
	log    *syncBuffer
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
}

// newProc prepares a server; env adds DDNSBROKER_* variables to the defaults.
func newProc(t testing.TB, bin, name string, env map[string]string) *proc {
	p := &proc{t: t, name: name, bin: bin, addr: freeAddr(t), log: &syncBuffer{}}
	vars := map[string]string{"DDNSBROKER_LISTEN": p.addr, "DDNSBROKER_SECRET_KEY": testSecretKey,
		"DDNSBROKER_ADMIN_PASSWORD": "admin-password-for-tests", "DDNSBROKER_LOG_LEVEL": "warn"}
	for k, v := range env {
		vars[k] = v
	}
	p.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	for k, v := range vars {
		p.env = append(p.env, k+"="+v)
	}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s log (tail):\n%s", p.name, tail(p.log.String(), 6000))
		}
	})
	return p
}

func (p *proc) URL() string { return "http://" + p.addr }

// serveProc builds the server and runs it as its own process, so that what a
// benchmark measures of it (memory limit, collector, CPU) is its own and not
// shared with the load generator.
func serveProc(t testing.TB, name string, env map[string]string) *proc {
	p := newProc(t, buildServer(t), name, env)
	p.start()
	return p
}

// start runs the server and waits until /healthz answers.
func (p *proc) start() {
	p.t.Helper()
	p.mu.Lock()
	p.starts++
	fmt.Fprintf(p.log, "=== %s start %d at %s ===\n", p.name, p.starts, time.Now().Format(time.TimeOnly))
	cmd := exec.Command(p.bin, "serve")
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		p.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		if resp, err := hc.Get(p.URL() + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-exited:
			p.t.Fatalf("%s exited while starting:\n%s", p.name, tail(p.log.String(), 4000))
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s did not start:\n%s", p.name, tail(p.log.String(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() { p.signal(syscall.SIGKILL) }

func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// memory returns the process's resident set now and at its peak, in bytes.
func (p *proc) memory() (rss, peak int64) {
	p.mu.Lock()
	pid := p.cmd.Process.Pid
	p.mu.Unlock()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		p.t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return rss, peak
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
