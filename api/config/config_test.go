package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

const goodKey = "0123456789abcdef0123456789abcdef"

func load(t *testing.T, env map[string]string, args ...string) (*Serve, error) {
	t.Helper()
	s := NewSet("serve", "", envOf(env), ServeOptions...)
	if err := s.Parse(args, io.Discard); err != nil {
		return nil, err
	}
	return s.LoadServe()
}

func TestLoadServeDefaultsAndPrecedence(t *testing.T) {
	env := map[string]string{"DDNSBROKER_DATABASE_URL": "postgres://u@h/db", "DDNSBROKER_SECRET_KEY": goodKey,
		"DDNSBROKER_LISTEN": "127.0.0.1:9000"}
	c, err := load(t, env, "--listen", "[::1]:9100", "--no-migrate", "--trusted-proxies", "10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "[::1]:9100" {
		t.Errorf("flag must win over variable: listen = %q", c.Listen)
	}
	if !c.NoMigrate {
		t.Error("bare --no-migrate not taken")
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.0.2.1/32" {
		t.Errorf("trusted proxies = %v", c.TrustedProxies)
	}
	if c.LogFormat != "text" || c.Workers != 64 || string(c.SecretKey) != goodKey || c.AllowTargets != nil {
		t.Errorf("defaults not applied: %+v", c)
	}
	env["DDNSBROKER_ALLOW_TARGETS"] = "169.254.169.254, fd00:ec2::/32"
	if c, err = load(t, env); err != nil {
		t.Fatal(err)
	}
	if len(c.AllowTargets) != 2 || c.AllowTargets[0].String() != "169.254.169.254/32" || c.AllowTargets[1].String() != "fd00:ec2::/32" {
		t.Errorf("allow targets = %v", c.AllowTargets)
	}
}

func TestLoadServeErrorsNameTheVariable(t *testing.T) {
	base := map[string]string{"DDNSBROKER_DATABASE_URL": "postgres://u@h/db", "DDNSBROKER_SECRET_KEY": goodKey}
	cases := []struct {
		key, value, wantEnv string
	}{
		{"DDNSBROKER_LISTEN", "nonsense", "DDNSBROKER_LISTEN"},
		{"DDNSBROKER_LISTEN", "127.0.0.1:99999", "DDNSBROKER_LISTEN"},
		{"DDNSBROKER_SECRET_KEY", "short", "DDNSBROKER_SECRET_KEY"},
		{"DDNSBROKER_DATABASE_URL", "mysql://x", "DDNSBROKER_DATABASE_URL"},
		{"DDNSBROKER_TRUSTED_PROXIES", "10.0.0.0/33", "DDNSBROKER_TRUSTED_PROXIES"},
		{"DDNSBROKER_LOG_LEVEL", "loud", "DDNSBROKER_LOG_LEVEL"},
		{"DDNSBROKER_LOG_FORMAT", "xml", "DDNSBROKER_LOG_FORMAT"},
		{"DDNSBROKER_NO_MIGRATE", "maybe", "DDNSBROKER_NO_MIGRATE"},
		{"DDNSBROKER_WORKERS", "0", "DDNSBROKER_WORKERS"},
		{"DDNSBROKER_PUBLIC_URL", "ftp://x", "DDNSBROKER_PUBLIC_URL"},
		{"DDNSBROKER_ALLOW_TARGETS", "169.254.169.254/40", "DDNSBROKER_ALLOW_TARGETS"},
		{"DDNSBROKER_PUBLIC_URL", "https://ddns.example.net/?x=1", "DDNSBROKER_PUBLIC_URL"},
		{"DDNSBROKER_SECRET_KEY_FILE", "/nonexistent/key", "DDNSBROKER_SECRET_KEY_FILE"},
		// Single sign-on: all of issuer, client ID and secret, or none.
		{"DDNSBROKER_OIDC_ISSUER", "https://id.example.test/realms/home", "DDNSBROKER_OIDC_CLIENT_ID"},
		{"DDNSBROKER_OIDC_ISSUER", "id.example.test", "DDNSBROKER_OIDC_ISSUER"},
		{"DDNSBROKER_OIDC_CLIENT_ID", "ddnsbroker", "DDNSBROKER_OIDC_ISSUER"},
		{"DDNSBROKER_OIDC_CLIENT_SECRET_FILE", "/nonexistent/secret", "DDNSBROKER_OIDC_CLIENT_SECRET_FILE"},
	}
	for _, c := range cases {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		env[c.key] = c.value
		if strings.HasSuffix(c.key, "_FILE") {
			delete(env, strings.TrimSuffix(c.key, "_FILE"))
		}
		_, err := load(t, env)
		var ce *Error
		if !errors.As(err, &ce) || ce.Env != c.wantEnv {
			t.Errorf("%s=%q: err = %v, want a config error naming %s", c.key, c.value, err, c.wantEnv)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: message spans lines: %q", c.key, err)
		}
	}
	_, err := load(t, map[string]string{"DDNSBROKER_SECRET_KEY": goodKey})
	if err == nil || !strings.Contains(err.Error(), "DDNSBROKER_DATABASE_URL") {
		t.Errorf("missing database url: %v", err)
	}
	env := map[string]string{"DDNSBROKER_OIDC_ISSUER": "https://id.example.test/realms/home", "DDNSBROKER_OIDC_CLIENT_ID": "ddnsbroker"}
	for k, v := range base {
		env[k] = v
	}
	if _, err := load(t, env); err == nil || !strings.Contains(err.Error(), "DDNSBROKER_OIDC_CLIENT_SECRET") {
		t.Errorf("issuer and client ID without the secret: %v", err)
	}
	env["DDNSBROKER_OIDC_CLIENT_SECRET"] = "s3cret"
	c, err := load(t, env)
	if err != nil || c.OIDC.Issuer != env["DDNSBROKER_OIDC_ISSUER"] || c.OIDC.ClientSecret != "s3cret" || c.OIDC.Name != "single sign-on" {
		t.Errorf("single sign-on: %+v %v", c, err)
	}
}

func TestSecretFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte(goodKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(t, map[string]string{"DDNSBROKER_DATABASE_URL": "postgres://u@h/db", "DDNSBROKER_SECRET_KEY_FILE": path})
	if err != nil {
		t.Fatal(err)
	}
	if string(c.SecretKey) != goodKey {
		t.Errorf("key from file = %q", c.SecretKey)
	}
}

func TestUsageListsEveryVariableAndDefault(t *testing.T) {
	var b strings.Builder
	s := NewSet("serve", "summary", envOf(nil), ServeOptions...)
	if err := s.Parse([]string{"--help"}, &b); !errors.Is(err, ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, o := range ServeOptions {
		if !strings.Contains(b.String(), "$"+o.Env()) {
			t.Errorf("help lacks $%s", o.Env())
		}
		if o.Default != "" && !strings.Contains(b.String(), "(default "+o.Default+")") {
			t.Errorf("help lacks the default of %s", o.Name)
		}
	}
}
