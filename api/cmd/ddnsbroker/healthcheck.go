package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/config"
)

// runHealthcheck asks the local server's /healthz, for container health
// checks in images without a shell or curl.
func runHealthcheck(ctx context.Context, env *environ, args []string) error {
	set := config.NewSet("healthcheck", "Exit 0 when the server on DDNSBROKER_LISTEN answers /healthz (for container health checks).",
		env.getenv, config.Listen)
	if err := set.Parse(args, env.stdout); err != nil {
		return err
	}
	addr, err := set.String(config.Listen)
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return &config.Error{Env: config.Listen.Env(), Reason: fmt.Sprintf("%q is not host:port", addr)}
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz answered %s", resp.Status)
	}
	fmt.Fprintln(env.stdout, "ok")
	return nil
}
