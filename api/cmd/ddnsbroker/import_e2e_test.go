package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// An imported host keeps working with its router unchanged: its original
// secret authenticates over dyndns2, the same addresses answer nochg, the
// effective addresses equal the original's, and the hash becomes argon2id.
func TestImportedHostsUpdateOverDyndns2(t *testing.T) {
	dbURL := storetest.NewURL(t)
	env := map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_SECRET_KEY": testSecretKey}
	var out bytes.Buffer
	code := run(context.Background(), &environ{stdin: strings.NewReader(""), stdout: &out, stderr: &out,
		getenv: func(k string) string { return env[k] }}, []string{"import", "ddnsbroker-django", importFixture})
	if code != 0 {
		t.Fatalf("import: %d\n%s", code, out.String())
	}
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL})
	hosts := []struct{ fqdn, secret, myip, want string }{
		{"loc01.example.com", "1AM4S3CR3T", "2001:db8:1324:5678::1", "nochg 2001:db8:1324:5678::1"},
		{"home.example.org", "correct-horse-battery-staple", "203.0.113.77,2001:db8:abcd:12::99", "nochg 203.0.113.77,2001:db8:abcd:12::99"},
		{"office.example.net", "S3cr3t!with:colon", "198.51.100.10", "nochg 198.51.100.10"},
	}
	for _, h := range hosts {
		req, _ := http.NewRequest("GET", srv.URL+"/nic/update?hostname="+h.fqdn+"&myip="+h.myip, nil)
		req.SetBasicAuth(h.fqdn, h.secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != h.want {
			t.Errorf("%s: %d %q, want %q", h.fqdn, resp.StatusCode, b, h.want)
		}
	}
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, h := range hosts {
		a, err := st.HostForAuth(context.Background(), h.fqdn)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(a.SecretHash, "$argon2id$") {
			t.Errorf("%s: hash not upgraded: %.20s…", h.fqdn, a.SecretHash)
		}
	}
	// The original's effective addresses stand, and nothing was sent.
	recs, err := st.RecordsPage(context.Background(), store.RecordPage{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"srv01.loc01.example.com/6": "2001:db8:1324:5678::cafe", "nas.loc01.example.com/6": "2001:db8:1324:5642::1",
		"cam.home.example.org/4": "203.0.113.23", "cam.home.example.org/6": "2001:db8:abcd:12::23", "vpn.office.example.net/4": "198.51.100.10"}
	for _, r := range recs {
		for fam, st := range map[string]store.RecordState{"4": r.V4, "6": r.V6} {
			if w, ok := want[r.FQDN+"/"+fam]; ok {
				if st.Desired.String() != w || st.Delivered.String() != w || st.State != "delivered" {
					t.Errorf("%s/%s: desired %v delivered %v state %s, want %s delivered", r.FQDN, fam, st.Desired, st.Delivered, st.State, w)
				}
			}
		}
	}
	var n int
	if err := st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM deliveries`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("deliveries after import and nochg updates: %d %v", n, err)
	}
}
