package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make test-deps installs what is missing with apt-get, which fails at once
// when the system's updater holds the package lock unless told to wait. A
// stand-in apt-get (and sudo, for a run as another user) records how the
// Makefile calls it; nothing is installed.
func TestMakeTestDepsWaitsForThePackageLock(t *testing.T) {
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Fatal("make is missing")
	}
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	writeFile(t, filepath.Join(dir, "apt-get"), "#!/bin/sh\necho \"$*\" >> "+calls+"\n")
	writeFile(t, filepath.Join(dir, "sudo"), "#!/bin/sh\nexec \"$@\"\n")
	for _, f := range []string{"apt-get", "sudo"} {
		if err := os.Chmod(filepath.Join(dir, f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(makeBin, "--no-print-directory", "-C", "../../..", "test-deps", "TEST_PACKAGES=ddnsbroker-test-no-such-package")
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make test-deps: %v\n%s", err, out)
	}
	b, err := os.ReadFile(calls)
	if err != nil {
		t.Fatalf("make test-deps did not call apt-get for a missing package: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "update") || !strings.Contains(lines[1], "install") ||
		!strings.HasSuffix(lines[1], "ddnsbroker-test-no-such-package") {
		t.Fatalf("apt-get calls: %q, want update then install of the missing package", lines)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "-o DPkg::Lock::Timeout=600 ") {
			t.Errorf("apt-get %s: does not wait for the package lock (-o DPkg::Lock::Timeout=600)", l)
		}
	}
}

// Every script that installs Debian packages waits for the package lock the
// system's own updater may hold, instead of failing (db/cluster.sh installed
// PostgreSQL without waiting).
func TestEveryAptGetWaitsForThePackageLock(t *testing.T) {
	root := "../../.."
	files := []string{filepath.Join(root, "Makefile"), filepath.Join(root, ".ci", "run")}
	for _, dir := range []string{"db", "deploy"} {
		found, err := filepath.Glob(filepath.Join(root, dir, "*.sh"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, found...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			// a message that names the command is not a call of it
			if strings.Contains(line, "echo") || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			if (strings.Contains(line, "apt-get update") || strings.Contains(line, "apt-get install") ||
				strings.Contains(line, "apt-get -")) && !strings.Contains(line, "Lock::Timeout") {
				t.Errorf("%s:%d calls apt-get without -o DPkg::Lock::Timeout: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
