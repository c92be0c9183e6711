package providertest

import (
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// daemon is a real server process a test starts, stops and starts again
// (named, pdns_server): its running command and its output.
type daemon struct {
	name    string // for messages: "named", "pdns_server"
	install string // how to install it, for the message when it cannot start

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  *lockedBuffer
}

// run starts bin with args and waits (at most 20 s) until ready says the
// server answers; a server that exits or does not answer is an error with
// the end of its output.
func (d *daemon) run(bin string, args []string, ready func() bool) error {
	out := &lockedBuffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w (%s)", bin, err, d.install)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	d.mu.Lock()
	d.cmd, d.done, d.out = cmd, done, out
	d.mu.Unlock()

	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("%s exited: %s", d.name, lastLines(out.String(), 15))
		default:
		}
		if ready() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.Stop()
	return fmt.Errorf("%s did not answer within 20 s: %s", d.name, lastLines(out.String(), 15))
}

// Stop ends the server (SIGTERM, then SIGKILL after 10 s) and waits for it.
func (d *daemon) Stop() {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.cmd = nil
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Log is the end of the server's output, for failure messages.
func (d *daemon) Log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.out == nil {
		return ""
	}
	return lastLines(d.out.String(), 20)
}
