package rest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	shBlock   = regexp.MustCompile("(?ms)^```sh\n(.*?)^```")
	jsonBlock = regexp.MustCompile("(?ms)^```json\n(.*?)^```")
)

// TestWalkthrough runs every sh block of the README's walk-through, in order, with
// bash, curl and jq against a real server whose dispatcher delivers to a
// stand-in provider, then checks what the provider received.
func TestWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the walk-through needs %s (apt-get install %s)", tool, tool)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, doc, ok := strings.Cut(string(readme), "<!-- walkthrough:")
	doc, _, ok2 := strings.Cut(doc, "<!-- /walkthrough -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no <!-- walkthrough: … --> … <!-- /walkthrough --> section")
	}
	var script strings.Builder
	for _, m := range shBlock.FindAllStringSubmatch(doc, -1) {
		script.WriteString(m[1])
		script.WriteString("\n")
	}
	if !strings.Contains(script.String(), "/nic/update") {
		t.Fatalf("no sh blocks found in the README's walk-through")
	}

	// The provider: answers good, remembers who asked for what.
	var mu sync.Mutex
	got := map[string]string{} // "user:password hostname" → myip
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		q := r.URL.Query()
		mu.Lock()
		got[user+":"+pass+" "+q.Get("hostname")] += q.Get("myip") + ";"
		mu.Unlock()
		fmt.Fprint(w, strings.Repeat("good "+q.Get("myip")+"\n", len(strings.Split(q.Get("hostname"), ","))))
	}))
	defer upstream.Close()

	h := newHarness(t, poll(100*time.Millisecond))
	h.runWorkers(t, h.app.Dispatcher.Run)

	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script.String())
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "BROKER="+h.url, "ADMIN_PASSWORD="+adminPassword, "UPSTREAM="+upstream.URL+"/nic/update")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walk-through failed: %v\n%s", err, out)
	}
	t.Logf("walk-through output:\n%s", out)
	for _, want := range []string{
		"good 203.0.113.7,2001:db8:77:1::1",
		`"secret": "`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	// What the README shows as answers is what the commands print.
	lines := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	blocks := jsonBlock.FindAllStringSubmatch(doc, -1)
	if len(blocks) < 2 {
		t.Fatalf("the walk-through shows %d json answers", len(blocks))
	}
	for _, m := range blocks {
		for _, want := range strings.Split(strings.TrimSpace(m[1]), "\n") {
			if !lines[want] {
				t.Errorf("the README shows %s, but no command printed it", want)
			}
		}
	}
	if strings.Contains(string(out), `"pending"`) {
		t.Errorf("deliveries still pending when the walk-through reads them")
	}
	mu.Lock()
	defer mu.Unlock()
	for key, want := range map[string]string{
		"home.example.net:he-key-for-home home.example.net": "203.0.113.7;2001:db8:77:1::1;",
		"nas.example.net:he-key-for-nas nas.example.net":    "203.0.113.7;2001:db8:77:1::10;",
	} {
		if ips := got[key]; !sameSet(ips, want) {
			t.Errorf("provider got %q for %s, want %q (all: %v)", ips, key, want, got)
		}
	}
	// The session ended with the walk-through's logout.
	var jar string
	if b, err := os.ReadFile(cmd.Dir + "/cookies.txt"); err == nil {
		jar = string(b)
	}
	for _, line := range strings.Split(jar, "\n") {
		if f := strings.Fields(line); len(f) == 7 && f[5] == "ddnsbroker_refresh" {
			h.do(request{method: "POST", path: "/auth/refresh", cookies: []*http.Cookie{{Name: f[5], Value: f[6]}}}).
				expect(t, http.StatusUnauthorized)
		}
	}
}

func sameSet(a, b string) bool {
	as, bs := strings.Split(strings.TrimSuffix(a, ";"), ";"), strings.Split(strings.TrimSuffix(b, ";"), ";")
	if len(as) != len(bs) {
		return false
	}
	for _, x := range as {
		found := false
		for _, y := range bs {
			found = found || x == y
		}
		if !found {
			return false
		}
	}
	return true
}
