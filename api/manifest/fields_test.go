package manifest_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/manifest"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// ntfyURL is a channel's destination; its topic stands for the secret it
// carries, which only a sealed file may hold.
const ntfyURL = "ntfy://ntfy.example.net/ddns-topic-5ecret"

// seedSources makes a configuration that sets every field of hosts and
// records the address sources (issue 18), the stale limits and the
// notification channels (issue 17) added, through the API: two hosts
// feeding one name of an RRset service, a record in a subnet of the
// delegated prefix with a MAC identifier, static addresses, a Shoutrrr
// channel.
func seedSources(t *testing.T, st *store.Store) {
	a := mustAPI(t, st)
	ns := call[rest.Service](t, a, http.MethodPost, "/services", map[string]any{"name": "ns1", "protocol": "rfc2136", "shared": true,
		"settings": map[string]any{"server": "ns1.example.net:53", "zone": "example.net", "key_name": "ddns-key"}, "credential": tsigKey})
	home := call[rest.HostCreated](t, a, http.MethodPost, "/hosts", map[string]any{"fqdn": "home.example.net",
		"ipv4_private_allowed": true, "stale_after": 3600})
	office := call[rest.HostCreated](t, a, http.MethodPost, "/hosts", map[string]any{"fqdn": "office.example.net"})
	call[rest.Record](t, a, http.MethodPost, "/records", map[string]any{"host_id": home.Id, "service_id": ns.Id, "fqdn": "www.example.net",
		"ipv6_host_mac": "00:11:22:33:44:55", "ipv6_subnet_id": "0x1", "drop_when_stale": true, "keep_other_addresses": true})
	call[rest.Record](t, a, http.MethodPost, "/records", map[string]any{"host_id": office.Id, "service_id": ns.Id, "fqdn": "www.example.net",
		"ipv4_mode": "static", "ipv4_static_address": "192.0.2.5", "ipv6_mode": "static", "ipv6_static_address": "2001:db8::5"})
	call[rest.Notifier](t, a, http.MethodPost, "/notifiers", map[string]any{"name": "ops", "url": ntfyURL,
		"events": []string{"host.back", "address.changed"}, "enabled": false})
}

// channel is the one Shoutrrr channel of st.
func channel(t *testing.T, st *store.Store) store.Webhook {
	t.Helper()
	rows, err := st.WebhooksPage(context.Background(), "", 0, 10, false)
	if err != nil || len(rows) != 1 || rows[0].Destination == nil {
		t.Fatalf("channels: %+v %v", rows, err)
	}
	return rows[0]
}

func channelURL(t *testing.T, st *store.Store) string {
	t.Helper()
	w := channel(t, st)
	u, err := secretbox.New([]byte(secretKey)).Open(w.Destination, w.DestinationKey)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestExportCarriesSourcesStaleLimitsAndChannels(t *testing.T) {
	src := storetest.New(t)
	seedSources(t, src)
	file := export(t, src, passphrase)
	plain := export(t, src, "")
	for _, want := range []string{"shared: true", "ipv4_private_allowed: true", "stale_after: 3600", `ipv6_host_mac: "00:11:22:33:44:55"`,
		`ipv6_subnet_id: "0x1"`, "ipv6_netmask: 64", "drop_when_stale: true", "ipv4_mode: static\n        ipv4_static_address: 192.0.2.5",
		"ipv6_mode: static\n        ipv6_static_address: 2001:db8::5", "notifiers:\n  - name: ops\n    destination: ntfy://ntfy.example.net",
		"      - address.changed\n      - host.back\n    enabled: false\n    url: "} {
		if !bytes.Contains(file, []byte(want)) {
			t.Errorf("the export lacks %q:\n%s", want, file)
		}
	}
	// Both hosts' records of the shared name are there.
	if n := bytes.Count(plain, []byte("- fqdn: www.example.net\n        service: ns1")); n != 2 {
		t.Errorf("the shared name's records: %d of 2:\n%s", n, plain)
	}
	if bytes.Contains(file, []byte("5ecret")) || bytes.Contains(plain, []byte("5ecret")) || bytes.Contains(plain, []byte("url:")) {
		t.Errorf("the channel's URL is in clear or in a file without secrets:\n%s\n---\n%s", file, plain)
	}

	dst := storetest.New(t)
	res, out, err := apply(t, dst, file, manifest.ApplyOptions{Passphrase: passphrase})
	if err != nil || res.Created != 6 || res.Changes() != 6 {
		t.Fatalf("apply on an empty database: %+v %v\n%s", res, err, out)
	}
	if !strings.Contains(out, "+ notifier ops: ntfy://ntfy.example.net") || strings.Contains(out, "5ecret") {
		t.Errorf("apply's output:\n%s", out)
	}
	if got := export(t, dst, ""); !bytes.Equal(got, plain) {
		t.Fatalf("export → apply on an empty database → export differs:\n%s\n---\n%s", plain, got)
	}
	if u := channelURL(t, dst); u != ntfyURL {
		t.Errorf("the channel's URL: %q", u)
	}
	if res, out, err = apply(t, dst, file, manifest.ApplyOptions{Passphrase: passphrase}); err != nil || res.Changes() != 0 || res.Unchanged != 6 {
		t.Fatalf("second apply: %+v %v\n%s", res, err, out)
	}
	// The file's URL counts: one changed since is set back, unshown.
	if err := mustAPI(t, dst).Call(context.Background(), http.MethodPatch, "/notifiers/"+strconv.FormatInt(channel(t, dst).ID, 10),
		map[string]any{"url": "ntfy://ntfy.example.net/another-topic"}, nil); err != nil {
		t.Fatal(err)
	}
	res, out, err = apply(t, dst, file, manifest.ApplyOptions{Passphrase: passphrase})
	if err != nil || res.Changes() != 1 || !strings.Contains(out, "~ notifier ops: url") || strings.Contains(out, "topic") {
		t.Fatalf("apply after a URL change: %+v %v\n%s", res, err, out)
	}
	if u := channelURL(t, dst); u != ntfyURL {
		t.Errorf("the channel's URL after apply: %q", u)
	}
}

// edit replaces from by to in file, once, and fails when from is not there.
func edit(t *testing.T, file []byte, from, to string) []byte {
	t.Helper()
	if !bytes.Contains(file, []byte(from)) {
		t.Fatalf("the file lacks %q:\n%s", from, file)
	}
	return bytes.Replace(file, []byte(from), []byte(to), 1)
}

func TestApplyChangesEachNewField(t *testing.T) {
	st := storetest.New(t)
	seedSources(t, st)
	for _, c := range []struct{ from, to, shown string }{
		{"stale_after: 3600", "stale_after: 7200", "~ host home.example.net: stale_after 3600s → 7200s"},
		{"    stale_after: 7200\n", "", "~ host home.example.net: stale_after 7200s → the server's"},
		{"ipv4_private_allowed: true", "ipv4_private_allowed: false", "~ host home.example.net: ipv4_private_allowed true → false"},
		{"drop_when_stale: true", "drop_when_stale: false", "~ record www.example.net via ns1 on host home.example.net: drop_when_stale true → false"},
		{`ipv6_subnet_id: "0x1"`, `ipv6_subnet_id: "2"`, "~ record www.example.net via ns1 on host home.example.net: ipv6_subnet_id 0x1 → 0x2"},
		{`ipv6_host_mac: "00:11:22:33:44:55"`, `ipv6_host_mac: 00-11-22-33-44-66`,
			"~ record www.example.net via ns1 on host home.example.net: ipv6_host_mac 00:11:22:33:44:55 → 00-11-22-33-44-66"},
		{`ipv6_host_mac: 00:11:22:33:44:66`, `ipv6_host_identifier: ::5`,
			"~ record www.example.net via ns1 on host home.example.net: ipv6_host_mac 00:11:22:33:44:66 → none, ipv6_host_identifier ::211:22ff:fe33:4466 → ::5"},
		{"        ipv6_subnet_id: \"0x2\"\n", "", "~ record www.example.net via ns1 on host home.example.net: ipv6_netmask 64 → 128, ipv6_subnet_id 0x2 → none"},
		{"        ipv4_mode: static\n        ipv4_static_address: 192.0.2.5\n", "", "~ record www.example.net via ns1 on host office.example.net: ipv4_mode static 192.0.2.5 → derived"},
		{"ipv6_static_address: 2001:db8::5", "ipv6_static_address: 2001:db8::6", "~ record www.example.net via ns1 on host office.example.net: ipv6_mode static 2001:db8::5 → static 2001:db8::6"},
		{"shared: true", "shared: false", "~ service ns1: shared true → false"},
		{"    enabled: false\n", "    enabled: true\n", "~ notifier ops: enabled false → true"},
		{"      - host.back\n", "      - host.back\n      - host.stale\n", "~ notifier ops: events"},
	} {
		cur := export(t, st, "")
		edited := edit(t, cur, c.from, c.to)
		if strings.Contains(c.from, "ipv6_subnet_id: \"0x2\"") {
			edited = edit(t, edited, "ipv6_netmask: 64", "ipv6_netmask: 128")
		}
		before := rows(t, st)
		res, out, err := apply(t, st, edited, manifest.ApplyOptions{DryRun: true})
		if err != nil || res.Changes() != 1 || !strings.Contains(out, c.shown+"\n") || !strings.Contains(out, "0 to create, 1 to change, 0 to delete") {
			t.Fatalf("%s → %s: dry run: %+v %v\n%s", c.from, c.to, res, err, out)
		}
		if rows(t, st) != before || !bytes.Equal(export(t, st, ""), cur) {
			t.Fatalf("%s → %s: the dry run changed something", c.from, c.to)
		}
		if res, out, err = apply(t, st, edited, manifest.ApplyOptions{}); err != nil || res.Updated != 1 || res.Changes() != 1 {
			t.Fatalf("%s → %s: apply: %+v %v\n%s", c.from, c.to, res, err, out)
		}
		if res, out, err = apply(t, st, edited, manifest.ApplyOptions{}); err != nil || res.Changes() != 0 {
			t.Fatalf("%s → %s: the database does not hold the file: %+v %v\n%s", c.from, c.to, res, err, out)
		}
	}
	// The channel's URL, absent from the files, stayed.
	if u := channelURL(t, st); u != ntfyURL {
		t.Errorf("the channel's URL: %q", u)
	}
}

func TestApplyRefusesBadSourcesNamingTheField(t *testing.T) {
	st := storetest.New(t)
	seedSources(t, st)
	file := export(t, st, "")
	before := rows(t, st)
	for _, c := range []struct{ from, to, object, field string }{
		{"stale_after: 3600", "stale_after: 30", "host home.example.net", "stale_after"},
		{`ipv6_subnet_id: "0x1"`, `ipv6_subnet_id: "0xzz"`, "record www.example.net via ns1 on host home.example.net", "ipv6_subnet_id"},
		{`ipv6_host_mac: "00:11:22:33:44:55"`, `ipv6_host_mac: "00:11"`, "record www.example.net via ns1 on host home.example.net", "ipv6_host_mac"},
		{"ipv6_netmask: 64", "ipv6_netmask: 56", "record www.example.net via ns1 on host home.example.net", "ipv6_netmask"},
		{"ipv4_mode: static", "ipv4_mode: fixed", "record www.example.net via ns1 on host office.example.net", "ipv4_mode"},
		{"ipv4_static_address: 192.0.2.5", "ipv4_static_address: 2001:db8::1", "record www.example.net via ns1 on host office.example.net", "ipv4_static_address"},
		{"        ipv4_mode: static\n", "", "record www.example.net via ns1 on host office.example.net", "ipv4_static_address"},
	} {
		bad := edit(t, file, c.from, c.to)
		for _, dry := range []bool{true, false} {
			_, out, err := apply(t, st, bad, manifest.ApplyOptions{DryRun: dry})
			if err == nil || !strings.Contains(err.Error(), c.object) || !strings.Contains(err.Error(), c.field) {
				t.Errorf("%s → %s (dry run %t): %v\n%s", c.from, c.to, dry, err, out)
			}
			if rows(t, st) != before || !bytes.Equal(export(t, st, ""), file) {
				t.Fatalf("%s → %s (dry run %t): a refused apply changed something", c.from, c.to, dry)
			}
		}
	}
	both := edit(t, file, `ipv6_host_mac: "00:11:22:33:44:55"`, "ipv6_host_mac: \"00:11:22:33:44:55\"\n        ipv6_host_identifier: ::5")
	if _, err := manifest.Decode(bytes.NewReader(both)); err == nil || !strings.Contains(err.Error(), "record www.example.net via ns1: ipv6_host_mac") {
		t.Errorf("a MAC and an identifier: %v", err)
	}
}

// TestApplyNotifiersWithoutSecrets: a file without secrets changes a
// channel but not its URL, keeps that URL, cannot create a channel, and
// does not let a channel change kinds; pruning deletes one only when the
// file has the notifiers: key.
func TestApplyNotifiersWithoutSecrets(t *testing.T) {
	st := storetest.New(t)
	seedSources(t, st)
	file := export(t, st, "")
	before := rows(t, st)
	refused := func(what string, bad []byte, wants ...string) {
		t.Helper()
		_, out, err := apply(t, st, bad, manifest.ApplyOptions{})
		for _, want := range wants {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want %q\n%s", what, err, want, out)
			}
		}
		if rows(t, st) != before || !bytes.Equal(export(t, st, ""), file) {
			t.Fatalf("%s: a refused apply changed something", what)
		}
	}
	refused("a new channel without its URL", edit(t, file, "  - name: ops\n", "  - name: pager\n"),
		"notifier pager: url: a new channel needs its URL")
	refused("another destination without the URL", edit(t, file, "destination: ntfy://ntfy.example.net", "destination: telegram://"),
		"notifier ops: destination: the file says telegram:// but the channel sends to ntfy://ntfy.example.net")
	webhook := "webhooks:\n  - name: ops\n    url: https://hooks.example.net/ddns\n    events:\n      - host.stale\n    enabled: true\n"
	noChannels := file[:bytes.Index(file, []byte("webhooks: []\n"))]
	refused("a webhook of a channel's name", append(slices.Clone(noChannels), webhook...), "webhook ops: a notification channel of that name")
	if _, err := manifest.Decode(bytes.NewReader(edit(t, file, "webhooks: []\n", webhook))); err == nil ||
		!strings.Contains(err.Error(), "channel ops (notifiers:) is in the file twice") {
		t.Errorf("a webhook and a channel of one name: %v", err)
	}

	// A file from before channels were exported keeps them, even pruned.
	old := append(slices.Clone(noChannels), "webhooks: []\n"...)
	if res, out, err := apply(t, st, old, manifest.ApplyOptions{Prune: true}); err != nil || res.Changes() != 0 {
		t.Fatalf("a file without notifiers:, pruned: %+v %v\n%s", res, err, out)
	}
	res, out, err := apply(t, st, append(slices.Clone(old), "notifiers: []\n"...), manifest.ApplyOptions{})
	if err != nil || res.Changes() != 0 || !strings.Contains(out, "not in the file, kept (apply --prune deletes them): notifier ops") {
		t.Fatalf("notifiers: [] without --prune: %+v %v\n%s", res, err, out)
	}
	if res, out, err = apply(t, st, append(slices.Clone(old), "notifiers: []\n"...), manifest.ApplyOptions{Prune: true}); err != nil ||
		res.Deleted != 1 || res.Changes() != 1 || !strings.Contains(out, "- notifier ops") {
		t.Fatalf("notifiers: [] with --prune: %+v %v\n%s", res, err, out)
	}
}

// TestApplyMovesARecordToAnotherHost: a record the file gives to another
// host goes from the one it is on, pruned or not; the shared name's other
// record stays.
func TestApplyMovesARecordToAnotherHost(t *testing.T) {
	st := storetest.New(t)
	seedSources(t, st)
	file := export(t, st, "")
	start := bytes.Index(file, []byte("    records:\n      - fqdn: www.example.net"))
	end := bytes.Index(file, []byte("  - fqdn: office.example.net"))
	records := slices.Clone(file[start:end])
	moved := slices.Concat(file[:start], []byte("    records: []\n  - fqdn: lab.example.net\n    enabled: true\n    ipv4_enabled: true\n    ipv6_enabled: true\n"),
		records, file[end:])
	res, out, err := apply(t, st, moved, manifest.ApplyOptions{})
	if err != nil || res.Created != 2 || res.Deleted != 1 || res.Changes() != 3 ||
		!strings.Contains(out, "- record www.example.net via ns1: moves from host home.example.net to lab.example.net") {
		t.Fatalf("a move: %+v %v\n%s", res, err, out)
	}
	if got := export(t, st, ""); !bytes.Equal(got, moved) {
		t.Errorf("after the move the export is not the file:\n%s\n---\n%s", got, moved)
	}
}
