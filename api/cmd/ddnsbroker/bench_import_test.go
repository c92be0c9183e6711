package main

import (
	"bufio"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// BenchmarkDjangoImport writes a Django dumpdata export of 100,000 hosts
// and 300,000 records, imports it into an empty database with the real
// binary's `import ddnsbroker-django` as a user would, and prints the time
// (target < 60 s, issue 21) and the import process's peak RSS. The counts
// in the database are checked afterwards.
func BenchmarkDjangoImport(b *testing.B) {
	if !firstRun(b) {
		return
	}
	const hosts, recordsPerHost = 100_000, 3
	bin := buildServer(b)
	dbURL := storetest.NewURL(b)
	export := filepath.Join(b.TempDir(), "dumpdata.json")
	t0 := time.Now()
	size := writeDjangoExport(b, export, hosts, recordsPerHost)
	generated := time.Since(t0)

	report := filepath.Join(b.TempDir(), "report.txt")
	out, err := os.Create(report)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "import", "ddnsbroker-django", export)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(),
		"DDNSBROKER_DATABASE_URL=" + dbURL, "DDNSBROKER_SECRET_KEY=" + testSecretKey}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	t0 = time.Now()
	err = cmd.Run()
	took := time.Since(t0)
	out.Close()
	text, _ := os.ReadFile(report)
	if err != nil {
		b.Fatalf("import: %v\n%s", err, tail(string(text), 4000))
	}
	var peak int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = ru.Maxrss << 10 // kB on Linux
	}
	summary := ""
	for _, l := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(l, "summary: ") {
			summary = l
		}
	}

	counts := map[string]int{}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	for name, query := range map[string]string{
		"services":      `SELECT count(*) FROM services`,
		"hosts":         `SELECT count(*) FROM hosts`,
		"records":       `SELECT count(*) FROM records`,
		"record_states": `SELECT count(*) FROM record_states`,
		"delivered":     `SELECT count(*) FROM record_states WHERE state = 'delivered'`,
		"events":        `SELECT count(*) FROM events WHERE kind = 'import.created'`,
		"deliveries":    `SELECT count(*) FROM deliveries`,
	} {
		var n int
		if err := conn.QueryRow(ctx, query).Scan(&n); err != nil {
			b.Fatal(err)
		}
		counts[name] = n
	}
	records := hosts * recordsPerHost
	want := map[string]int{"services": 3, "hosts": hosts, "records": records, "record_states": 2 * records,
		"events": 3 + hosts + records, "deliveries": 0,
		// Per host: IPv4 on its name and nas; IPv6 on all three for every other host.
		"delivered": 2*hosts + 3*hosts/2}
	for name, n := range want {
		if counts[name] != n {
			b.Errorf("%s after the import: %d, want %d", name, counts[name], n)
		}
	}
	wantSummary := fmt.Sprintf("summary: services 3 created, 0 unchanged; hosts %d created, 0 unchanged; records %d created, 0 unchanged; 0 conflicts; 0 effective address mismatches; 0 deliveries queued; %d events",
		hosts, records, 3+hosts+records)
	if summary != wantSummary {
		b.Errorf("report summary:\n%s\nwant\n%s", summary, wantSummary)
	}

	// Other jobs on the machine slow it: the load average says how much.
	loadavg, _ := os.ReadFile("/proc/loadavg")
	load := strings.Fields(string(loadavg))
	load = load[:min(3, len(load))]
	fmt.Printf("\nDjango import: `ddnsbroker import ddnsbroker-django` of a dumpdata export into an empty database, %d cores, load average %s\n",
		runtime.NumCPU(), strings.Join(load, " "))
	fmt.Printf("%-40s %s (written in %s)\n", "export", fmt.Sprintf("%.0f MB", float64(size)/1e6), generated.Round(100*time.Millisecond))
	fmt.Printf("%-40s %d services, %d hosts, %d records, %d events\n", "imported", counts["services"], counts["hosts"], counts["records"], counts["events"])
	fmt.Printf("%-40s %s\n", "time", took.Round(100*time.Millisecond))
	fmt.Printf("%-40s %.0f MB\n", "import process peak RSS", float64(peak)/1e6)
	fmt.Printf("%-40s %10s: %s\n\n", "target", "< 60 s", metText(took < time.Minute))
}

// writeDjangoExport writes what `manage.py dumpdata ddnsbroker` writes
// (without --indent) for three services and n hosts with perHost records
// each, shaped like the fixture: dual-stack hosts on every other one, a
// record on the host's own name at a username_is_fqdn service and others
// under it with host identifiers, effective addresses as the original
// computed them. Every host shares one pbkdf2 hash so writing is fast.
// It returns the file's size.
func writeDjangoExport(b *testing.B, path string, n, perHost int) int64 {
	key, err := pbkdf2.Key(sha256.New, "bench-secret", []byte("benchsalt0123456789abc"), 260000, sha256.Size)
	if err != nil {
		b.Fatal(err)
	}
	hash := "pbkdf2_sha256$260000$benchsalt0123456789abc$" + base64.StdEncoding.EncodeToString(key)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	sep := "["
	object := func(model string, pk int, fields string) {
		fmt.Fprintf(w, `%s{"model": "ddnsbroker.%s", "pk": %d, "fields": {%s}}`, sep, model, pk, fields)
		sep = ", "
	}
	str := func(a netip.Addr) string {
		if !a.IsValid() {
			return "null"
		}
		return `"` + a.String() + `"`
	}
	at := func(i, ms int) string {
		return time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Second + time.Duration(ms)*time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	}
	object("updateservice", 1, `"name": "he.net", "url": "https://dyn.dns.he.net/nic/update", "username_is_fqdn": true`)
	object("updateservice", 2, `"name": "desec", "url": "https://update.dedyn.io/nic/update", "username_is_fqdn": false`)
	object("updateservice", 3, `"name": "legacy-extra-query", "url": "https://dyn.example.net/nic/update?system=dyndns", "username_is_fqdn": false`)
	type host struct {
		fqdn       string
		ipv4, ipv6 netip.Addr
		updated    string
	}
	all := make([]host, n)
	for i := range all {
		h := host{fqdn: fmt.Sprintf("h%06d.example.net", i+1),
			ipv4:    netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)}),
			updated: at(i, 21)}
		if i%2 == 0 {
			h.ipv6 = netip.MustParseAddr(fmt.Sprintf("2001:db8:%x:%x::1", i>>16, i&0xffff))
		}
		v6, v6Updated := "false", "null"
		if h.ipv6.IsValid() {
			v6, v6Updated = "true", `"`+h.updated+`"`
		}
		object("host", i+1, fmt.Sprintf(`"fqdn": %q, "secret": %q, "ipv4_enabled": true, "ipv6_enabled": %s, "ipv4": %s, "ipv6": %s, `+
			`"last_ipv4_update": %q, "last_ipv6_update": %s, "last_ipv4_change": %q, "last_ipv6_change": %s, "created": %q`,
			h.fqdn, hash, v6, str(h.ipv4), str(h.ipv6), h.updated, v6Updated, h.updated, v6Updated, at(i, 0)))
		all[i] = h
	}
	// Record k of a host: its own name at he.net (/32, /128), then names
	// under it with host identifiers at desec and the third service; the
	// third has IPv4 off.
	shapes := []struct {
		label    string
		service  int
		v4       bool
		v4m, v6m int
		v4id     string
		v6id     string
	}{
		{"", 1, true, 32, 128, "0.0.0.0", "::"},
		{"nas", 2, true, 24, 64, "0.0.0.23", "::23"},
		{"cam", 3, false, 32, 56, "0.0.0.0", "::cafe"},
		{"vpn", 2, true, 32, 128, "0.0.0.0", "::"},
	}
	pk := 0
	for i, h := range all {
		for k := 0; k < perHost; k++ {
			s := shapes[k%len(shapes)]
			fqdn := h.fqdn
			if s.label != "" {
				fqdn = fmt.Sprintf("%s%d.%s", s.label, k/len(shapes), h.fqdn)
			}
			username := "user" + fmt.Sprint(i+1)
			if s.service == 1 {
				username = fqdn
			}
			eff4, _ := netcalc.Effective4(h.ipv4, s.v4m, netip.MustParseAddr(s.v4id))
			eff6, _ := netcalc.Effective6(h.ipv6, netip.Prefix{}, s.v6m, netip.MustParseAddr(s.v6id))
			v4Updated, v6Updated := "null", "null"
			if eff4.IsValid() {
				v4Updated = `"` + h.updated + `"`
			}
			if eff6.IsValid() {
				v6Updated = `"` + h.updated + `"`
			}
			pk++
			object("record", pk, fmt.Sprintf(`"host": %d, "fqdn": %q, "ipv4_enabled": %t, "ipv6_enabled": true, "ipv4_netmask": %d, "ipv4_host_id": %q, `+
				`"ipv6_netmask": %d, "ipv6_host_id": %q, "effective_ipv4": %s, "effective_ipv6": %s, "service": %d, "username": %q, "password": %q, `+
				`"last_ipv4_update": %s, "last_ipv6_update": %s, "last_ipv4_change": %s, "last_ipv6_change": %s, "created": %q`,
				i+1, fqdn, s.v4, s.v4m, s.v4id, s.v6m, s.v6id, str(eff4), str(eff6), s.service, username, fmt.Sprintf("pw-%d-%d", i+1, k),
				v4Updated, v6Updated, v4Updated, v6Updated, at(i, 5+k)))
		}
	}
	fmt.Fprint(w, "]\n")
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}
