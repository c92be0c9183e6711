package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// bareListenEnv, when set, makes the test binary the bare Echo server that
// BenchmarkDyndns2Endpoint compares the broker with, in a process of its own
// as the broker is in, and nothing else.
const bareListenEnv = "DDNSBROKER_BENCH_BARE_LISTEN"

func TestMain(m *testing.M) {
	if addr := os.Getenv(bareListenEnv); addr != "" {
		bare := echo.New()
		bare.HideBanner, bare.HidePort = true, true
		bare.GET("/nic/update", func(c echo.Context) error { return c.String(200, "nochg 192.0.2.1\n") })
		_ = http.ListenAndServe(addr, bare)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// bareServer starts the test binary as the bare Echo server and returns its
// base URL; it is killed when the benchmark ends.
func bareServer(b *testing.B) string {
	addr := freeAddr(b)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), bareListenEnv+"="+addr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			b.Fatalf("the bare Echo server did not start on %s", addr)
		}
	}
}
