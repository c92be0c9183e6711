package djangoimport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/djangoimport"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

const (
	fixture   = "testdata/ddnsbroker-dumpdata.json"
	secretKey = "import-test-secret-key-0123456789abcdef"
)

// The plaintext secrets and passwords of the fixture (testdata/README.md of
// the shared fixtures).
var (
	hostSecrets = map[string]string{
		"loc01.example.com":  "1AM4S3CR3T",
		"home.example.org":   "correct-horse-battery-staple",
		"office.example.net": "S3cr3t!with:colon",
	}
	upstreamPasswords = []string{"pw-loc01", "53CR3TUPD4T3P455", "desec-token-1", "desec-token-2", "pw-cam", "legacy-pass"}
)

func readFixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t *testing.T, data []byte) *djangoimport.Export {
	t.Helper()
	exp, err := djangoimport.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return exp
}

func importData(t *testing.T, st *store.Store, data []byte, dryRun bool) (*djangoimport.Report, error) {
	t.Helper()
	return djangoimport.Import(context.Background(), st, parse(t, data), djangoimport.Options{SecretKey: []byte(secretKey), DryRun: dryRun,
		Broker: broker.New(st, slog.New(slog.DiscardHandler))})
}

func mustImport(t *testing.T, st *store.Store, data []byte) *djangoimport.Report {
	t.Helper()
	rep, err := importData(t, st, data, false)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return rep
}

// snapshot is every row of the broker's tables as text, to prove that a run
// changed nothing at all (updated_at included).
func snapshot(t *testing.T, st *store.Store) string {
	t.Helper()
	var out strings.Builder
	for _, table := range []string{"services", "hosts", "records", "record_states", "deliveries", "events"} {
		var rows string
		err := st.Pool.QueryRow(context.Background(),
			`SELECT coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '') FROM `+table+` t`).Scan(&rows)
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString("== " + table + "\n" + rows + "\n")
	}
	return out.String()
}

func count(t *testing.T, st *store.Store, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := st.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func statuses(rep *djangoimport.Report) map[string]djangoimport.Status {
	m := map[string]djangoimport.Status{}
	for _, it := range rep.Items {
		m[it.Kind+" "+it.Name] = it.Status
	}
	return m
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func addr(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	return netip.MustParseAddr(s)
}

func TestImportFixtureCreatesEverything(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	rep := mustImport(t, st, readFixture(t))

	if got := len(rep.Items); got != 12 {
		t.Fatalf("%d report items, want 12", got)
	}
	for _, it := range rep.Items {
		if it.Status != djangoimport.Created {
			t.Errorf("%s %s: %s, want created", it.Kind, it.Name, it.Status)
		}
	}
	if len(rep.Mismatches) != 0 || rep.Queued != 0 || rep.Events != 12 {
		t.Fatalf("mismatches %v, queued %d, events %d; want none, 0, 12", rep.Mismatches, rep.Queued, rep.Events)
	}

	// Services.
	services, err := st.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type svc struct {
		url            string
		usernameIsFQDN bool
	}
	wantServices := map[string]svc{
		"he.net":             {"https://dyn.dns.he.net/nic/update", true},
		"desec":              {"https://update.dedyn.io/nic/update", false},
		"legacy-extra-query": {"https://dyn.example.net/nic/update?system=dyndns", false},
	}
	serviceIDs := map[string]int64{}
	if len(services) != len(wantServices) {
		t.Fatalf("%d services, want %d", len(services), len(wantServices))
	}
	for _, s := range services {
		want, ok := wantServices[s.Name]
		if !ok {
			t.Fatalf("unexpected service %q", s.Name)
		}
		serviceIDs[s.Name] = s.ID
		var set map[string]any
		if err := json.Unmarshal(s.Settings, &set); err != nil {
			t.Fatal(err)
		}
		if s.Protocol != "dyndns2" || set["url"] != want.url || set["username_is_fqdn"] != want.usernameIsFQDN ||
			set["combined"] != false || set["use_myipv6"] != false || s.Credentials != nil {
			t.Errorf("service %s: protocol %s settings %s", s.Name, s.Protocol, s.Settings)
		}
	}

	// Hosts.
	type host struct {
		ipv4On, ipv6On                 bool
		ipv4, ipv6                     string
		v4Updated, v6Updated, created  string
		v4Changed, v6Changed, lastSeen string
		hashPrefix                     string
	}
	wantHosts := map[string]host{
		"loc01.example.com": {false, true, "", "2001:db8:1324:5678::1", "", "2026-11-26T20:14:40.021Z", "2026-11-26T20:14:29.092Z",
			"", "2026-11-26T20:14:40.021Z", "2026-11-26T20:14:40.021Z", "pbkdf2_sha256$260000$7EYn4rLTWHQB2IAKODcNvi$"},
		"home.example.org": {true, true, "203.0.113.77", "2001:db8:abcd:12::99", "2026-11-26T20:14:40.258Z", "2026-11-26T20:14:40.258Z",
			"2026-11-26T20:14:29.250Z", "2026-11-26T20:14:40.258Z", "2026-11-26T20:14:40.258Z", "2026-11-26T20:14:40.258Z",
			"pbkdf2_sha256$260000$kjN3kSyBSEtBdGhMQ133QA$"},
		"office.example.net": {true, false, "198.51.100.10", "", "2026-11-26T20:14:40.456Z", "", "2026-11-26T20:14:29.409Z",
			"2026-11-26T20:14:40.456Z", "", "2026-11-26T20:14:40.456Z", "pbkdf2_sha256$260000$PUb8IOEGNrm9J207DciaC5$"},
	}
	hosts, err := st.HostsPage(ctx, store.HostPage{Limit: 1000})
	if err != nil || len(hosts) != 3 {
		t.Fatalf("hosts: %d, %v", len(hosts), err)
	}
	hostIDs := map[string]int64{}
	timeIs := func(what string, got *time.Time, want string) {
		t.Helper()
		switch {
		case want == "" && got != nil:
			t.Errorf("%s = %s, want none", what, got)
		case want != "" && (got == nil || !got.Equal(ts(want))):
			t.Errorf("%s = %v, want %s", what, got, want)
		}
	}
	for _, h := range hosts {
		want, ok := wantHosts[h.FQDN]
		if !ok {
			t.Fatalf("unexpected host %q", h.FQDN)
		}
		hostIDs[h.FQDN] = h.ID
		if !h.Enabled || h.IPv4Enabled != want.ipv4On || h.IPv6Enabled != want.ipv6On || h.IPv4 != addr(want.ipv4) ||
			h.IPv6 != addr(want.ipv6) || h.Prefix.IsValid() || !strings.HasPrefix(h.SecretHash, want.hashPrefix) {
			t.Errorf("host %s: %+v", h.FQDN, h)
		}
		timeIs(h.FQDN+" ipv4 updated", h.IPv4UpdatedAt, want.v4Updated)
		timeIs(h.FQDN+" ipv6 updated", h.IPv6UpdatedAt, want.v6Updated)
		timeIs(h.FQDN+" ipv4 changed", h.IPv4ChangedAt, want.v4Changed)
		timeIs(h.FQDN+" ipv6 changed", h.IPv6ChangedAt, want.v6Changed)
		timeIs(h.FQDN+" last seen", h.LastSeenAt, want.lastSeen)
		c := h.CreatedAt
		timeIs(h.FQDN+" created", &c, want.created)
	}

	// Records, with the delivery state of each family.
	type family struct {
		on      bool
		netmask int
		id      string
		state   string // delivered or idle
		addr    string // desired = delivered
	}
	type record struct {
		host, service, username, password string
		v4, v6                            family
	}
	wantRecords := map[string]record{
		"loc01.example.com he.net": {"loc01.example.com", "he.net", "", "pw-loc01",
			family{true, 32, "0.0.0.0", "idle", ""}, family{true, 128, "::", "delivered", "2001:db8:1324:5678::1"}},
		"srv01.loc01.example.com he.net": {"loc01.example.com", "he.net", "", "53CR3TUPD4T3P455",
			family{false, 32, "0.0.0.0", "idle", ""}, family{true, 64, "::cafe", "delivered", "2001:db8:1324:5678::cafe"}},
		"nas.loc01.example.com desec": {"loc01.example.com", "desec", "loc01-desec", "desec-token-1",
			family{false, 32, "0.0.0.0", "idle", ""}, family{true, 56, "::42:0:0:0:1", "delivered", "2001:db8:1324:5642::1"}},
		"home.example.org desec": {"home.example.org", "desec", "home-desec", "desec-token-2",
			family{true, 32, "0.0.0.0", "delivered", "203.0.113.77"}, family{true, 128, "::", "delivered", "2001:db8:abcd:12::99"}},
		"cam.home.example.org he.net": {"home.example.org", "he.net", "", "pw-cam",
			family{true, 24, "0.0.0.23", "delivered", "203.0.113.23"}, family{true, 64, "::23", "delivered", "2001:db8:abcd:12::23"}},
		"vpn.office.example.net legacy-extra-query": {"office.example.net", "legacy-extra-query", "office", "legacy-pass",
			family{true, 32, "0.0.0.0", "delivered", "198.51.100.10"}, family{false, 128, "::", "idle", ""}},
	}
	serviceNames := map[int64]string{}
	for n, id := range serviceIDs {
		serviceNames[id] = n
	}
	records, err := st.RecordsPage(ctx, store.RecordPage{Limit: 1000})
	if err != nil || len(records) != len(wantRecords) {
		t.Fatalf("records: %d, %v", len(records), err)
	}
	box := secretbox.New([]byte(secretKey))
	for _, r := range records {
		key := r.FQDN + " " + serviceNames[r.ServiceID]
		want, ok := wantRecords[key]
		if !ok {
			t.Fatalf("unexpected record %q", key)
		}
		if r.HostID != hostIDs[want.host] || r.Username != want.username {
			t.Errorf("record %s: host %d username %q", key, r.HostID, r.Username)
		}
		if pw, err := box.Open(r.Password, r.PasswordKey); err != nil || pw != want.password {
			t.Errorf("record %s: password opens to %q, %v", key, pw, err)
		}
		for _, f := range []struct {
			fam     int
			on      bool
			netmask int
			id      netip.Addr
			want    family
		}{{4, r.IPv4Enabled, r.IPv4Netmask, r.IPv4HostIdentifier, want.v4}, {6, r.IPv6Enabled, r.IPv6Netmask, r.IPv6HostIdentifier, want.v6}} {
			s := r.State(netcalc.Family(f.fam))
			if f.on != f.want.on || f.netmask != f.want.netmask || f.id != addr(f.want.id) {
				t.Errorf("record %s IPv%d: on %t /%d id %s", key, f.fam, f.on, f.netmask, f.id)
			}
			if string(s.State) != f.want.state || s.Desired != addr(f.want.addr) || s.Delivered != addr(f.want.addr) || s.Attempts != 0 {
				t.Errorf("record %s IPv%d: state %s desired %s delivered %s, want %s %s", key, f.fam, s.State, s.Desired, s.Delivered,
					f.want.state, f.want.addr)
			}
			if (s.LastSuccessAt != nil) != (f.want.addr != "") {
				t.Errorf("record %s IPv%d: last success %v", key, f.fam, s.LastSuccessAt)
			}
		}
	}

	// No update storm: the upstreams hold these addresses already.
	if n := count(t, st, `SELECT count(*) FROM deliveries`); n != 0 {
		t.Fatalf("%d deliveries queued, want 0", n)
	}
	// One event per object, by the importer.
	if n := count(t, st, `SELECT count(*) FROM events WHERE kind = 'import.created' AND actor = 'import'`); n != 12 {
		t.Fatalf("%d import events, want 12", n)
	}
	if n := count(t, st, `SELECT count(*) FROM events`); n != 12 {
		t.Fatalf("%d events in all, want 12", n)
	}
}

func TestImportStoresNoPlaintextPassword(t *testing.T) {
	st := storetest.New(t)
	mustImport(t, st, readFixture(t))
	rows, err := st.Pool.Query(context.Background(), `SELECT password, password_key FROM records`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var pw []byte
		var key string
		if err := rows.Scan(&pw, &key); err != nil {
			t.Fatal(err)
		}
		n++
		if key == "" || len(pw) == 0 {
			t.Fatalf("record without a sealed password")
		}
		for _, plain := range upstreamPasswords {
			if bytes.Contains(pw, []byte(plain)) {
				t.Fatalf("records.password holds %q in plaintext", plain)
			}
		}
	}
	if n != 6 {
		t.Fatalf("%d records, want 6", n)
	}
	// Nor anywhere else: events, settings, hosts.
	dump := snapshot(t, st)
	for _, plain := range upstreamPasswords {
		if strings.Contains(dump, plain) {
			t.Fatalf("%q appears in plaintext in the database", plain)
		}
	}
}

func TestImportTwiceChangesNothing(t *testing.T) {
	st := storetest.New(t)
	data := readFixture(t)
	mustImport(t, st, data)
	before := snapshot(t, st)
	rep := mustImport(t, st, data)
	for _, it := range rep.Items {
		if it.Status != djangoimport.Unchanged {
			t.Errorf("second run: %s %s is %s: %s", it.Kind, it.Name, it.Status, it.Detail)
		}
	}
	if rep.Events != 0 || rep.Queued != 0 || rep.Count("", djangoimport.Created) != 0 {
		t.Fatalf("second run: %d events, %d queued", rep.Events, rep.Queued)
	}
	var out bytes.Buffer
	rep.Write(&out)
	if !strings.Contains(out.String(), "nothing was changed") {
		t.Fatalf("second run does not say it changed nothing:\n%s", out.String())
	}
	if after := snapshot(t, st); after != before {
		t.Fatalf("second run changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// An object imported earlier and changed since (the router updated, its
// hash was upgraded) is still this export's: it is left as it is, not a
// conflict.
func TestImportAgainAfterRoutersUpdatedKeepsTheirState(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	data := readFixture(t)
	mustImport(t, st, data)
	h, err := st.HostByFQDN(ctx, "home.example.org")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetHostAddresses(ctx, h.ID, store.HostAddresses{IPv4: netip.MustParseAddr("203.0.113.80"), IPv6: h.IPv6}); err != nil {
		t.Fatal(err)
	}
	if err := st.RehashHostSecret(ctx, h.ID, h.SecretHash, "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U", nil); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, st)
	rep := mustImport(t, st, data)
	for _, it := range rep.Items {
		if it.Status != djangoimport.Unchanged {
			t.Errorf("%s %s is %s: %s", it.Kind, it.Name, it.Status, it.Detail)
		}
		if it.Name == "home.example.org" && it.Kind == "host" && !strings.Contains(it.Detail, "changed since") {
			t.Errorf("host detail %q does not say it changed since", it.Detail)
		}
	}
	if after := snapshot(t, st); after != before {
		t.Fatal("the run changed the database")
	}
}

func TestImportConflictChangesNothing(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	// Created by hand, not by this export: same names, other content.
	if _, err := st.CreateHost(ctx, store.NewHost{FQDN: "home.example.org", SecretHash: "$argon2id$other", Enabled: true,
		IPv4Enabled: true, IPv6Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateService(ctx, store.NewService{Name: "DESEC", Protocol: "dyndns2",
		Settings: json.RawMessage(`{"url":"https://elsewhere.example/nic/update"}`)}); err != nil {
		t.Fatal(err)
	}
	// An identical service that exists already is fine.
	if _, err := st.CreateService(ctx, store.NewService{Name: "he.net", Protocol: "dyndns2",
		Settings: json.RawMessage(`{"url":"https://dyn.dns.he.net/nic/update","username_is_fqdn":true}`)}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, st)
	rep, err := importData(t, st, readFixture(t), false)
	if !errors.Is(err, djangoimport.ErrConflicts) {
		t.Fatalf("err = %v, want ErrConflicts", err)
	}
	got := statuses(rep)
	for key, want := range map[string]djangoimport.Status{
		"host home.example.org":  djangoimport.Conflict,
		"service desec":          djangoimport.Conflict,
		"service he.net":         djangoimport.Unchanged,
		"host loc01.example.com": djangoimport.Created,
	} {
		if got[key] != want {
			t.Errorf("%s: %s, want %s", key, got[key], want)
		}
	}
	var out bytes.Buffer
	rep.Write(&out)
	for _, want := range []string{"conflict   host home.example.org (ddnsbroker.host pk 2): exists with other content: secret hash",
		"conflict   service desec (ddnsbroker.updateservice pk 2): exists with other content", "nothing was changed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if after := snapshot(t, st); after != before {
		t.Fatalf("a conflicting import changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestImportRecordConflicts(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	he, err := st.CreateService(ctx, store.NewService{Name: "he.net", Protocol: "dyndns2",
		Settings: json.RawMessage(`{"url":"https://dyn.dns.he.net/nic/update","username_is_fqdn":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	other, err := st.CreateHost(ctx, store.NewHost{FQDN: "other.example.com", SecretHash: "x", Enabled: true, IPv4Enabled: true, IPv6Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRecord(ctx, store.NewRecord{HostID: other.ID, ServiceID: he.ID, FQDN: "cam.home.example.org",
		IPv4Enabled: true, IPv4Netmask: 32, IPv4HostIdentifier: addr("0.0.0.0"), IPv6Enabled: true, IPv6Netmask: 64,
		IPv6HostIdentifier: addr("::23"), Username: "someone"}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, st)
	rep, err := importData(t, st, readFixture(t), false)
	if !errors.Is(err, djangoimport.ErrConflicts) || rep.Count("", djangoimport.Conflict) != 1 {
		t.Fatalf("err = %v, report %+v", err, rep)
	}
	for _, it := range rep.Items {
		if it.Status == djangoimport.Conflict {
			want := "exists with other content: belongs to another host, IPv4 netmask /32 here, /24 in the export, IPv4 host identifier, username, password"
			if it.Name != "cam.home.example.org via he.net" || it.Detail != want {
				t.Fatalf("conflict %+v, want detail %q", it, want)
			}
		}
	}
	if snapshot(t, st) != before {
		t.Fatal("a conflicting import changed the database")
	}
}

func TestImportDryRunChangesNothing(t *testing.T) {
	st := storetest.New(t)
	before := snapshot(t, st)
	rep, err := importData(t, st, readFixture(t), true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count("", djangoimport.Created) != 12 || !rep.DryRun {
		t.Fatalf("dry run report: %+v", rep)
	}
	var out bytes.Buffer
	rep.Write(&out)
	if !strings.Contains(out.String(), "dry run: the transaction was rolled back, nothing was changed") {
		t.Fatalf("dry run does not say so:\n%s", out.String())
	}
	if after := snapshot(t, st); after != before {
		t.Fatalf("dry run changed the database:\n%s", after)
	}
}

func TestImportedHostsAuthenticateWithTheirOriginalSecrets(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	mustImport(t, st, readFixture(t))
	limits := auth.DefaultHostLimits()
	limits.Params = auth.TestParams
	hosts := auth.NewHosts(st, []byte("cache-key"), limits, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	src := netip.MustParseAddr("192.0.2.1")
	if _, err := hosts.Authenticate(ctx, "home.example.org", "wrong secret", src); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("wrong secret: err = %v", err)
	}
	for fqdn, secret := range hostSecrets {
		h, err := hosts.Authenticate(ctx, fqdn, secret, src)
		if err != nil {
			t.Fatalf("%s with its original secret: %v", fqdn, err)
		}
		if h.FQDN != fqdn {
			t.Fatalf("authenticated %s as %s", fqdn, h.FQDN)
		}
		row, err := st.HostByFQDN(ctx, fqdn)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(row.SecretHash, "$argon2id$") {
			t.Fatalf("%s: hash not upgraded after the first success: %.20s…", fqdn, row.SecretHash)
		}
		if ok, rehash, err := auth.VerifyPassword(auth.TestParams, row.SecretHash, secret); !ok || rehash || err != nil {
			t.Fatalf("%s: upgraded hash does not verify the secret: %t %t %v", fqdn, ok, rehash, err)
		}
	}
}

// editFixture changes fields of the fixture's objects: edits maps
// "model pk" to the fields to set.
func editFixture(t *testing.T, edits map[string]map[string]any) []byte {
	t.Helper()
	var objs []map[string]any
	if err := json.Unmarshal(readFixture(t), &objs); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		key := o["model"].(string) + " " + jsonText(o["pk"])
		for k, v := range edits[key] {
			fields := o["fields"].(map[string]any)
			if v == deleteField {
				delete(fields, k)
			} else {
				fields[k] = v
			}
		}
	}
	b, err := json.Marshal(objs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var deleteField = &struct{}{}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestImportMismatchIsReportedAndCorrected(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	data := editFixture(t, map[string]map[string]any{
		"ddnsbroker.record 5": {"effective_ipv4": "203.0.113.99"},
	})
	rep := mustImport(t, st, data)
	if len(rep.Mismatches) != 1 || rep.Queued != 1 {
		t.Fatalf("mismatches %v, queued %d; want 1 and 1", rep.Mismatches, rep.Queued)
	}
	m := rep.Mismatches[0]
	if m.Record != "cam.home.example.org via he.net" || m.Family != 4 || m.Original != addr("203.0.113.99") ||
		m.Computed != addr("203.0.113.23") || !m.Queued {
		t.Fatalf("mismatch %+v", m)
	}
	var out bytes.Buffer
	rep.Write(&out)
	if !strings.Contains(out.String(), "MISMATCH: cam.home.example.org via he.net (ddnsbroker.record pk 5): IPv4 effective address differs: "+
		"the original computed 203.0.113.99, this broker computes 203.0.113.23") {
		t.Fatalf("report:\n%s", out.String())
	}
	svc, err := st.ServiceByName(ctx, "he.net")
	if err != nil {
		t.Fatal(err)
	}
	r, err := st.RecordByServiceFQDN(ctx, svc.ID, "cam.home.example.org")
	if err != nil {
		t.Fatal(err)
	}
	if r.V4.Delivered != addr("203.0.113.99") || r.V4.Desired != addr("203.0.113.23") || r.V4.State != "pending" {
		t.Fatalf("IPv4 state %+v", r.V4)
	}
	if r.V6.State != "delivered" {
		t.Fatalf("IPv6 state %+v", r.V6)
	}
	ds, err := st.DeliveriesPage(ctx, r.ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Family != 4 || ds[0].Address != addr("203.0.113.23") || ds[0].Reason != "import" || ds[0].State != "pending" {
		t.Fatalf("deliveries %+v", ds)
	}
	if n := count(t, st, `SELECT count(*) FROM deliveries`); n != 1 {
		t.Fatalf("%d deliveries, want 1", n)
	}
	if n := count(t, st, `SELECT count(*) FROM events WHERE record_id = $1 AND data ? 'mismatches'`, r.ID); n != 1 {
		t.Fatal("the record's import event does not carry the mismatch")
	}
}

// The original computed addresses whatever the enabled flags said; a
// family that is off here is recorded as delivered but never sent.
func TestImportFamilyOffIsNotSent(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	data := editFixture(t, map[string]map[string]any{
		"ddnsbroker.record 4": {"ipv4_enabled": false},
	})
	rep := mustImport(t, st, data)
	if len(rep.Mismatches) != 0 || rep.Queued != 0 {
		t.Fatalf("mismatches %v, queued %d", rep.Mismatches, rep.Queued)
	}
	svc, _ := st.ServiceByName(ctx, "desec")
	r, err := st.RecordByServiceFQDN(ctx, svc.ID, "home.example.org")
	if err != nil {
		t.Fatal(err)
	}
	if r.V4.State != "idle" || r.V4.Desired.IsValid() || r.V4.Delivered != addr("203.0.113.77") {
		t.Fatalf("IPv4 state %+v", r.V4)
	}
}

func TestImportParseFixtureNotesOtherApps(t *testing.T) {
	var objs []json.RawMessage
	data := editFixture(t, map[string]map[string]any{
		"ddnsbroker.host 1": {"enabled": true, "created": "2026-11-26T20:14:29.092"},
	})
	if err := json.Unmarshal(data, &objs); err != nil {
		t.Fatal(err)
	}
	objs = append(objs, json.RawMessage(`{"model": "auth.user", "pk": 1, "fields": {"username": "admin", "password": "pbkdf2_sha256$x"}}`),
		json.RawMessage(`{"model": "contenttypes.contenttype", "pk": 7, "fields": {}}`))
	data, _ = json.Marshal(objs)
	exp := parse(t, data)
	if len(exp.Services) != 3 || len(exp.Hosts) != 3 || len(exp.Records) != 6 {
		t.Fatalf("parsed %d services, %d hosts, %d records", len(exp.Services), len(exp.Hosts), len(exp.Records))
	}
	notes := strings.Join(exp.Notes, "\n")
	for _, want := range []string{"ignored 1 auth.user object(s)", "ignored 1 contenttypes.contenttype",
		"ddnsbroker.host fields not imported (unknown to this importer): enabled", "read as UTC"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q: %s", want, notes)
		}
	}
	if !exp.Hosts[0].Created.Equal(ts("2026-11-26T20:14:29.092Z")) {
		t.Errorf("naive time read as %s", exp.Hosts[0].Created)
	}
}

func TestImportRejectsInvalidInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		data  func(t *testing.T) []byte
		wants []string
	}{
		{"malformed JSON", func(*testing.T) []byte { return []byte("[\n{\"model\": \"ddnsbroker.host\",\n  \"pk\": 1,,\n") },
			[]string{"not valid JSON: line 3, column"}},
		{"truncated", func(t *testing.T) []byte { return readFixture(t)[:500] }, []string{"ends too early"}},
		{"not an array", func(*testing.T) []byte { return []byte(`{"model": "ddnsbroker.host"}`) }, []string{"want a JSON array"}},
		{"unknown model of the app", func(t *testing.T) []byte {
			return []byte(`[{"model": "ddnsbroker.zone", "pk": 4, "fields": {}}]`)
		}, []string{"ddnsbroker.zone pk 4, field model: unknown model"}},
		{"missing field", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.record 3": {"ipv6_netmask": deleteField}})
		}, []string{"ddnsbroker.record pk 3, field ipv6_netmask: missing"}},
		{"invalid fqdn", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.host 2": {"fqdn": "home..example.org"}})
		}, []string{"ddnsbroker.host pk 2, field fqdn:", "not a valid DNS name"}},
		{"invalid address", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.host 3": {"ipv4": "198.51.100.300"}})
		}, []string{`ddnsbroker.host pk 3, field ipv4: "198.51.100.300" is not an IP address`}},
		{"wrong family", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.host 1": {"ipv6": "192.0.2.1"}})
		}, []string{`ddnsbroker.host pk 1, field ipv6: "192.0.2.1" is not an IPv6 address`}},
		{"multicast host address", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.host 1": {"ipv6": "ff02::1"}})
		}, []string{`ddnsbroker.host pk 1, field ipv6:`, "multicast"}},
		{"netmask out of range", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.record 5": {"ipv4_netmask": 33}})
		}, []string{"ddnsbroker.record pk 5, field ipv4_netmask: must be a whole number from 0 to 32, got 33"}},
		{"host identifier of the wrong family", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.record 2": {"ipv6_host_id": "0.0.0.1"}})
		}, []string{`ddnsbroker.record pk 2, field ipv6_host_id: "0.0.0.1" is not an IPv6 address`}},
		{"effective address invalid", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.record 6": {"effective_ipv4": "None"}})
		}, []string{`ddnsbroker.record pk 6, field effective_ipv4: "None" is not an IP address`}},
		{"unsupported hash", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.host 1": {"secret": "md5$salt$abc"}})
		}, []string{`ddnsbroker.host pk 1, field secret: hash algorithm "md5" is not supported`}},
		{"malformed hash", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.host 1": {"secret": "pbkdf2_sha256$260000$salt$short"}})
		}, []string{`ddnsbroker.host pk 1, field secret: malformed pbkdf2_sha256 hash`}},
		{"time", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.host 2": {"created": "yesterday"}})
		}, []string{`ddnsbroker.host pk 2, field created: "yesterday" is not a time`}},
		{"service url with credentials", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.updateservice 2": {"url": "https://u:p@update.dedyn.io/nic/update"}})
		}, []string{"ddnsbroker.updateservice pk 2, field url: contains a user name or password"}},
		{"dangling reference", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.record 1": {"host": 9}})
		}, []string{"ddnsbroker.record pk 1, field host: ddnsbroker.host pk 9 is not in the export"}},
		{"natural key", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.record 1": {"service": []string{"he.net"}}})
		}, []string{"ddnsbroker.record pk 1, field service: must be the pk of a ddnsbroker.updateservice"}},
		{"duplicate host", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.host 3": {"fqdn": "HOME.example.org."}})
		}, []string{`ddnsbroker.host pk 3, field fqdn: "home.example.org" is also the FQDN of ddnsbroker.host pk 2`}},
		{"null where required", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.updateservice 1": {"username_is_fqdn": nil}})
		}, []string{"ddnsbroker.updateservice pk 1, field username_is_fqdn: must not be null"}},
		{"several problems at once", func(t *testing.T) []byte {
			return editFixture(t, map[string]map[string]any{"ddnsbroker.record 1": {"ipv4_netmask": -1}, "ddnsbroker.host 1": {"ipv4_enabled": "yes"}})
		}, []string{"2 problems", "ddnsbroker.record pk 1, field ipv4_netmask", "ddnsbroker.host pk 1, field ipv4_enabled: must be true or false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := djangoimport.Parse(bytes.NewReader(tc.data(t)))
			if err == nil {
				t.Fatal("parsed without error")
			}
			for _, want := range tc.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
		})
	}
}

func TestImportNeedsASecretKey(t *testing.T) {
	st := storetest.New(t)
	_, err := djangoimport.Import(context.Background(), st, parse(t, readFixture(t)), djangoimport.Options{})
	if err == nil || !strings.Contains(err.Error(), "secret key") {
		t.Fatalf("err = %v", err)
	}
}

// A large export is read on every core in parts; what comes out is what
// one reader would list: problems in the order of the objects, and the
// notes of every part.
func TestImportParseLargeExportInParts(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	const n = 4000
	export := func(bad ...int) []byte {
		var b strings.Builder
		b.WriteString("[")
		for pk := 1; pk <= n; pk++ {
			secret := "pbkdf2_sha256$260000$7EYn4rLTWHQB2IAKODcNvi$lLiktyula3q+uZ96++yssqj/PUDWONH8D53N4d004UE="
			for _, x := range bad {
				if x == pk {
					secret = "md5$x$y"
				}
			}
			created, extra := "2026-11-26T20:14:29.092Z", ""
			switch pk {
			case 3500:
				extra = `, "color": "blue"` // a field of a newer version
			case n:
				created = "2026-11-26T20:14:29.092" // USE_TZ = False
			}
			fmt.Fprintf(&b, `{"model": "ddnsbroker.host", "pk": %d, "fields": {"fqdn": "h%d.example.com", "secret": %q, "ipv4_enabled": true, `+
				`"ipv6_enabled": false, "ipv4": null, "ipv6": null, "last_ipv4_update": null, "last_ipv6_update": null, "last_ipv4_change": null, `+
				`"last_ipv6_change": null, "created": %q%s}}, `, pk, pk, secret, created, extra)
		}
		b.WriteString(`{"model": "auth.user", "pk": 1, "fields": {}}]`)
		return []byte(b.String())
	}
	exp, err := djangoimport.Parse(bytes.NewReader(export()))
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Hosts) != n || exp.Hosts[0].PK != 1 || exp.Hosts[n-1].FQDN != fmt.Sprintf("h%d.example.com", n) {
		t.Fatalf("hosts: %d, first %+v", len(exp.Hosts), exp.Hosts[0])
	}
	notes := strings.Join(exp.Notes, "\n")
	for _, want := range []string{"ignored 1 auth.user object(s)", "ddnsbroker.host fields not imported (unknown to this importer): color", "Django ran with USE_TZ = False"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	_, err = djangoimport.Parse(bytes.NewReader(export(3990, 7, 2100, 12)))
	var invalid *djangoimport.InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("err = %v, want an InvalidError", err)
	}
	var got []string
	for _, p := range invalid.Problems {
		got = append(got, p.Object)
	}
	want := []string{"ddnsbroker.host pk 7", "ddnsbroker.host pk 12", "ddnsbroker.host pk 2100", "ddnsbroker.host pk 3990"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("problems in the order %v, want %v", got, want)
	}
}
