package main

// The container image of `make image` (deploy/image.sh). Containers cannot
// run on this machine, so the test unpacks the image's file system
// (podman create + podman export) and runs its binary there: as root
// chrooted into it as the image's user, so that it sees only what the image
// holds.

import (
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// imageConfig is what `podman image inspect` says of an image, as far as
// the test reads it.
type imageConfig struct {
	Config struct {
		User       string
		Env        []string
		Entrypoint []string
		Cmd        []string
		Labels     map[string]string
	}
	Healthcheck *struct{ Test []string }
}

func TestImage(t *testing.T) {
	image := os.Getenv("DDNSBROKER_TEST_IMAGE")
	if image == "" {
		t.Fatal("DDNSBROKER_TEST_IMAGE is not set: `make test` (or `make test-deploy`) builds the image with `make image` and names it here")
	}
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Fatal("podman is missing: `make test` installs it (apt-get install podman buildah)")
	}
	pod := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(podman, args...).Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return string(out)
	}

	var inspected []imageConfig
	if err := json.Unmarshal([]byte(pod("image", "inspect", image)), &inspected); err != nil || len(inspected) != 1 {
		t.Fatalf("podman image inspect %s: %v", image, err)
	}
	cfg := inspected[0]
	entry := cfg.Config.Entrypoint
	if len(entry) != 1 || !slices.Equal(cfg.Config.Cmd, []string{"serve"}) {
		t.Fatalf("image runs %q %q, want the binary with `serve`", entry, cfg.Config.Cmd)
	}
	if cfg.Healthcheck == nil || !slices.Equal(cfg.Healthcheck.Test, []string{"CMD", entry[0], "healthcheck"}) {
		t.Errorf("image HEALTHCHECK is %+v, want [CMD %s healthcheck]", cfg.Healthcheck, entry[0])
	}
	for _, label := range []string{"org.opencontainers.image.version", "org.opencontainers.image.source"} {
		if cfg.Config.Labels[label] == "" {
			t.Errorf("image has no label %s", label)
		}
	}
	uidText, gidText, _ := strings.Cut(cfg.Config.User, ":")
	uid, err1 := strconv.Atoi(uidText)
	gid, err2 := strconv.Atoi(gidText)
	if err1 != nil || err2 != nil || uid == 0 {
		t.Fatalf("image user %q: want a numeric non-root UID:GID", cfg.Config.User)
	}

	// The file system, as a container would see it.
	name := fmt.Sprintf("ddnsbroker-test-%d", time.Now().UnixNano())
	pod("create", "--name", name, "--no-healthcheck", image)
	t.Cleanup(func() { _ = exec.Command(podman, "rm", "--force", name).Run() })
	dir := t.TempDir()
	tarball := filepath.Join(dir, "rootfs.tar")
	pod("export", "--output", tarball, name)
	root := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-x", "-f", tarball, "-C", root).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}

	t.Run("CA certificates", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"))
		if err != nil {
			t.Fatal(err) // Go's crypto/x509 looks there first on Linux
		}
		n := 0
		for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
			if _, err := x509.ParseCertificate(block.Bytes); err == nil {
				n++
			}
		}
		if n < 50 {
			t.Fatalf("the CA bundle holds %d certificates", n)
		}
	})

	t.Run("non-root user", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Split(l, ":")
			if len(f) == 7 && f[2] == uidText && f[3] == gidText {
				found = true
			}
		}
		if !found {
			t.Fatalf("/etc/passwd has no entry for the image's user %s:\n%s", cfg.Config.User, b)
		}
	})

	bin := filepath.Join(root, entry[0])
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("the image's binary %s: %v", entry[0], err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s is dynamically linked: the image has no C library", entry[0])
		}
	}
	f.Close()

	// command runs the image's binary as the image would: chrooted and as
	// its user when the test runs as root; otherwise (no chroot without
	// root) directly, where the static binary needs nothing of this machine.
	command := func(env []string, args ...string) *exec.Cmd {
		cmd := exec.Command(entry[0], args...)
		cmd.Env = append(slices.Clone(cfg.Config.Env), env...)
		cmd.Dir = "/"
		if os.Geteuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)},
				Pdeathsig: syscall.SIGKILL}
		} else {
			cmd.Path = bin
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		}
		return cmd
	}

	t.Run("version", func(t *testing.T) {
		out, err := command(nil, "version").CombinedOutput()
		want := cfg.Config.Labels["org.opencontainers.image.version"]
		if err != nil || !strings.Contains(string(out), want) {
			t.Fatalf("version: %v %q, want the image's version %q", err, out, want)
		}
	})

	t.Run("serve and healthcheck", func(t *testing.T) {
		listen := freeAddr(t)
		env := []string{"DDNSBROKER_LISTEN=" + listen, "DDNSBROKER_DATABASE_URL=" + storetest.NewURL(t),
			"DDNSBROKER_SECRET_KEY=" + testSecretKey, "DDNSBROKER_LOG_LEVEL=warn"}
		cmd := command(env, cfg.Config.Cmd...)
		log := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-exited
			if t.Failed() {
				t.Logf("serve log:\n%s", tail(log.String(), 4000))
			}
		})
		hc := &http.Client{Timeout: 2 * time.Second}
		waitUntil(t, "/readyz 200 from the image's server", 60*time.Second, func() bool {
			select {
			case <-exited:
				t.Fatalf("serve exited: %v", cmd.ProcessState)
			default:
			}
			resp, err := hc.Get("http://" + listen + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
		// The HEALTHCHECK command, run as the container engine would.
		check := command([]string{"DDNSBROKER_LISTEN=" + listen}, cfg.Healthcheck.Test[2:]...)
		if out, err := check.CombinedOutput(); err != nil {
			t.Fatalf("healthcheck: %v %s", err, out)
		}
	})
}
