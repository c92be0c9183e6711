package manifest_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/manifest"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

const (
	secretKey  = "manifest-test-secret-key-0123456789abcdef"
	passphrase = "correct horse battery staple"
	tsigKey    = "c2VjcmV0LXRzaWcta2V5LWZvci10ZXN0cw=="
)

// api is the application's API as apply calls it, on st.
func api(st *store.Store) (*rest.Admin, error) {
	cfg, err := config.ServeDefaults([]byte(secretKey))
	if err != nil {
		return nil, err
	}
	a, err := app.Build(*cfg, app.Options{Store: st, PasswordParams: auth.TestParams})
	if err != nil {
		return nil, err
	}
	return a.API.Admin("test"), nil
}

func mustAPI(t *testing.T, st *store.Store) *rest.Admin {
	t.Helper()
	a, err := api(st)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func call[T any](t *testing.T, api *rest.Admin, method, path string, body any) T {
	t.Helper()
	var out T
	if err := api.Call(context.Background(), method, path, body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// seed makes a configuration with every kind of object and secret, the
// way an admin would, through the API. An rfc2136 service cannot be made
// without its credential: the second dyndns2 service stands for it in a
// file without secrets (tsig false).
func seed(t *testing.T, st *store.Store, tsig bool) {
	a := mustAPI(t, st)
	he := call[rest.Service](t, a, http.MethodPost, "/services", map[string]any{"name": "He.net", "protocol": "dyndns2",
		"url": "https://dyn.dns.he.net/nic/update", "username_is_fqdn": true})
	nsBody := map[string]any{"name": "ns1", "protocol": "http", "settings": map[string]any{"url": "https://ns1.example.net/update?name={fqdn}&ip={ip}"}}
	if tsig {
		nsBody = map[string]any{"name": "ns1", "protocol": "rfc2136",
			"settings": map[string]any{"server": "ns1.example.net:53", "zone": "example.net", "key_name": "ddns-key"}, "credential": tsigKey}
	}
	ns := call[rest.Service](t, a, http.MethodPost, "/services", nsBody)
	home := call[rest.HostCreated](t, a, http.MethodPost, "/hosts", map[string]any{"fqdn": "home.example.net", "notes": "the cellar"})
	office := call[rest.HostCreated](t, a, http.MethodPost, "/hosts", map[string]any{"fqdn": "office.example.net", "ipv4_enabled": false})
	call[rest.HostCreated](t, a, http.MethodPost, "/hosts", map[string]any{"fqdn": "spare.example.net", "enabled": false})
	call[rest.Record](t, a, http.MethodPost, "/records", map[string]any{"host_id": home.Id, "service_id": he.Id, "password": "he-password"})
	call[rest.Record](t, a, http.MethodPost, "/records", map[string]any{"host_id": home.Id, "service_id": ns.Id,
		"fqdn": "nas.example.net", "ipv6_netmask": 64, "ipv6_host_identifier": "::1:2:3:4", "ipv4_enabled": false, "keep_other_addresses": true})
	call[rest.Record](t, a, http.MethodPost, "/records", map[string]any{"host_id": office.Id, "service_id": he.Id,
		"username": "office-user", "password": "office-password"})
	call[rest.Webhook](t, a, http.MethodPost, "/webhooks", map[string]any{"name": "pager", "url": "https://hooks.example.net/ddns",
		"events": []string{"host.stale", "delivery.failed"}, "secret": "webhook-hmac-key"})
}

func export(t *testing.T, st *store.Store, pass string) []byte {
	t.Helper()
	m, err := manifest.Export(context.Background(), st, manifest.ExportOptions{Passphrase: pass, Box: secretbox.New([]byte(secretKey))})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func apply(t *testing.T, st *store.Store, file []byte, opt manifest.ApplyOptions) (manifest.Result, string, error) {
	t.Helper()
	m, err := manifest.Decode(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	opt.Out, opt.Box = &out, secretbox.New([]byte(secretKey))
	res, err := manifest.Apply(context.Background(), st, api, m, opt)
	return res, out.String(), err
}

// rows counts what a change would leave behind: objects and history.
func rows(t *testing.T, st *store.Store) int {
	var n int
	if err := st.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM hosts) + (SELECT count(*) FROM services)
		+ (SELECT count(*) FROM records) + (SELECT count(*) FROM webhooks) + (SELECT count(*) FROM events)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestExportApplyOnEmptyDatabaseGivesTheSameFile(t *testing.T) {
	src := storetest.New(t)
	seed(t, src, false)
	file := export(t, src, "")
	if again := export(t, src, ""); !bytes.Equal(file, again) {
		t.Fatalf("two exports differ:\n%s\n---\n%s", file, again)
	}
	for _, leak := range []string{"he-password", "office-password", "webhook-hmac-key", tsigKey, "argon2id$", "created_at", "id:"} {
		if bytes.Contains(file, []byte(leak)) {
			t.Errorf("the export without secrets holds %q:\n%s", leak, file)
		}
	}
	for _, want := range []string{"name: He.net", "username_is_fqdn: true", "fqdn: nas.example.net", "service: ns1",
		"ipv6_host_identifier: ::1:2:3:4", "- delivery.failed\n      - host.stale"} {
		if !bytes.Contains(file, []byte(want)) {
			t.Errorf("the export lacks %q:\n%s", want, file)
		}
	}

	dst := storetest.New(t)
	res, out, err := apply(t, dst, file, manifest.ApplyOptions{})
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if res.Created != 9 || res.Updated != 0 || res.Deleted != 0 {
		t.Errorf("apply on an empty database: %+v\n%s", res, out)
	}
	for _, want := range []string{"+ service He.net: dyndns2", "+ host home.example.net", "+ record nas.example.net via ns1: on host home.example.net",
		"+ webhook pager", "its update secret (shown once): "} {
		if !strings.Contains(out, want) {
			t.Errorf("apply's output lacks %q:\n%s", want, out)
		}
	}
	if got := export(t, dst, ""); !bytes.Equal(got, file) {
		t.Fatalf("export → apply on an empty database → export differs:\n%s\n---\n%s", file, got)
	}

	var byApply, events int
	if err := dst.Pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE actor = 'command test'), count(*) FROM events`).Scan(&byApply, &events); err != nil ||
		byApply != 9 || events != 9 {
		t.Errorf("apply's history: %d of %d events by the command (%v)", byApply, events, err)
	}
	// Applying again changes nothing, not even the history.
	before := rows(t, dst)
	res, out, err = apply(t, dst, file, manifest.ApplyOptions{})
	if err != nil || res.Changes() != 0 || res.Unchanged != 9 || !strings.Contains(out, "nothing to change") {
		t.Fatalf("second apply: %+v %v\n%s", res, err, out)
	}
	if after := rows(t, dst); after != before {
		t.Errorf("the second apply wrote %d rows", after-before)
	}
	// And the source, where it all came from, has nothing to change either.
	if res, out, err = apply(t, src, file, manifest.ApplyOptions{}); err != nil || res.Changes() != 0 {
		t.Errorf("apply on the source: %+v %v\n%s", res, err, out)
	}
}

func TestApplyWithSecretsRestoresThem(t *testing.T) {
	src := storetest.New(t)
	seed(t, src, true)
	file := export(t, src, passphrase)
	for _, leak := range []string{"he-password", "office-password", "webhook-hmac-key", tsigKey} {
		if bytes.Contains(file, []byte(leak)) {
			t.Errorf("the sealed export holds %q in clear", leak)
		}
	}
	dst := storetest.New(t)
	if _, _, err := apply(t, dst, file, manifest.ApplyOptions{Passphrase: "not the passphrase"}); !errors.Is(err, manifest.ErrPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, _, err := apply(t, dst, file, manifest.ApplyOptions{}); err == nil {
		t.Fatal("a file with secrets was applied without a passphrase")
	}
	if n := rows(t, dst); n != 0 {
		t.Fatalf("refused applies wrote %d rows", n)
	}
	res, out, err := apply(t, dst, file, manifest.ApplyOptions{Passphrase: passphrase})
	if err != nil || res.Created != 9 {
		t.Fatalf("apply: %+v %v\n%s", res, err, out)
	}
	if strings.Contains(out, "update secret (shown once)") {
		t.Errorf("hosts got new secrets although the file has theirs:\n%s", out)
	}
	box := secretbox.New([]byte(secretKey))
	ctx := context.Background()
	for _, fqdn := range []string{"home.example.net", "office.example.net"} {
		a, err1 := src.HostByFQDN(ctx, fqdn)
		b, err2 := dst.HostByFQDN(ctx, fqdn)
		if err1 != nil || err2 != nil || a.SecretHash != b.SecretHash {
			t.Errorf("host %s: update secret not restored (%v %v)", fqdn, err1, err2)
		}
	}
	he, _ := dst.ServiceByName(ctx, "he.net")
	office, err := dst.RecordByServiceFQDN(ctx, he.ID, "office.example.net")
	if err != nil {
		t.Fatal(err)
	}
	if pw, err := box.Open(office.Password, office.PasswordKey); err != nil || pw != "office-password" {
		t.Errorf("record password: %q %v", pw, err)
	}
	ns, _ := dst.ServiceByName(ctx, "ns1")
	if c, err := box.Open(ns.Credentials, ns.CredentialsKey); err != nil || c != tsigKey {
		t.Errorf("service credential: %q %v", c, err)
	}
	if a, b := export(t, src, ""), export(t, dst, ""); !bytes.Equal(a, b) {
		t.Errorf("the restored configuration differs:\n%s\n---\n%s", a, b)
	}
	// The file's secrets are the ones that count: a password changed since
	// is set back, and nothing else changes.
	if err := mustAPI(t, dst).Call(ctx, http.MethodPatch, "/records/"+strconv.FormatInt(office.ID, 10), map[string]any{"password": "new-office-password"}, nil); err != nil {
		t.Fatal(err)
	}
	res, out, err = apply(t, dst, file, manifest.ApplyOptions{Passphrase: passphrase})
	if err != nil || res.Updated != 1 || res.Changes() != 1 || !strings.Contains(out, "~ record office.example.net via He.net: password") {
		t.Fatalf("apply after a password change: %+v %v\n%s", res, err, out)
	}
	if strings.Contains(out, "office-password") || strings.Contains(out, "new-office-password") {
		t.Errorf("apply's output shows a secret:\n%s", out)
	}
	res, out, err = apply(t, dst, file, manifest.ApplyOptions{Passphrase: passphrase})
	if err != nil || res.Changes() != 0 {
		t.Fatalf("third apply: %+v %v\n%s", res, err, out)
	}
}

func TestApplyShowsTheDiffAndDryRunChangesNothing(t *testing.T) {
	st := storetest.New(t)
	seed(t, st, false)
	file := export(t, st, "")
	edited := strings.Replace(string(file), "ipv6_netmask: 64", "ipv6_netmask: 56", 1)
	edited = strings.Replace(edited, "notes: the cellar", "notes: the attic", 1)
	edited = strings.Replace(edited, "username_is_fqdn: true", "username_is_fqdn: false", 1)
	if edited == string(file) {
		t.Fatal("the edits did not apply to the file")
	}
	// The spare host and its absence: listed, kept.
	edited = strings.Replace(edited, "  - fqdn: spare.example.net\n    enabled: false\n    ipv4_enabled: true\n    ipv6_enabled: true\n    records: []\n", "", 1)

	before := rows(t, st)
	res, out, err := apply(t, st, []byte(edited), manifest.ApplyOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"~ service He.net: settings.username_is_fqdn", "~ host home.example.net: notes",
		"~ record nas.example.net via ns1: ipv6_netmask 64 → 56", "not in the file, kept (apply --prune deletes them): host spare.example.net",
		"0 to create, 3 to change, 0 to delete"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if res.Updated != 3 || rows(t, st) != before || !bytes.Equal(export(t, st, ""), file) {
		t.Fatalf("the dry run changed something: %+v", res)
	}

	res, out, err = apply(t, st, []byte(edited), manifest.ApplyOptions{})
	if err != nil || res.Updated != 3 {
		t.Fatalf("apply: %+v %v\n%s", res, err, out)
	}
	got := string(export(t, st, ""))
	if !strings.Contains(got, "ipv6_netmask: 56") || !strings.Contains(got, "notes: the attic") || !strings.Contains(got, "spare.example.net") {
		t.Errorf("after apply:\n%s", got)
	}
	res, out, err = apply(t, st, []byte(edited), manifest.ApplyOptions{Prune: true})
	if err != nil || res.Deleted != 1 || res.Changes() != 1 || !strings.Contains(out, "- host spare.example.net") {
		t.Fatalf("prune: %+v %v\n%s", res, err, out)
	}
	if got := export(t, st, ""); string(got) != edited {
		t.Errorf("after prune the export is not the file:\n%s\n---\n%s", got, edited)
	}
}

func TestApplyRefusesWhatTheAPIRefuses(t *testing.T) {
	st := storetest.New(t)
	seed(t, st, false)
	file := export(t, st, "")
	// A new host, a changed service, then a netmask the API refuses: all
	// or nothing, and the dry run meets the refusal too.
	bad := strings.Replace(string(file), "ipv6_netmask: 64", "ipv6_netmask: 129", 1)
	bad = strings.Replace(bad, "username_is_fqdn: true", "username_is_fqdn: false", 1)
	bad = strings.Replace(bad, "hosts:\n", "hosts:\n  - fqdn: new.example.net\n    records: []\n", 1)
	before := rows(t, st)
	for _, dry := range []bool{true, false} {
		_, out, err := apply(t, st, []byte(bad), manifest.ApplyOptions{DryRun: dry})
		if err == nil || !strings.Contains(err.Error(), "record nas.example.net via ns1") || !strings.Contains(err.Error(), "ipv6_netmask") ||
			!strings.Contains(err.Error(), "nothing was changed") || !strings.Contains(out, "+ host new.example.net") {
			t.Fatalf("dry run %t, a netmask of 129: %v\n%s", dry, err, out)
		}
		if rows(t, st) != before || !bytes.Equal(export(t, st, ""), file) {
			t.Fatalf("dry run %t: a refused apply changed something", dry)
		}
	}
	if _, err := manifest.Decode(strings.NewReader(strings.Replace(string(file), "notes:", "nots:", 1))); err == nil || !strings.Contains(err.Error(), "nots") {
		t.Errorf("an unknown key: %v", err)
	}
	if _, err := manifest.Decode(strings.NewReader("version: 1\nservices:\n  - {name: a, protocol: dyndns2}\n  - {name: A, protocol: dyndns2}\n")); err == nil ||
		!strings.Contains(err.Error(), "twice") {
		t.Errorf("a service twice: %v", err)
	}
	// A hand-written file: defaults as the API's.
	m, err := manifest.Decode(strings.NewReader("version: 1\nhosts:\n  - fqdn: r.example.net\n    records:\n      - service: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Hosts[0].Records[0]; r.FQDN != "r.example.net" || !*r.IPv4Enabled || *r.IPv6Netmask != 128 || r.IPv4HostIdentifier != "0.0.0.0" || !*m.Hosts[0].Enabled {
		t.Errorf("defaults: %+v", r)
	}
}
