package auth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

type failureRow struct {
	Kind    string
	HostID  *int64
	Message string
	Data    struct {
		Count   int      `json:"count"`
		Reason  string   `json:"reason"`
		Names   []string `json:"names"`
		Account string   `json:"account"`
		Sources []struct {
			Source string `json:"source"`
			Count  int    `json:"count"`
		} `json:"sources"`
		Others int `json:"other_sources_count"`
	}
}

func failureRows(t *testing.T, st *store.Store) []failureRow {
	t.Helper()
	rows, err := st.Pool.Query(context.Background(), `SELECT kind, host_id, message, data FROM events WHERE kind LIKE 'auth.%' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []failureRow
	for rows.Next() {
		var r failureRow
		var data []byte
		if err := rows.Scan(&r.Kind, &r.HostID, &r.Message, &data); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &r.Data); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// 10,000 failures from 200 sources, against one host and unknown names,
// become one row per (account or unknown, reason) and flush, whose counts
// add up; the names an attacker chose are truncated and quoted.
func TestFailureLogAggregates(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	h, err := st.CreateHost(ctx, store.NewHost{FQDN: "router.example.net", SecretHash: "x", Enabled: true, IPv4Enabled: true, IPv6Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	l := auth.NewFailureLog(st, nil)
	long := strings.Repeat("A", 500) + "\x1b[31m\nfake line"
	for i := range 10_000 {
		f := auth.Failure{Kind: auth.KindUpdateAuthFailed, Reason: auth.FailureBadCredentials, Source: fmt.Sprintf("192.0.2.%d", i%200)}
		switch i % 4 {
		case 0:
			f.HostID, f.Account = h.ID, h.FQDN
		case 1:
			f.HostID, f.Account, f.Reason = h.ID, h.FQDN, auth.FailureRateLimited
		case 2:
			f.Name = long
		case 3:
			f.Name = fmt.Sprintf("evil-%d\x1b[2J\n.example", i)
		}
		l.Add(f)
	}
	if l.Pending() != 10_000 {
		t.Fatalf("pending %d", l.Pending())
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rows := failureRows(t, st)
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3 (host wrong secret, host refused, unknown hosts): %+v", len(rows), rows)
	}
	total := 0
	for _, r := range rows {
		total += r.Data.Count
		listed := r.Data.Others
		for _, s := range r.Data.Sources {
			listed += s.Count
		}
		if listed != r.Data.Count || len(r.Data.Sources) != 5 {
			t.Errorf("row %q: %d sources listed adding up to %d of %d", r.Message, len(r.Data.Sources), listed, r.Data.Count)
		}
		if strings.ContainsAny(r.Message, "\n\x1b") || strings.Contains(r.Message, strings.Repeat("A", 65)) {
			t.Errorf("attacker text not truncated and escaped: %q", r.Message)
		}
		for _, n := range r.Data.Names {
			if len([]rune(n)) > 65 {
				t.Errorf("name of %d characters kept", len([]rune(n)))
			}
		}
		if (r.HostID != nil) != (r.Data.Account == "router.example.net") {
			t.Errorf("row %q: host %v, account %q", r.Message, r.HostID, r.Data.Account)
		}
	}
	if total != 10_000 {
		t.Fatalf("counts add up to %d, want 10000", total)
	}
	if l.Pending() != 0 {
		t.Fatal("counts left after the flush")
	}
	// Nothing new: nothing written.
	if err := l.Flush(ctx); err != nil || len(failureRows(t, st)) != 3 {
		t.Fatalf("an empty flush wrote rows (%v)", err)
	}
}

// Many accounts cannot multiply the rows either: past a bound they share
// one row.
func TestFailureLogBoundsItsRows(t *testing.T) {
	st := storetest.New(t)
	l := auth.NewFailureLog(st, nil)
	for i := range 5000 {
		l.Add(auth.Failure{Kind: auth.KindLoginFailed, Account: fmt.Sprint("user", i), Reason: auth.FailureBadCredentials, Source: "192.0.2.1"})
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows := failureRows(t, st)
	total := 0
	for _, r := range rows {
		total += r.Data.Count
	}
	if len(rows) > 1001 || total != 5000 {
		t.Fatalf("%d rows counting %d failures, want at most 1001 rows counting 5000", len(rows), total)
	}
}

// A flush that cannot write keeps its counts for the next one.
func TestFailureLogKeepsCountsWhenTheDatabaseFails(t *testing.T) {
	st := storetest.New(t)
	l := auth.NewFailureLog(st, nil)
	for range 7 {
		l.Add(auth.Failure{Kind: auth.KindUpdateAuthFailed, Name: "x.example", Reason: auth.FailureBadCredentials, Source: "192.0.2.1"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Flush(ctx); err == nil {
		t.Fatal("a flush with a dead context succeeded")
	}
	l.Add(auth.Failure{Kind: auth.KindUpdateAuthFailed, Name: "y.example", Reason: auth.FailureBadCredentials, Source: "192.0.2.2"})
	if l.Pending() != 8 {
		t.Fatalf("pending %d after a failed flush, want 8", l.Pending())
	}
	done := make(chan struct{})
	runCtx, stop := context.WithCancel(context.Background())
	go func() { l.Run(runCtx, time.Hour); close(done) }()
	stop() // Run flushes once more when it stops
	<-done
	rows := failureRows(t, st)
	if len(rows) != 1 || rows[0].Data.Count != 8 || len(rows[0].Data.Names) != 2 {
		t.Fatalf("rows %+v", rows)
	}
}
