package auth

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// runDirectory starts a directory on its own store (a replica's) and waits
// until it is current.
func runDirectory(t *testing.T, dbURL string) *HostDirectory {
	t.Helper()
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	d := NewHostDirectory(st, quietLog)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait(); st.Close() })
	waitWithin(t, "the directory is loaded", 10*time.Second, func() bool {
		d.mu.RLock()
		defer d.mu.RUnlock()
		return d.now().Before(d.freshUntil)
	})
	return d
}

func waitWithin(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
	}
}

func mustCreateHost(t *testing.T, st *store.Store, fqdn, secret string) store.Host {
	t.Helper()
	hash, err := HashPassword(TestParams, secret)
	if err != nil {
		t.Fatal(err)
	}
	h, err := st.CreateHost(context.Background(), store.NewHost{FQDN: fqdn, SecretHash: hash, Enabled: true, IPv4Enabled: true, IPv6Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Changes made through another connection (another replica) reach the
// directory within a second each: a new secret, disabling, an address, a
// new name, a record's name, a deletion. A directory that missed any of
// them would let a router in with an old secret, answer a disabled host, or
// answer nochg for an address the database no longer holds.
func TestDirectoryFollowsChangesMadeElsewhere(t *testing.T) {
	dbURL := storetest.NewURL(t)
	other, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	h := mustCreateHost(t, other, "router.directory.example", "first-secret")
	d := runDirectory(t, dbURL)
	got, ok := d.Lookup("router.directory.example")
	if !ok || got.ID != h.ID || got.SecretHash != h.SecretHash || !got.Enabled {
		t.Fatalf("after the load: %+v %v", got, ok)
	}
	within := func(what string, cond func(store.HostAuth, bool) bool) {
		t.Helper()
		waitWithin(t, what, time.Second, func() bool { return cond(d.Lookup("router.directory.example")) })
	}

	newHash, _ := HashPassword(TestParams, "second-secret")
	if err := other.SetHostSecret(ctx, h.ID, newHash); err != nil {
		t.Fatal(err)
	}
	within("rotation", func(a store.HostAuth, ok bool) bool { return ok && a.SecretHash == newHash })

	off := false
	if _, err := other.UpdateHost(ctx, h.ID, store.HostPatch{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	within("disabling", func(a store.HostAuth, ok bool) bool { return ok && !a.Enabled })

	v4 := netip.MustParseAddr("198.51.100.7")
	if err := other.SetHostAddresses(ctx, h.ID, store.HostAddresses{IPv4: v4}); err != nil {
		t.Fatal(err)
	}
	within("address change", func(a store.HostAuth, ok bool) bool { return ok && a.IPv4 == v4 })

	svc, err := other.CreateService(ctx, store.NewService{Name: "svc", Protocol: "dyndns2", Settings: []byte(`{"url": "http://127.0.0.1:9/nic/update"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.CreateRecord(ctx, store.NewRecord{HostID: h.ID, ServiceID: svc.ID, FQDN: "www.directory.example",
		IPv4Enabled: true, IPv4Netmask: 32, IPv4HostIdentifier: netip.MustParseAddr("0.0.0.0"), IPv6HostIdentifier: netip.MustParseAddr("::")}); err != nil {
		t.Fatal(err)
	}
	within("a record's name", func(a store.HostAuth, ok bool) bool {
		return ok && slices.Equal(a.Names, []string{"www.directory.example"})
	})

	// A second host, renamed and then deleted.
	g := mustCreateHost(t, other, "old.directory.example", "other-secret")
	waitWithin(t, "a new host", time.Second, func() bool { _, ok := d.Lookup("old.directory.example"); return ok })
	name := "new.directory.example"
	if _, err := other.UpdateHost(ctx, g.ID, store.HostPatch{FQDN: &name}); err != nil {
		t.Fatal(err)
	}
	waitWithin(t, "renaming", time.Second, func() bool {
		_, oldOK := d.Lookup("old.directory.example")
		a, newOK := d.Lookup(name)
		return !oldOK && newOK && a.ID == g.ID
	})
	if err := other.DeleteHost(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	waitWithin(t, "deletion", time.Second, func() bool { _, ok := d.Lookup(name); return !ok })
	if d.Len() != 1 {
		t.Fatalf("the directory holds %d hosts, want 1", d.Len())
	}
}

// Until the directory is loaded, and once it has stopped listening, it
// answers nothing: authentication reads the database then.
func TestDirectoryIsNotUsedWhenNotListening(t *testing.T) {
	dbURL := storetest.NewURL(t)
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mustCreateHost(t, st, "router.directory.example", "secret")
	d := NewHostDirectory(st, quietLog)
	if _, ok := d.Lookup("router.directory.example"); ok {
		t.Fatal("a directory never loaded answered")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	waitWithin(t, "loaded", 10*time.Second, func() bool { _, ok := d.Lookup("router.directory.example"); return ok })
	cancel()
	<-done
	if _, ok := d.Lookup("router.directory.example"); ok {
		t.Fatal("a directory that stopped listening answered")
	}
	// One that lost its connection and was not told: it stops answering
	// directoryStaleAfter after it last heard from it.
	d.freshUntil = time.Now().Add(directoryStaleAfter)
	d.now = func() time.Time { return time.Now().Add(directoryStaleAfter) }
	if _, ok := d.Lookup("router.directory.example"); ok {
		t.Fatal("a directory not heard from for directoryStaleAfter answered")
	}
}

// With the directory, a router whose secret was verified is authenticated
// without the database: here the authenticator's own pool is closed.
func TestHostsAuthenticateWithoutTheDatabase(t *testing.T) {
	dbURL := storetest.NewURL(t)
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	mustCreateHost(t, st, "router.directory.example", "secret")
	l := DefaultHostLimits()
	l.Params = TestParams
	hosts := NewHosts(st, []byte("cache-key"), l, nil, quietLog)
	hosts.UseDirectory(runDirectory(t, dbURL))
	src := netip.MustParseAddr("192.0.2.1")
	ctx := context.Background()
	if _, err := hosts.Authenticate(ctx, "router.directory.example", "secret", src); err != nil {
		t.Fatal(err)
	}
	st.Close()
	h, err := hosts.Authenticate(ctx, "Router.Directory.Example", "secret", src)
	if err != nil || h.FQDN != "router.directory.example" {
		t.Fatalf("with the database closed: %+v %v", h, err)
	}
}

// A fresh authenticator (a restart, another replica) with the same key
// accepts a router's secret by the verifier stored at its first
// verification, without an argon2id verification; a wrong secret still
// goes through one and is refused; a new secret voids the verifier.
func TestVerifierSparesTheHashAfterARestart(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	h := mustCreateHost(t, st, "router.verifier.example", "secret")
	l := DefaultHostLimits()
	l.Params = TestParams
	src := netip.MustParseAddr("192.0.2.1")
	verified := func(a *Hosts) int {
		a.guard.costs.mu.Lock()
		defer a.guard.costs.mu.Unlock()
		return a.guard.costs.n
	}
	first := NewHosts(st, []byte("cache-key"), l, nil, quietLog)
	if _, err := first.Authenticate(ctx, "router.verifier.example", "secret", src); err != nil || verified(first) != 1 {
		t.Fatalf("first: %v, %d verifications", err, verified(first))
	}
	var stored []byte
	waitWithin(t, "the verifier is stored", 10*time.Second, func() bool {
		err := st.Pool.QueryRow(ctx, `SELECT secret_verifier FROM hosts WHERE id = $1`, h.ID).Scan(&stored)
		return err == nil && len(stored) == 32
	})

	// A verifier that could not be stored (the write timed out in a
	// storm) is stored at the router's next update, from the cache.
	if _, err := st.Pool.Exec(ctx, `UPDATE hosts SET secret_verifier = NULL WHERE id = $1`, h.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Authenticate(ctx, "router.verifier.example", "secret", src); err != nil || verified(first) != 1 {
		t.Fatalf("again: %v, %d verifications", err, verified(first))
	}
	waitWithin(t, "the verifier is stored again", 10*time.Second, func() bool {
		err := st.Pool.QueryRow(ctx, `SELECT secret_verifier FROM hosts WHERE id = $1`, h.ID).Scan(&stored)
		return err == nil && len(stored) == 32
	})

	restarted := NewHosts(st, []byte("cache-key"), l, nil, quietLog)
	if _, err := restarted.Authenticate(ctx, "router.verifier.example", "secret", src); err != nil || verified(restarted) != 0 {
		t.Fatalf("after a restart: %v, %d verifications, want none", err, verified(restarted))
	}
	if _, err := restarted.Authenticate(ctx, "router.verifier.example", "wrong", src); err != ErrBadCredentials || verified(restarted) != 1 {
		t.Fatalf("a wrong secret: %v, %d verifications, want one", err, verified(restarted))
	}

	otherKey := NewHosts(st, []byte("another key"), l, nil, quietLog)
	if _, err := otherKey.Authenticate(ctx, "router.verifier.example", "secret", src); err != nil || verified(otherKey) != 1 {
		t.Fatalf("with another key: %v, %d verifications, want one", err, verified(otherKey))
	}

	newHash, _ := HashPassword(TestParams, "new-secret")
	if err := st.SetHostSecret(ctx, h.ID, newHash); err != nil {
		t.Fatal(err)
	}
	if err := st.Pool.QueryRow(ctx, `SELECT secret_verifier FROM hosts WHERE id = $1`, h.ID).Scan(&stored); err != nil || stored != nil {
		t.Fatalf("verifier after a new secret: %x %v", stored, err)
	}
	fresh := NewHosts(st, []byte("cache-key"), l, nil, quietLog)
	if _, err := fresh.Authenticate(ctx, "router.verifier.example", "secret", src); err != ErrBadCredentials {
		t.Fatalf("the old secret after rotation: %v", err)
	}
}

// A host this replica changed is forgotten at once (Lookup sends its name
// to the database), and a read that began before the change, still on its
// way, does not bring the old entry back: only a read that began after it
// (the change's own notification) does.
func TestForgetHoldsUntilAFreshRead(t *testing.T) {
	dbURL := storetest.NewURL(t)
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	h := mustCreateHost(t, st, "router.forget.example", "first-secret")
	d := runDirectory(t, dbURL)
	if _, ok := d.Lookup("router.forget.example"); !ok {
		t.Fatal("the host is not in the directory after the load")
	}
	since := d.readBegins()
	before, err := st.HostsForAuth(ctx, []int64{h.ID})
	if err != nil || len(before) != 1 {
		t.Fatalf("read: %v %v", before, err)
	}
	newHash, _ := HashPassword(TestParams, "second-secret")
	if err := st.SetHostSecret(ctx, h.ID, newHash); err != nil {
		t.Fatal(err)
	}
	d.Forget(h.ID)
	if a, ok := d.Lookup("router.forget.example"); ok {
		t.Fatalf("right after Forget the directory still answers %+v", a)
	}
	d.apply([]int64{h.ID}, before, since)
	if a, ok := d.Lookup("router.forget.example"); ok {
		t.Fatalf("a read from before the change brought back %+v", a)
	}
	waitWithin(t, "the change's own notification reloads the host", time.Second, func() bool {
		a, ok := d.Lookup("router.forget.example")
		return ok && a.SecretHash == newHash
	})
	d.mu.RLock()
	left := len(d.forgot)
	d.mu.RUnlock()
	if left != 0 {
		t.Errorf("%d hosts still marked forgotten after their reload", left)
	}
}
