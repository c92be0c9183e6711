package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// A checkout as `make run` leaves it: the binary in bin/, the private
// PostgreSQL of db/cluster.sh in var/postgres, the secret key in var/. The
// password hint serve logs on the first start, pasted into a shell in
// another directory without any DDNSBROKER_* variable, changes the password
// of the database serve uses; and when that cluster is stopped, the admin
// commands say how to start it, and that command works too; export and
// apply find the database the same way.
func TestMakeRunHintsRunWhenPasted(t *testing.T) {
	root, err := os.MkdirTemp("", "ddnsbroker-checkout-")
	if err != nil {
		t.Fatal(err)
	}
	// db/cluster.sh runs the cluster as the postgres user when root: it
	// must reach the directory.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	for _, d := range []string{"bin", "db", "var"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script, err := os.ReadFile("../../../db/cluster.sh")
	if err != nil {
		t.Fatal(err)
	}
	clusterSh := filepath.Join(root, "db", "cluster.sh")
	if err := os.WriteFile(clusterSh, script, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin", "ddnsbroker")
	if err := os.Rename(buildServer(t), bin); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "var", "secret_key"), []byte(testSecretKey), 0o600); err != nil {
		t.Fatal(err)
	}
	clusterDir := filepath.Join(root, "var", "postgres")
	shell := func(dir, stdin, line string) (int, string) {
		t.Helper()
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()} // no DDNSBROKER_*
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return 0, string(out)
	}
	t.Cleanup(func() { shell(root, "", clusterSh+" stop "+clusterDir) })
	code, dbURL := shell(root, "", clusterSh+" start "+clusterDir)
	if code != 0 {
		t.Fatalf("db/cluster.sh start: %d %s", code, dbURL)
	}
	dbURL = strings.TrimSpace(dbURL)

	// serve, as the Makefile's run target starts it.
	addr := freeAddr(t)
	serve := exec.Command(bin, "serve")
	serve.Args[0] = "./bin/ddnsbroker"
	serve.Dir = root
	serve.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "DDNSBROKER_DATABASE_URL=" + dbURL,
		"DDNSBROKER_SECRET_KEY_FILE=" + filepath.Join(root, "var", "secret_key"), "DDNSBROKER_LISTEN=" + addr,
		"DDNSBROKER_LOG_FORMAT=json"}
	serve.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logs, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	hint := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			var line struct{ Msg string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && strings.HasPrefix(line.Msg, "created the first user") {
				_, h, _ := strings.Cut(line.Msg, "or with: ")
				hint <- h
			}
		}
		close(hint)
	}()
	var passwd string
	select {
	case passwd = <-hint:
	case <-time.After(60 * time.Second):
		t.Fatal("serve logged no first-user line")
	}
	if passwd == "" || strings.Contains(passwd, "DDNSBROKER_DATABASE_URL") {
		t.Fatalf("the log suggests %q: want a command that runs as it is", passwd)
	}
	code, out := shell("/", "a-new-password-42\n", passwd)
	if code != 0 || !strings.Contains(out, "password of admin changed") || !strings.Contains(out, clusterDir) {
		t.Fatalf("%s: exit %d\n%s\nwant the password changed, saying which database", passwd, code, out)
	}
	waitUntil(t, "serve answers", 30*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": "a-new-password-42"})
	resp, err := http.Post("http://"+addr+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login with the new password: %d", resp.StatusCode)
	}

	// The cluster stopped: the admin commands say how to start it.
	_ = serve.Process.Kill()
	_ = serve.Wait()
	shell(root, "", clusterSh+" stop "+clusterDir)
	code, out = shell(root, "", "bin/ddnsbroker user list")
	_, start, found := strings.Cut(strings.TrimSpace(out), "start it with: ")
	if code == 0 || !found {
		t.Fatalf("user list with the cluster stopped: exit %d\n%s\nwant how to start it", code, out)
	}
	if code, out := shell("/", "", start); code != 0 {
		t.Fatalf("the suggested %s: exit %d\n%s", start, code, out)
	}
	if code, out := shell(root, "", "bin/ddnsbroker user list"); code != 0 || !strings.Contains(out, "admin") {
		t.Fatalf("user list after %s: exit %d\n%s", start, code, out)
	}
	// export and apply find that database, and apply the secret key, too.
	code, file := shell(root, "", "bin/ddnsbroker export 2>/dev/null")
	if code != 0 || !strings.Contains(file, "version: 1\n") {
		t.Fatalf("export in the checkout: exit %d\n%s", code, file)
	}
	if code, out := shell(root, file, "bin/ddnsbroker apply -f -"); code != 0 || !strings.Contains(out, "nothing to change") || !strings.Contains(out, clusterDir) {
		t.Fatalf("apply in the checkout: exit %d\n%s", code, out)
	}
}

// cli runs the binary's commands in this process with env as the
// environment.
func cli(env map[string]string, stdin string, args ...string) (int, string) {
	var out bytes.Buffer
	code := run(context.Background(), &environ{stdin: strings.NewReader(stdin), stdout: &out, stderr: &out,
		getenv: func(k string) string { return env[k] }}, args)
	return code, out.String()
}

// A database that refuses the credentials, or does not exist, stops serve
// and the admin commands at once with a sentence naming
// DDNSBROKER_DATABASE_URL, without the TLS noise of the attempts; one that
// cannot be reached is waited for, saying so.
func TestDatabaseErrorsAreOneClearSentence(t *testing.T) {
	good, err := url.Parse(storetest.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	password, _ := good.User.Password()
	wrongPassword := *good
	wrongPassword.User = url.UserPassword(good.User.Username(), "not-the-password")
	wrongPassword.RawQuery = "" // sslmode=prefer, as a hand-written URL has it
	unknownUser := wrongPassword
	unknownUser.User = url.UserPassword("nobody", "not-the-password")
	noDatabase := *good
	noDatabase.Path = "/no_such_database"
	for _, c := range []struct {
		name string
		url  string
		want string
	}{
		{"wrong password", wrongPassword.String(), `refused the password of user "` + good.User.Username() + `"; check the user name and password in DDNSBROKER_DATABASE_URL`},
		{"unknown user", unknownUser.String(), `refused the password of user "nobody"; check the user name and password in DDNSBROKER_DATABASE_URL`},
		{"no such database", noDatabase.String(), `has no database "no_such_database"; create it, or correct the database name in DDNSBROKER_DATABASE_URL`},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"DDNSBROKER_DATABASE_URL": c.url, "DDNSBROKER_SECRET_KEY": testSecretKey,
				"DDNSBROKER_LISTEN": freeAddr(t)}
			for _, args := range [][]string{{"serve"}, {"serve", "--no-migrate"}, {"user", "list"}, {"migrate", "status"}} {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				var out syncBuffer
				code := run(ctx, &environ{stdin: strings.NewReader(""), stdout: &out, stderr: &out,
					getenv: func(k string) string { return env[k] }}, args)
				stopped := ctx.Err() == nil
				cancel()
				log := out.String()
				if code != 1 || !stopped || !strings.Contains(log, c.want) || strings.Contains(log, "waiting for the database") {
					t.Errorf("%s: exit %d (stopped by itself: %t)\n%s\nwant exit 1 at once with %q", strings.Join(args, " "), code, stopped, log, c.want)
				}
				if strings.Contains(log, "tls") || strings.Contains(log, "SQLSTATE") || strings.Contains(log, password) || strings.Contains(log, "not-the-password") {
					t.Errorf("%s: noise or a password in\n%s", strings.Join(args, " "), log)
				}
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		down := *good
		down.Host = freeAddr(t) // nothing listens there
		env := map[string]string{"DDNSBROKER_DATABASE_URL": down.String(), "DDNSBROKER_SECRET_KEY": testSecretKey,
			"DDNSBROKER_LISTEN": freeAddr(t)}
		want := "PostgreSQL at " + down.Host + " cannot be reached: connect: connection refused; is PostgreSQL running, and are the host and port in DDNSBROKER_DATABASE_URL right?"
		if code, out := cli(env, "", "user", "list"); code != 1 || !strings.Contains(out, want) {
			t.Errorf("user list: exit %d\n%s\nwant %q", code, out, want)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var out syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, &environ{stdin: strings.NewReader(""), stdout: &out, stderr: &out,
				getenv: func(k string) string { return env[k] }}, []string{"serve"})
		}()
		waitUntil(t, "serve waiting twice for the database", 20*time.Second, func() bool {
			return strings.Count(out.String(), "waiting for the database: "+want) >= 2
		})
		select {
		case code := <-done:
			t.Fatalf("serve gave up on an unreachable database at once: exit %d\n%s", code, out.String())
		default:
		}
		cancel()
		<-done
	})
}

// Every command a message suggests runs when pasted: for a schema behind
// the binary, a dirty one, a missing secret key, a user name left out.
func TestHintsRunWhenPasted(t *testing.T) {
	bin := buildServer(t)
	dbURL := storetest.NewURL(t)
	env := map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_SECRET_KEY": testSecretKey}
	as := func(stdin string, args ...string) (int, string) {
		var out bytes.Buffer
		code := run(context.Background(), &environ{stdin: strings.NewReader(stdin), stdout: &out, stderr: &out,
			getenv: func(k string) string { return env[k] }, program: bin}, args)
		return code, out.String()
	}
	paste := func(stdin, hint string) (int, string) {
		t.Helper()
		cmd := exec.Command("sh", "-c", hint)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DDNSBROKER_DATABASE_URL=" + dbURL}
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	hint := func(pattern, text string) string {
		t.Helper()
		m := regexp.MustCompile(pattern).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no hint matching %s in\n%s", pattern, text)
		}
		if !strings.HasPrefix(m[1], bin+" ") && !strings.HasPrefix(m[1], "head ") {
			t.Errorf("the hint %q does not name the binary as it was run (%s)", m[1], bin)
		}
		return m[1]
	}

	// A schema one migration behind: /readyz and import say to migrate.
	if code, out := as("", "migrate", "down", "1"); code != 0 {
		t.Fatalf("migrate down 1: %d %s", code, out)
	}
	srv := startServeAs(t, bin, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_NO_MIGRATE": "true"})
	_, body := get(t, srv.URL+"/readyz")
	_, out := as("[]", "import", "ddnsbroker-django", "-")
	migrate := hint(`run (.+ migrate up) first`, out)
	if code, out := paste("", migrate); code != 0 {
		t.Fatalf("%s: %d %s", migrate, code, out)
	}
	if code, out := as("", "migrate", "down", "1"); code != 0 {
		t.Fatalf("migrate down 1: %d %s", code, out)
	}
	migrate = hint(`run: ([^"]+)"`, body)
	if code, out := paste("", migrate); code != 0 {
		t.Fatalf("%s: %d %s", migrate, code, out)
	}
	if code, body := get(t, srv.URL+"/readyz"); code != 200 {
		t.Fatalf("readyz after %s: %d %s", migrate, code, body)
	}

	// A dirty schema: /readyz, migrate status and migrate up say where to read on.
	st, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	if _, err := st.Exec(context.Background(), `UPDATE schema_migrations SET dirty = true`); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, srv.URL+"/readyz")
	_, status := as("", "migrate", "status")
	_, up := as("", "migrate", "up")
	for _, h := range []string{hint(`see: ([^"]+)"`, body), hint(`see (.+ migrate --help)`, status), hint(`see (.+ migrate --help)`, up)} {
		if code, out := paste("", h); code != 0 || !strings.Contains(out, "Usage: ddnsbroker migrate") {
			t.Errorf("%s: %d %s", h, code, out)
		}
	}
	if _, err := st.Exec(context.Background(), `UPDATE schema_migrations SET dirty = false`); err != nil {
		t.Fatal(err)
	}

	// The user name left out.
	_, out = as("", "user", "passwd")
	passwd := hint(`e\.g\. (.+)`, out)
	if code, out := paste("another-password-42\n", passwd); code != 0 || !strings.Contains(out, "password of admin changed") {
		t.Errorf("%s: %d %s", passwd, code, out)
	}

	// No secret key.
	delete(env, "DDNSBROKER_SECRET_KEY")
	_, out = as("", "serve")
	generate := hint(`generate one with: (.+)`, out)
	if code, key := paste("", generate); code != 0 || len(strings.TrimSpace(key)) < 32 {
		t.Errorf("%s: %d %q", generate, code, key)
	}
}
