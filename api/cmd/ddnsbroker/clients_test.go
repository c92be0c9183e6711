package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// The real update clients from Debian, run against `serve` on loopback.
// make test installs them (packages ddclient and inadyn).

func lookClient(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				return filepath.Join(dir, name)
			}
		}
		t.Fatalf("%s is not installed: `make test` installs it (apt-get install %s)", name, name)
	}
	return p
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRealClients(t *testing.T) {
	ddclient := lookClient(t, "ddclient")
	inadyn := lookClient(t, "inadyn")
	dbURL := storetest.NewURL(t)
	up := newFakeUpstream(t)
	seed(t, dbURL, up.URL, "router.example.com", "router-secret-2",
		recordSpec{"www.example.com", 32, "0.0.0.0", -1, "::", ""},
		recordSpec{"nas.example.com", 24, "0.0.0.42", -1, "::", ""})
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL})
	hostport := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()

	t.Run("ddclient 3.10", func(t *testing.T) {
		conf := filepath.Join(dir, "ddclient.conf")
		writeFile(t, conf, "daemon=0\nprotocol=dyndns2\nuse=ip, ip=198.51.100.7\nserver="+hostport+
			"\nssl=no\nlogin=router.example.com\npassword='router-secret-2'\nrouter.example.com\n")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, ddclient, "-daemon=0", "-foreground", "-verbose", "-noquiet", "-file", conf,
			"-cache", filepath.Join(dir, "ddclient.cache"), "-pid", filepath.Join(dir, "ddclient.pid")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS:  updating router.example.com: good: IP address set to 198.51.100.7") {
			t.Fatalf("ddclient did not report success (err %v):\n%s", err, out)
		}
		waitUntil(t, "deliveries from the ddclient update", 10*time.Second, func() bool {
			return has(up.requests(), "www.example.com", "198.51.100.7") && has(up.requests(), "nas.example.com", "198.51.100.42")
		})
	})

	t.Run("inadyn 2.10", func(t *testing.T) {
		conf := filepath.Join(dir, "inadyn.conf")
		writeFile(t, conf, `period = 60
custom broker {
    ssl             = false
    username        = router.example.com
    password        = router-secret-2
    checkip-command = "echo 198.51.100.9"
    ddns-server     = `+hostport+`
    ddns-path       = "/nic/update?hostname=%h&myip=%i"
    hostname        = router.example.com
}
`)
		cache := filepath.Join(dir, "inadyn-cache")
		if err := os.MkdirAll(cache, 0o700); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, inadyn, "--once", "--foreground", "-f", conf, "--cache-dir="+cache,
			"-P", filepath.Join(dir, "inadyn.pid"), "-l", "info").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Successful alias table update for router.example.com => new IP# 198.51.100.9") {
			t.Fatalf("inadyn did not report success (err %v):\n%s", err, out)
		}
		waitUntil(t, "delivery from the inadyn update", 10*time.Second, func() bool {
			return has(up.requests(), "www.example.com", "198.51.100.9")
		})
		// The /24 record's effective address did not change: nothing more was sent for it.
		n := 0
		for _, r := range up.requests() {
			if r[0] == "nas.example.com" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("nas.example.com was sent %d times, want 1: %v", n, up.requests())
		}
	})
}

func has(reqs [][2]string, host, ip string) bool {
	for _, r := range reqs {
		if r[0] == host && r[1] == ip {
			return true
		}
	}
	return false
}
