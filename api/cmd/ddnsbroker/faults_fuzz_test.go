//go:build faults

package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzTime is how long each fuzz target runs in `make test-faults`.
const fuzzTime = 60 * time.Second

// minFuzzExecs is the fewest inputs a target must have run in fuzzTime.
const minFuzzExecs = 10_000

// fuzz runs `go test -fuzz` on one target for fuzzTime with one worker (the
// machine is shared). A crasher fails the test; go writes it to the
// package's testdata/fuzz/<target>/, where it is kept as a regression case
// (commit it with the fix).
func fuzz(t *testing.T, pkg, target string) {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	// Minimizing is bounded by a count: with the default (60 s per new
	// input), minimizing the first inputs found in a large seed took the
	// whole minute, and the import parser was run 9 times instead of fuzzed.
	cmd := exec.Command(goBin, "test", "-run", "^$", "-fuzz", "^"+target+"$", "-fuzztime", fuzzTime.String(),
		"-fuzzminimizetime", "100x", "-parallel", "1", "./"+pkg)
	cmd.Dir = root
	start := time.Now()
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err != nil {
		msg := ""
		if m := regexp.MustCompile(`Failing input written to (\S+)`).FindStringSubmatch(text); m != nil {
			msg = "crasher kept in " + filepath.Join(pkg, m[1]) + "; "
		}
		t.Fatalf("%sgo test -fuzz=%s ./%s: %v\n%s", msg, target, pkg, err, tail(text, 6000))
	}
	last := ""
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "fuzz: elapsed") {
			last = l
		}
	}
	execs, interesting := "?", "?"
	if m := regexp.MustCompile(`execs: (\d+) .*new interesting: (.*)`).FindStringSubmatch(last); m != nil {
		execs, interesting = m[1], m[2]
	}
	if n, err := strconv.Atoi(execs); err != nil || n < minFuzzExecs {
		t.Errorf("%s ran %s inputs in %s, fewer than %d: it was not really fuzzed\n%s", target, execs, fuzzTime, minFuzzExecs, tail(text, 2000))
	}
	t.Logf("%s (./%s): no crasher in %s of fuzzing (%s in all): %s executions, new interesting inputs %s", target, pkg, fuzzTime,
		time.Since(start).Round(time.Second), execs, interesting)
}

// fuzzTargets lists the Fuzz functions of a package.
func fuzzTargets(t *testing.T, pkg string) []string {
	t.Helper()
	root, _ := filepath.Abs("../../..")
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	cmd := exec.Command(goBin, "test", "-list", "^Fuzz", "./"+pkg)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test -list ./%s: %v\n%s", pkg, err, out)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Fuzz") {
			names = append(names, strings.TrimSpace(l))
		}
	}
	return names
}

// TestFaultFuzzDyndns2Update fuzzes the dyndns2 request parser and handler.
func TestFaultFuzzDyndns2Update(t *testing.T) { fuzz(t, "api/dyndns2", "FuzzUpdate") }

// TestFaultFuzzNetcalcCombine fuzzes the address arithmetic against its
// bit-by-bit definition.
func TestFaultFuzzNetcalcCombine(t *testing.T) { fuzz(t, "api/netcalc", "FuzzCombine") }

// TestFaultFuzzDjangoImport fuzzes the import parser with every fuzz target
// its package has (FuzzParse).
func TestFaultFuzzDjangoImport(t *testing.T) {
	targets := fuzzTargets(t, "api/djangoimport")
	if len(targets) == 0 {
		t.Fatal("api/djangoimport has no fuzz target (FuzzParse)")
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) { fuzz(t, "api/djangoimport", target) })
	}
}
