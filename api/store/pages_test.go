package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// Listing by state reads a copy of each record's name kept in record_states:
// the pages must match what filtering the full listing gives, in the same
// order, with each record once, also after a rename.
func TestRecordsPageByState(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	h := mustHost(t, st, "router.example.com")
	h2 := mustHost(t, st, "other.example.com")
	s := mustService(t, st, "svc")
	var ids []int64
	for i := range 12 {
		host := h
		if i%4 == 3 {
			host = h2
		}
		r, err := st.CreateRecord(ctx, newRecord(host, s, fmt.Sprintf("n%02d.example.com", (i*7)%12)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	// Records 0, 2, 4, …: IPv4 failed; records 0, 3, 6, 9: IPv6 failed too
	// (record 0 and 6 are failed in both families).
	set := func(id int64, family int, state string) {
		if _, err := st.Pool.Exec(ctx, `UPDATE record_states SET state = $3 WHERE record_id = $1 AND family = $2`, id, family, state); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range ids {
		if i%2 == 0 {
			set(id, 4, "failed")
		}
		if i%3 == 0 {
			set(id, 6, "failed")
		}
	}
	// A rename after the state rows exist must move the record in the order.
	renamed := "a-first.example.com"
	if _, err := st.UpdateRecord(ctx, ids[4], store.RecordPatch{FQDN: &renamed}); err != nil {
		t.Fatal(err)
	}
	all := func(p store.RecordPage) []string {
		var names []string
		for {
			p.Limit = 3
			rows, err := st.RecordsPage(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				names = append(names, r.FQDN)
			}
			if len(rows) < p.Limit {
				return names
			}
			p.AfterFQDN, p.AfterID = rows[len(rows)-1].FQDN, rows[len(rows)-1].ID
		}
	}
	want := func(p store.RecordPage, keep func(store.Record) bool) []string {
		rows, err := st.RecordsPage(ctx, store.RecordPage{HostID: p.HostID, Search: p.Search, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range rows {
			if keep(r) {
				names = append(names, r.FQDN)
			}
		}
		return names
	}
	in := func(state string) func(store.Record) bool {
		return func(r store.Record) bool { return string(r.V4.State) == state || string(r.V6.State) == state }
	}
	for _, p := range []store.RecordPage{
		{State: "failed"},
		{State: "idle"},
		{State: "delivered"},
		{State: "failed", HostID: h2.ID},
		{State: "failed", Search: "N0"},
	} {
		got, exp := all(p), want(p, in(p.State))
		if !slices.Equal(got, exp) {
			t.Errorf("%+v: pages give %v, want %v", p, got, exp)
		}
		if p.State == "failed" && p.HostID == 0 && p.Search == "" && (len(got) != 8 || got[0] != renamed) {
			t.Errorf("failed records: %v, want 8 starting with the renamed one", got)
		}
	}
}

// Search by part of a name has a trigram index where pg_trgm can be
// created, as in the test cluster; either way it finds the same records.
func TestRecordSearchHasATrigramIndex(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	var n int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE indexname = 'records_fqdn_trgm'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("trigram index: %d, %v", n, err)
	}
	h := mustHost(t, st, "router.example.com")
	s := mustService(t, st, "svc")
	for _, name := range []string{"www.example.com", "mail.example.com", "www.example.org", "w.example.net"} {
		if _, err := st.CreateRecord(ctx, newRecord(h, s, name)); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string][]string{
		"WWW.":     {"www.example.com", "www.example.org"},
		"example":  {"mail.example.com", "w.example.net", "www.example.com", "www.example.org"},
		"w":        {"w.example.net", "www.example.com", "www.example.org"},
		"100%_":    nil,
		"ample.ne": {"w.example.net"},
	} {
		for range 7 { // past the point where a prepared statement would switch to a generic plan
			rows, err := st.RecordsPage(ctx, store.RecordPage{Search: q, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, r.FQDN)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("search %q: %v, want %v", q, got, want)
			}
		}
	}
}
