package providertest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// PowerDNSInstall is what the tests tell whoever runs them without
// PowerDNS.
const PowerDNSInstall = "install PowerDNS with its sqlite3 backend: apt-get install -y pdns-server pdns-backend-sqlite3 sqlite3"

// PowerDNS is a real PowerDNS Authoritative server on 127.0.0.1: DNS on a
// free port, the HTTP API (api=yes) on another, a generated API key, zones
// in a sqlite3 database created with the schema Debian ships.
type PowerDNS struct {
	t   *testing.T
	dir string
	// Addr is the DNS server's host:port; APIURL the API's base
	// (http://127.0.0.1:port/api/v1); APIKey its key.
	Addr   string
	APIURL string
	APIKey string
	bin    string
	dropTo string // user to drop to when running as root

	daemon
}

// powerdnsSchemas are where Debian's pdns-backend-sqlite3 puts the schema.
var powerdnsSchemas = []string{"/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql",
	"/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"}

// StartPowerDNS creates the database, starts pdns_server and waits until
// its DNS and API answer. As root, pdns_server drops to the user pdns
// (setuid/setgid), which then owns the directory; otherwise it runs as the
// test's user.
func StartPowerDNS(t *testing.T) *PowerDNS {
	t.Helper()
	bin, err := exec.LookPath("pdns_server")
	if err != nil {
		bin = "/usr/sbin/pdns_server"
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("pdns_server is not installed; the powerdns tests need a real one: %s", PowerDNSInstall)
		}
	}
	sqlite, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Fatalf("sqlite3 is not installed: %s", PowerDNSInstall)
	}
	schema := ""
	for _, s := range powerdnsSchemas {
		if _, err := os.Stat(s); err == nil {
			schema = s
			break
		}
	}
	if schema == "" {
		t.Fatalf("the sqlite3 schema of PowerDNS is not installed: %s", PowerDNSInstall)
	}
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	p := &PowerDNS{t: t, bin: bin, APIKey: hex.EncodeToString(key), daemon: daemon{name: "pdns_server", install: PowerDNSInstall}}
	// As with named, the directory must be usable by the user pdns drops
	// to, and t.TempDir() sits below a 0700 directory.
	p.dir, err = os.MkdirTemp("", "ddnsbroker-pdns-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(p.dir) })
	if err := os.Chmod(p.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(p.dir, "pdns.sqlite3")
	sql, err := os.ReadFile(schema)
	if err != nil {
		t.Fatal(err)
	}
	create := exec.Command(sqlite, db)
	create.Stdin = bytes.NewReader(sql)
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("creating the database: %v: %s", err, out)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("pdns")
		if err != nil {
			t.Fatalf("running as root, pdns_server needs the user pdns to drop to: %v (%s)", err, PowerDNSInstall)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, f := range []string{p.dir, db} {
			if err := os.Chown(f, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
		p.dropTo = "pdns"
	}

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		dnsPort, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		webPort, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		p.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(dnsPort))
		p.APIURL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(webPort)) + "/api/v1"
		p.writeConfig(db, dnsPort, webPort)
		if lastErr = p.tryStart(); lastErr == nil {
			t.Cleanup(p.Stop)
			return p
		}
		if !strings.Contains(strings.ToLower(lastErr.Error()), "in use") {
			break
		}
	}
	t.Fatalf("pdns_server did not start: %v", lastErr)
	return nil
}

// writeConfig writes pdns.conf: only loopback, no caches (an answer shows
// what the API wrote), no security poll (it would ask the Internet).
func (p *PowerDNS) writeConfig(db string, dnsPort, webPort int) {
	conf := []string{
		"launch=gsqlite3",
		"gsqlite3-database=" + db,
		"local-address=127.0.0.1",
		"local-port=" + strconv.Itoa(dnsPort),
		"webserver=yes",
		"webserver-address=127.0.0.1",
		"webserver-port=" + strconv.Itoa(webPort),
		"webserver-allow-from=127.0.0.1",
		"api=yes",
		"api-key=" + p.APIKey,
		"socket-dir=" + p.dir,
		"guardian=no",
		"daemon=no",
		"disable-syslog=yes",
		"security-poll-suffix=",
		"cache-ttl=0",
		"query-cache-ttl=0",
		"negquery-cache-ttl=0",
		"consistent-backends=yes",
	}
	if p.dropTo != "" {
		conf = append(conf, "setuid="+p.dropTo, "setgid="+p.dropTo)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "pdns.conf"), []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// tryStart runs pdns_server and waits (at most 20 s) until its API
// answers and DNS answers over UDP.
func (p *PowerDNS) tryStart() error {
	return p.run(p.bin, []string{"--config-dir=" + p.dir}, func() bool {
		status, _, err := p.api(http.MethodGet, "/servers/localhost", nil)
		return err == nil && status == http.StatusOK && answersUDP(p.Addr)
	})
}

// answersUDP tells whether a DNS server answers on addr (any answer, a
// REFUSED for a zone it lacks included).
func answersUDP(addr string) bool {
	_, err := lookup(addr, "ready.invalid.", "udp")
	return err == nil
}

// api calls the server's API with its key.
func (p *PowerDNS) api(method, path string, body any) (int, []byte, error) {
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.APIURL+path, in)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-API-Key", p.APIKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// CreateZone creates a Native zone through the API, with an NS record.
func (p *PowerDNS) CreateZone(name string) {
	p.t.Helper()
	zone := strings.TrimSuffix(name, ".") + "."
	status, body, err := p.api(http.MethodPost, "/servers/localhost/zones",
		map[string]any{"name": zone, "kind": "Native", "nameservers": []string{"ns." + zone}})
	if err != nil || status != http.StatusCreated {
		p.t.Fatalf("creating zone %s: %v HTTP %d %s", zone, err, status, body)
	}
}

// Replace sets an RRset of a zone through the API, as another client of
// the server would (addresses someone else put there).
func (p *PowerDNS) Replace(zone, name, rtype string, ttl int, contents ...string) {
	p.t.Helper()
	var records []map[string]any
	for _, c := range contents {
		records = append(records, map[string]any{"content": c, "disabled": false})
	}
	rr := map[string]any{"name": strings.TrimSuffix(name, ".") + ".", "type": rtype, "ttl": ttl, "changetype": "REPLACE", "records": records}
	status, body, err := p.api(http.MethodPatch, "/servers/localhost/zones/"+strings.TrimSuffix(zone, ".")+".",
		map[string]any{"rrsets": []any{rr}})
	if err != nil || status != http.StatusNoContent {
		p.t.Fatalf("replacing %s %s: %v HTTP %d %s", name, rtype, err, status, body)
	}
}

// Comments are the comments of an RRset, read through the API.
func (p *PowerDNS) Comments(zone, name, rtype string) []string {
	p.t.Helper()
	status, body, err := p.api(http.MethodGet, "/servers/localhost/zones/"+strings.TrimSuffix(zone, ".")+".", nil)
	if err != nil || status != http.StatusOK {
		p.t.Fatalf("reading zone %s: %v HTTP %d %s", zone, err, status, body)
	}
	var z struct {
		RRsets []struct {
			Name     string `json:"name"`
			Type     string `json:"type"`
			Comments []struct {
				Content string `json:"content"`
			} `json:"comments"`
		} `json:"rrsets"`
	}
	if err := json.Unmarshal(body, &z); err != nil {
		p.t.Fatal(err)
	}
	var out []string
	for _, rr := range z.RRsets {
		if rr.Name == strings.TrimSuffix(name, ".")+"." && rr.Type == rtype {
			for _, c := range rr.Comments {
				out = append(out, c.Content)
			}
		}
	}
	return out
}

// Start starts a stopped server again on the same ports.
func (p *PowerDNS) Start() {
	p.t.Helper()
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = p.tryStart(); err == nil {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	p.t.Fatalf("restarting pdns_server: %v", err)
}

// Lookup asks the server for name's A or AAAA records.
func (p *PowerDNS) Lookup(t *testing.T, name string, family netcalc.Family) ([]string, []uint32) {
	t.Helper()
	return lookupAddrs(t, p.Addr, name, family)
}
