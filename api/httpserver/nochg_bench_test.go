package httpserver_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/dyndns2"
	"github.com/ddnsbroker/ddnsbroker/api/httpserver"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// BenchmarkNochgPath runs the nochg path in one process, through the route
// table, the dyndns2 handler, authentication and the broker, with the
// hosts read from the database ("database", as before the host directory)
// or from the directory: the way to profile it,
//
//	db/with-test-db.sh go test -run '^$' -bench 'NochgPath/directory' -cpuprofile nochg.out ./api/httpserver/
//	go tool pprof -top nochg.out
func BenchmarkNochgPath(b *testing.B) {
	const hosts = 1000
	ctx := context.Background()
	st := storetest.New(b)
	hash, err := auth.HashPassword(auth.TestParams, "bench-secret")
	if err != nil {
		b.Fatal(err)
	}
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i / 256), byte(i % 256), 1}) }
	for i := range hosts {
		_, err := st.CreateHost(ctx, store.NewHost{FQDN: fmt.Sprintf("h%04d.bench.example", i), SecretHash: hash,
			Enabled: true, IPv4Enabled: true, IPv6Enabled: true, IPv4: addr(i)})
		if err != nil {
			b.Fatal(err)
		}
	}
	// The server's default: info, JSON.
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	for _, withDirectory := range []bool{false, true} {
		name := map[bool]string{false: "database", true: "directory"}[withDirectory]
		b.Run(name, func(b *testing.B) {
			l := auth.DefaultHostLimits()
			l.Params = auth.TestParams
			hs := auth.NewHosts(st, []byte("bench cache key"), l, nil, log)
			if withDirectory {
				d := auth.NewHostDirectory(st, log)
				dctx, cancel := context.WithCancel(ctx)
				var wg sync.WaitGroup
				wg.Add(1)
				go func() { defer wg.Done(); d.Run(dctx) }()
				defer func() { cancel(); wg.Wait() }()
				for d.Len() < hosts {
					time.Sleep(10 * time.Millisecond)
				}
				hs.UseDirectory(d)
			}
			clientIP := func(*http.Request) netip.Addr { return netip.MustParseAddr("192.0.2.1") }
			dyn := dyndns2.NewHandler(httpserver.DynDNSBackend{Hosts: hs, Broker: broker.New(st, log)}, clientIP, nil, log)
			srv := httpserver.New(httpserver.Deps{Store: st, Log: log, ClientIP: clientIP, Version: "bench", DynDNS: dyn})
			req := func(i int) *http.Request {
				r := httptest.NewRequest("GET", "/nic/update?myip="+addr(i).String(), nil)
				r.SetBasicAuth(fmt.Sprintf("h%04d.bench.example", i), "bench-secret")
				return r
			}
			for i := range hosts { // each secret verified once
				rec := httptest.NewRecorder()
				srv.Echo.ServeHTTP(rec, req(i))
				if rec.Code != 200 {
					b.Fatalf("warm-up: %d %s", rec.Code, rec.Body)
				}
			}
			var n atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(n.Add(1)) % hosts
					rec := httptest.NewRecorder()
					srv.Echo.ServeHTTP(rec, req(i))
					if want := "nochg " + addr(i).String() + "\n"; rec.Body.String() != want {
						b.Errorf("%q, want %q", rec.Body, want)
						return
					}
				}
			})
		})
	}
}
