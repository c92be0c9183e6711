package store_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// The set-based statements of an import answer in the order they were
// given, whatever order PostgreSQL finds the rows in, and keep what the
// other system recorded.
func TestImportStatementsKeepTheirOrder(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	svc := mustService(t, st, "he.net")
	existing := mustHost(t, st, "existing.example.com")
	at := time.Date(2026, 11, 26, 20, 14, 40, 21e6, time.UTC)
	in := []store.ImportedHost{
		{NewHost: store.NewHost{FQDN: "zeta.example.com", SecretHash: "x", Enabled: true, IPv4Enabled: true, IPv4: netip.MustParseAddr("192.168.1.2")},
			IPv4UpdatedAt: &at, CreatedAt: at},
		{NewHost: store.NewHost{FQDN: "alpha.example.com", SecretHash: "y", Enabled: true, IPv6Enabled: true, IPv6: netip.MustParseAddr("2001:db8::1")},
			IPv6ChangedAt: &at, LastSeenAt: &at, CreatedAt: at},
	}
	hosts, err := st.ImportHosts(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 2 || hosts[0].FQDN != "zeta.example.com" || hosts[1].FQDN != "alpha.example.com" || hosts[0].ID >= hosts[1].ID {
		t.Fatalf("hosts: %+v", hosts)
	}
	if !hosts[0].PrivateIPv4Allowed || hosts[1].PrivateIPv4Allowed || hosts[0].IPv4UpdatedAt == nil || !hosts[0].IPv4UpdatedAt.Equal(at) ||
		!hosts[1].CreatedAt.Equal(at) || hosts[1].LastSeenAt == nil || hosts[1].IPv6 != in[1].IPv6 || hosts[1].IPv4.IsValid() {
		t.Errorf("hosts do not keep what they had elsewhere: %+v", hosts)
	}
	_, err = st.ImportHosts(ctx, []store.ImportedHost{{NewHost: store.NewHost{FQDN: "fresh.example.com", SecretHash: "x"}, CreatedAt: at},
		{NewHost: store.NewHost{FQDN: "existing.example.com", SecretHash: "x"}, CreatedAt: at}})
	wantErr(t, "an FQDN taken", err, store.ErrConflict)

	found, err := st.HostsByFQDN(ctx, []string{"ALPHA.example.com", "nobody.example.com", "existing.example.com", "zeta.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 4 || found[0].ID != hosts[1].ID || found[1].ID != 0 || found[2].ID != existing.ID || found[3].ID != hosts[0].ID {
		t.Fatalf("hosts by fqdn: %+v", found)
	}

	rec := func(h store.Host, fqdn string) store.ImportedRecord {
		return store.ImportedRecord{NewRecord: newRecord(h, svc, fqdn), CreatedAt: at}
	}
	r1 := rec(hosts[0], "zeta.example.com")
	r1.V4 = store.ImportedState{Desired: netip.MustParseAddr("192.168.1.2"), Delivered: netip.MustParseAddr("192.168.1.2"),
		State: store.SyncDelivered, LastSuccessAt: &at}
	r2 := rec(hosts[1], "www.alpha.example.com")
	r2.Password, r2.PasswordKey = []byte("sealed"), "k1"
	records, err := st.ImportRecords(ctx, []store.ImportedRecord{r1, r2, rec(hosts[1], "a.alpha.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 3 || records[0].FQDN != "zeta.example.com" || records[1].FQDN != "www.alpha.example.com" || records[2].FQDN != "a.alpha.example.com" {
		t.Fatalf("records: %+v", records)
	}
	if records[0].V4.State != store.SyncDelivered || records[0].V4.Delivered != r1.V4.Delivered || records[0].V4.LastSuccessAt == nil ||
		records[0].V6.State != store.SyncIdle || string(records[1].Password) != "sealed" || records[1].PasswordKey != "k1" ||
		records[2].Password != nil || !records[2].CreatedAt.Equal(at) {
		t.Errorf("records do not keep what they had elsewhere: %+v", records)
	}
	_, err = st.ImportRecords(ctx, []store.ImportedRecord{rec(hosts[1], "www.alpha.example.com")})
	wantErr(t, "a name the host publishes already through the service", err, store.ErrConflict)
	// Another host may publish the same name (shared names).
	shared, err := st.ImportRecords(ctx, []store.ImportedRecord{rec(hosts[0], "a.alpha.example.com"), rec(hosts[1], "b.alpha.example.com")})
	if err != nil || len(shared) != 2 || shared[0].HostID != hosts[0].ID || shared[0].FQDN != "a.alpha.example.com" || shared[1].FQDN != "b.alpha.example.com" {
		t.Fatalf("a shared name: %+v %v", shared, err)
	}

	byName, err := st.RecordsByServiceFQDN(ctx, []int64{svc.ID, svc.ID, svc.ID + 1}, []string{"WWW.alpha.example.com", "none.example.com", "zeta.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(byName) != 3 || byName[0].ID != records[1].ID || byName[1].ID != 0 || byName[2].ID != 0 {
		t.Fatalf("records by service and fqdn: %+v", byName)
	}

	events := []store.Event{
		{Kind: store.EventImportCreated, HostID: &hosts[1].ID, Actor: "import", Message: "second host", Data: json.RawMessage(`{"pk": 2}`)},
		{Kind: store.EventImportCreated, HostID: &hosts[0].ID, Actor: "import", Message: "first host"},
		{Kind: store.EventImportCreated, RecordID: &records[0].ID, ServiceID: &svc.ID, Actor: "import", Message: "record"},
	}
	if err := st.AddEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	got, err := st.EventsPage(ctx, store.EventPage{Kind: string(store.EventImportCreated), Limit: 10})
	if err != nil || len(got) != 3 {
		t.Fatalf("events: %+v %v", got, err)
	}
	// Newest first: the order given, reversed.
	if got[0].Message != "record" || got[1].Message != "first host" || got[2].Message != "second host" ||
		string(got[2].Data) != `{"pk": 2}` || string(got[1].Data) != `{}` || *got[0].RecordID != records[0].ID || *got[0].ServiceID != svc.ID {
		t.Errorf("events: %+v", got)
	}
}
