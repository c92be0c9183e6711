package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// The real update clients from Debian, run against `serve` on loopback.
// make test installs them (packages ddclient and inadyn).

func lookClient(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				return filepath.Join(dir, name)
			}
		}
		t.Fatalf("%s is not installed: `make test` installs it (apt-get install %s)", name, name)
	}
	return p
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRealClients(t *testing.T) {
	ddclient := lookClient(t, "ddclient")
	inadyn := lookClient(t, "inadyn")
	dbURL := storetest.NewURL(t)
	up := newFakeUpstream(t)
	seed(t, dbURL, up.URL, "router.example.com", "router-secret-2",
		recordSpec{"www.example.com", 32, "0.0.0.0", -1, "::", ""},
		recordSpec{"nas.example.com", 24, "0.0.0.42", -1, "::", ""})
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL})
	hostport := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()

	t.Run("ddclient 3.10", func(t *testing.T) {
		conf := filepath.Join(dir, "ddclient.conf")
		writeFile(t, conf, "daemon=0\nprotocol=dyndns2\nuse=ip, ip=198.51.100.7\nserver="+hostport+
			"\nssl=no\nlogin=router.example.com\npassword='router-secret-2'\nrouter.example.com\n")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, ddclient, "-daemon=0", "-foreground", "-verbose", "-noquiet", "-file", conf,
			"-cache", filepath.Join(dir, "ddclient.cache"), "-pid", filepath.Join(dir, "ddclient.pid")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS:  updating router.example.com: good: IP address set to 198.51.100.7") {
			t.Fatalf("ddclient did not report success (err %v):\n%s", err, out)
		}
		waitUntil(t, "deliveries from the ddclient update", 10*time.Second, func() bool {
			return has(up.requests(), "www.example.com", "198.51.100.7") && has(up.requests(), "nas.example.com", "198.51.100.42")
		})
	})

	t.Run("inadyn 2.10", func(t *testing.T) {
		conf := filepath.Join(dir, "inadyn.conf")
		writeFile(t, conf, `period = 60
custom broker {
    ssl             = false
    username        = router.example.com
    password        = router-secret-2
    checkip-command = "echo 198.51.100.9"
    ddns-server     = `+hostport+`
    ddns-path       = "/nic/update?hostname=%h&myip=%i"
    hostname        = router.example.com
}
`)
		cache := filepath.Join(dir, "inadyn-cache")
		if err := os.MkdirAll(cache, 0o700); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, inadyn, "--once", "--foreground", "-f", conf, "--cache-dir="+cache,
			"-P", filepath.Join(dir, "inadyn.pid"), "-l", "info").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Successful alias table update for router.example.com => new IP# 198.51.100.9") {
			t.Fatalf("inadyn did not report success (err %v):\n%s", err, out)
		}
		waitUntil(t, "delivery from the inadyn update", 10*time.Second, func() bool {
			return has(up.requests(), "www.example.com", "198.51.100.9")
		})
		// The /24 record's effective address did not change: nothing more was sent for it.
		n := 0
		for _, r := range up.requests() {
			if r[0] == "nas.example.com" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("nas.example.com was sent %d times, want 1: %v", n, up.requests())
		}
	})
}

func has(reqs [][2]string, host, ip string) bool {
	for _, r := range reqs {
		if r[0] == host && r[1] == ip {
			return true
		}
	}
	return false
}

// TestRouterSetupWithRealClients takes the router setup from the API (the
// answer that creates a host, secret filled in) and uses it as a user
// would: pasted into Debian's ddclient 3.10 and inadyn 2.10 and run once,
// the curl lines run by a shell, and the OpenWrt URL fetched the way
// ddns-scripts does (its urlencode, then GNU wget or curl). The broker is
// addressed as 127.0.0.1, as [::1] and by a name with both (and the ipv4. and
// ipv6. names of the README's "Three names"), served by two replicas on one
// database, one per loopback address; libnss-wrapper resolves the names
// from a file of our own, to loopback only.
func TestRouterSetupWithRealClients(t *testing.T) {
	ddclient, inadyn := lookClient(t, "ddclient"), lookClient(t, "inadyn")
	curl, wget, awk, sh := lookClient(t, "curl"), lookClient(t, "wget"), lookClient(t, "awk"), lookClient(t, "sh")
	wrappers, _ := filepath.Glob("/usr/lib/*/libnss_wrapper.so")
	if len(wrappers) == 0 {
		t.Fatal("libnss_wrapper.so is not installed: `make test` installs it (apt-get install libnss-wrapper)")
	}
	nssWrapper := wrappers[0]
	port := freeLoopbackPort(t)
	dbURL := storetest.NewURL(t)
	b4 := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_LISTEN": "127.0.0.1:" + port})
	startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_LISTEN": "[::1]:" + port})
	token := apiLogin(t, b4.URL, "admin", "admin-password-for-tests")
	if token == "" {
		t.Fatal("cannot log in to the API")
	}
	dir := t.TempDir()

	// Every name any client looks up resolves to loopback: the broker's
	// three names and the hosts' own (inadyn resolves its host names).
	var names []string
	for i := 1; i <= 40; i++ {
		names = append(names, fmt.Sprintf("r%d.example.com", i), fmt.Sprintf("r%d.example.com.", i))
	}
	hostsFile := filepath.Join(dir, "hosts")
	writeFile(t, hostsFile, "127.0.0.1 broker.test ipv4.broker.test "+strings.Join(names, " ")+"\n::1 broker.test ipv6.broker.test\n")
	env := append(os.Environ(), "LD_PRELOAD="+nssWrapper, "NSS_WRAPPER_HOSTS="+hostsFile)
	run := func(t *testing.T, what string, name string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s failed (%v):\n%s", what, err, out)
		}
		return string(out)
	}

	brokers := []struct {
		name, api, hostHeader, want string
		v4, v6                      bool
	}{
		{"127.0.0.1", b4.URL, "", "http://127.0.0.1:" + port, true, false},
		{"[::1]", "http://[::1]:" + port, "", "http://[::1]:" + port, false, true},
		{"broker.test", b4.URL, "broker.test:" + port, "http://broker.test:" + port, true, true},
	}
	secrets := []struct{ name, secret string }{{"plain", "plain-secret-1"}, {"quotes", `q'u\o"t#e&p%3a:x@y`}}
	n := 0
	for _, br := range brokers {
		for _, sc := range secrets {
			t.Run(br.name+"/"+sc.name, func(t *testing.T) {
				// newHost creates a host through the broker as addressed
				// here and returns its id and the setup of one client.
				newHost := func(t *testing.T, client string) (int64, string, setupItem) {
					t.Helper()
					n++
					fqdn := fmt.Sprintf("r%d.example.com", n)
					id, setup := createHostForSetup(t, br.api, br.hostHeader, token, fqdn, sc.secret)
					if setup.URL != br.want {
						t.Fatalf("setup for %s, want %s", setup.URL, br.want)
					}
					for _, it := range setup.Items {
						if it.Client == client {
							return id, fqdn, it
						}
					}
					t.Fatalf("no %s in the setup", client)
					return 0, "", setupItem{}
				}
				expect := func(t *testing.T, id int64, v4, v6 string) {
					t.Helper()
					want := [2]string{"", ""}
					if br.v4 {
						want[0] = v4
					}
					if br.v6 {
						want[1] = v6
					}
					if got := hostAddrs(t, b4.URL, token, id); got != want {
						t.Fatalf("host has %q, want %q", got, want)
					}
				}

				t.Run("ddclient", func(t *testing.T) {
					id, fqdn, it := newHost(t, "ddclient")
					conf := filepath.Join(dir, fqdn+".ddclient.conf")
					writeFile(t, conf, it.Text)
					out := run(t, "ddclient", ddclient, "-daemon=0", "-foreground", "-verbose", "-noquiet", "-file", conf,
						"-cache", conf+".cache", "-pid", conf+".pid")
					if strings.Contains(out, "FAILED") || strings.Contains(out, "Invalid Value") {
						t.Fatalf("ddclient:\n%s", out)
					}
					expect(t, id, "127.0.0.1", "::1")
				})

				t.Run("inadyn", func(t *testing.T) {
					id, fqdn, it := newHost(t, "inadyn")
					conf := filepath.Join(dir, fqdn+".inadyn.conf")
					if br.name == "[::1]" {
						// inadyn cannot parse an IPv6 address as its server:
						// the setup says so, and inadyn accepts what it says.
						if it.Warning == nil || !strings.Contains(*it.Warning, "IPv6 address") || strings.Contains(it.Text, "custom ") {
							t.Fatalf("inadyn setup for an IPv6 address does not say it cannot (warning %v):\n%s", it.Warning, it.Text)
						}
						writeFile(t, conf, it.Text)
						run(t, "inadyn --check-config", inadyn, "--check-config", "-f", conf)
						return
					}
					// inadyn refuses loopback addresses unless told not to
					// check them, and loopback is all a test may use.
					writeFile(t, conf, "verify-address = false\n"+it.Text)
					cache := filepath.Join(dir, fqdn+".inadyn-cache")
					if err := os.MkdirAll(cache, 0o700); err != nil {
						t.Fatal(err)
					}
					run(t, "inadyn", inadyn, "--once", "--foreground", "-f", conf, "--cache-dir="+cache, "-P", conf+".pid", "-l", "info")
					expect(t, id, "127.0.0.1", "::1")
				})

				t.Run("curl", func(t *testing.T) {
					id, _, it := newHost(t, "curl")
					run(t, "the curl lines", sh, "-e", "-c", it.Text)
					expect(t, id, "127.0.0.1", "::1")
				})

				for _, fetcher := range []string{"wget", "curl"} {
					t.Run("openwrt/"+fetcher, func(t *testing.T) {
						id, fqdn, it := newHost(t, "openwrt")
						for _, sec := range uciSections(t, sh, it.Text) {
							ip := "192.0.2.7"
							if sec["use_ipv6"] == "1" {
								ip = "2001:db8:77::7"
							}
							url := ddnsScriptsURL(t, awk, sec, ip)
							dat := filepath.Join(dir, fqdn+".dat")
							if fetcher == "wget" {
								run(t, "wget "+sec["use_ipv6"], wget, "--hsts-file="+filepath.Join(dir, "hsts"), "-nv", "-t", "1", "-O", dat,
									"-o", dat+".err", "--no-proxy", url)
							} else {
								run(t, "curl "+sec["use_ipv6"], curl, "-RsS", "-o", dat, "--stderr", dat+".err", "--noproxy", "*", url)
							}
							if b, _ := os.ReadFile(dat); !strings.HasPrefix(string(b), "good ") {
								t.Fatalf("the broker answered %q", b)
							}
						}
						expect(t, id, "192.0.2.7", "2001:db8:77::7")
					})
				}
			})
		}
	}
}

// freeLoopbackPort finds a port free on both 127.0.0.1 and ::1.
func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	for i := 0; i < 50; i++ {
		l4, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(l4.Addr().String())
		l6, err := net.Listen("tcp", "[::1]:"+port)
		l4.Close()
		if err == nil {
			l6.Close()
			return port
		}
	}
	t.Fatal("no port free on both 127.0.0.1 and ::1")
	return ""
}

type setupItem struct {
	Client  string  `json:"client"`
	Text    string  `json:"text"`
	Warning *string `json:"warning"`
}

type routerSetup struct {
	URL   string      `json:"url"`
	Items []setupItem `json:"items"`
}

// createHostForSetup adds a host through the API at api, with the request's
// Host header set to hostHeader when given (as a router-facing name would
// arrive), and returns its id and the router setup of the answer.
func createHostForSetup(t *testing.T, api, hostHeader, token, fqdn, secret string) (int64, routerSetup) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"fqdn": fqdn, "secret": secret})
	req, _ := http.NewRequest("POST", api+"/api/v1/hosts", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if hostHeader != "" {
		req.Host = hostHeader
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ID     int64       `json:"id"`
		Secret string      `json:"secret"`
		Setup  routerSetup `json:"setup"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &out) != nil || out.Secret != secret {
		t.Fatalf("create host: %d %s", resp.StatusCode, b)
	}
	return out.ID, out.Setup
}

// hostAddrs reads a host's IPv4 and IPv6 address ("" for none).
func hostAddrs(t *testing.T, api, token string, id int64) [2]string {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/hosts/%d", api, id), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct{ IPv4, IPv6 *string }
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	var out [2]string
	if h.IPv4 != nil {
		out[0] = *h.IPv4
	}
	if h.IPv6 != nil {
		out[1] = *h.IPv6
	}
	return out
}

// uciSections reads the `config service` sections of an /etc/config/ddns
// snippet; values are quoted as in a shell, so a shell unquotes them.
func uciSections(t *testing.T, sh, text string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "config service "):
			out = append(out, map[string]string{})
		case strings.HasPrefix(line, "option ") && len(out) > 0:
			key, raw, _ := strings.Cut(strings.TrimPrefix(line, "option "), " ")
			v, err := exec.Command(sh, "-c", "printf %s "+raw).Output()
			if err != nil {
				t.Fatalf("unquote %s: %v", raw, err)
			}
			out[len(out)-1][key] = string(v)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no service in:\n%s", text)
	}
	return out
}

// ddnsScriptsURL builds the URL ddns-scripts' send_update fetches for a
// service section: [USERNAME] and [PASSWORD] encoded by its urlencode (the
// same awk program, given the value by -v as it does), [DOMAIN] and [IP]
// as they are, http:// turned into https:// by use_https.
func ddnsScriptsURL(t *testing.T, awk string, sec map[string]string, ip string) string {
	t.Helper()
	const urlencode = `BEGIN{ORS="";for(i=32;i<=127;i++)lookup[sprintf("%c",i)]=i
		for(k=1;k<=length(str);++k){enc=substr(str,k,1);if(enc!~"[-_.~a-zA-Z0-9]")enc=sprintf("%%%02x", lookup[enc]);print enc}}`
	enc := func(v string) string {
		out, err := exec.Command(awk, "-v", "str="+v, urlencode).Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	url := strings.NewReplacer("[USERNAME]", enc(sec["username"]), "[PASSWORD]", enc(sec["password"]),
		"[DOMAIN]", sec["domain"], "[IP]", ip).Replace(sec["update_url"])
	if sec["use_https"] == "1" {
		url = "https:" + strings.TrimPrefix(url, "http:")
	}
	return url
}
