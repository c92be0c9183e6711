package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// HostDirectory keeps what authenticating a router's update reads of every
// host (store.HostAuth) in memory, so that a nochg touches no database: the
// row lookup was the whole cost of the path.
//
// It stays current on every replica through PostgreSQL: migration 21's
// triggers notify the id of each host whose name, secret, switches or
// addresses (or whose records' names) change, on commit, and Run reloads
// those hosts. A change made anywhere is therefore seen here within a few
// milliseconds.
//
// When the directory cannot be sure it is current, Lookup says so and the
// caller reads the database as before: until the first load after start,
// after the listening connection failed (until it is back and everything
// has been reloaded, since notifications sent meanwhile are lost), and when
// the listener has not confirmed its connection for staleAfter (a
// connection that died silently).
type HostDirectory struct {
	store *store.Store
	log   *slog.Logger
	now   func() time.Time

	// Loaded, when set, is told how many hosts the directory holds after
	// each full load (serve sizes the memory limit by it).
	Loaded func(hosts int)

	mu         sync.RWMutex
	byName     map[string]*directoryEntry // by lower-case FQDN
	nameOf     map[int64]string           // host id → its key in byName
	freshUntil time.Time                  // zero: not current
	// gen counts Forget calls; forgot holds, for each host forgotten and
	// not read since, the gen of its Forget: a read of the database that
	// began before it (which may hold what the change replaced) does not
	// bring the host back.
	gen    uint64
	forgot map[int64]uint64
}

// DirectoryBytesPerHost is about what the directory holds per host (a
// host with three records: 470 bytes measured at 100,000), rounded up for
// hosts with more.
const DirectoryBytesPerHost = 768

// directoryEntry is what the directory keeps of a host: the fields of
// store.HostAuth that authentication reads, and not the rest of the row
// (times, notes), which at 100,000 hosts would be a fifth more memory.
type directoryEntry struct {
	id                                int64
	fqdn, hash                        string
	verifier                          []byte
	names                             []string
	ipv4, ipv6                        netip.Addr
	prefix                            netip.Prefix
	enabled, ipv4Enabled, ipv6Enabled bool
}

func entryOf(h *store.HostAuth) *directoryEntry {
	return &directoryEntry{id: h.ID, fqdn: h.FQDN, hash: h.SecretHash, verifier: h.Verifier, names: h.Names,
		ipv4: h.IPv4, ipv6: h.IPv6, prefix: h.Prefix, enabled: h.Enabled, ipv4Enabled: h.IPv4Enabled, ipv6Enabled: h.IPv6Enabled}
}

func (e *directoryEntry) hostAuth() store.HostAuth {
	return store.HostAuth{Host: store.Host{ID: e.id, FQDN: e.fqdn, SecretHash: e.hash, Enabled: e.enabled,
		IPv4Enabled: e.ipv4Enabled, IPv6Enabled: e.ipv6Enabled, IPv4: e.ipv4, IPv6: e.ipv6, Prefix: e.prefix},
		Names: e.names, Verifier: e.verifier}
}

const (
	// directoryPing is how often an idle listener makes a round trip.
	directoryPing = time.Second
	// directoryStaleAfter is how long the directory serves without hearing
	// from its connection.
	directoryStaleAfter = 3 * time.Second
	// directoryGather is how long the listener waits for more
	// notifications before reloading the hosts it has, so that a bulk
	// change (an import) reloads them in a few queries.
	directoryGather = 5 * time.Millisecond
	// directoryBatch is the most hosts reloaded by one query.
	directoryBatch = 5000
	// directoryRetry is the pause before listening again after a failure.
	directoryRetry = time.Second
)

// NewHostDirectory returns an empty directory; Lookup reports it not
// current until Run has loaded it.
func NewHostDirectory(s *store.Store, log *slog.Logger) *HostDirectory {
	return &HostDirectory{store: s, log: log, now: time.Now,
		byName: map[string]*directoryEntry{}, nameOf: map[int64]string{}, forgot: map[int64]uint64{}}
}

// Forget drops host id at once: this replica changed it (its secret, its
// switches, the host itself) and committed. Until a read that began after
// this brings it back (the change's own notification, milliseconds later),
// Lookup sends its name to the database, so that an old secret stops
// working here as soon as the API has answered, not a notification later.
func (d *HostDirectory) Forget(id int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	d.forgot[id] = d.gen
	if key, ok := d.nameOf[id]; ok {
		delete(d.byName, key)
		delete(d.nameOf, id)
	}
}

// readBegins is the gen a read of the database starts at (see forgot).
func (d *HostDirectory) readBegins() uint64 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.gen
}

// stillForgotten tells whether what a read that began at since holds of
// host id is too old to keep: the host was forgotten after it began.
// Otherwise the host is no longer forgotten. Call it holding mu.
func (d *HostDirectory) stillForgotten(id int64, since uint64) bool {
	g, ok := d.forgot[id]
	if ok && g <= since {
		delete(d.forgot, id)
	}
	return ok && g > since
}

// Lookup finds the host named fqdn (normalised by dnsname.Normalize). ok
// is false when the name is not here or the directory may be behind the
// database: the caller reads the database then. A name the directory does
// not know goes to the database too, so that a host created a moment ago
// on another replica, before its notification arrived, is not refused
// (unknown names cost an argon2id verification anyway).
func (d *HostDirectory) Lookup(fqdn string) (h store.HostAuth, ok bool) {
	now := d.now()
	d.mu.RLock()
	defer d.mu.RUnlock()
	if !now.Before(d.freshUntil) {
		return store.HostAuth{}, false
	}
	e, ok := d.byName[fqdn]
	if !ok {
		return store.HostAuth{}, false
	}
	return e.hostAuth(), true
}

// Len is how many hosts the directory holds.
func (d *HostDirectory) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.byName)
}

// Run keeps the directory current until ctx ends, listening again after
// any failure.
func (d *HostDirectory) Run(ctx context.Context) {
	for {
		err := d.session(ctx)
		d.mu.Lock()
		d.freshUntil = time.Time{}
		d.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		d.log.Warn("host directory: not current, updates read the database until it is back", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(directoryRetry):
		}
	}
}

// session listens, loads every host, then applies notifications until the
// connection fails. Listening starts before the load, so a change
// committed while it runs is notified and reloaded after it.
func (d *HostDirectory) session(ctx context.Context) error {
	l, err := d.store.Listen(ctx, store.HostsChannel)
	if err != nil {
		return err
	}
	defer l.Close(context.Background())
	since := d.readBegins()
	all, err := d.store.HostsForAuth(ctx, nil)
	if err != nil {
		return err
	}
	d.replaceAll(all, since)
	d.log.Info("host directory loaded", "hosts", len(all))
	if d.Loaded != nil {
		d.Loaded(len(all))
	}
	for {
		ids, err := d.gather(ctx, l)
		if err != nil {
			return err
		}
		for len(ids) > 0 {
			n := min(len(ids), directoryBatch)
			since := d.readBegins()
			hosts, err := d.store.HostsForAuth(ctx, ids[:n])
			if err != nil {
				return err
			}
			d.apply(ids[:n], hosts, since)
			ids = ids[n:]
		}
	}
}

// gather waits for notifications and returns the ids they name; when none
// comes for directoryPing it checks the connection and, alive, keeps the
// directory current without anything to reload.
func (d *HostDirectory) gather(ctx context.Context, l *store.Listener) ([]int64, error) {
	wait := directoryPing
	seen := map[int64]bool{}
	var ids []int64
	for {
		wctx, cancel := context.WithTimeout(ctx, wait)
		payload, err := l.Next(wctx)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			if len(ids) > 0 {
				return ids, nil
			}
			pctx, cancel := context.WithTimeout(ctx, directoryStaleAfter)
			err := l.Ping(pctx)
			cancel()
			if err != nil {
				return nil, err
			}
			d.touch()
			continue
		case err != nil:
			return nil, err
		}
		id, perr := strconv.ParseInt(payload, 10, 64)
		if perr != nil {
			d.log.Warn("host directory: a notification that names no host", "payload", truncate(payload, 40))
			continue
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
		wait = directoryGather
	}
}

func (d *HostDirectory) touch() {
	d.mu.Lock()
	d.freshUntil = d.now().Add(directoryStaleAfter)
	d.mu.Unlock()
}

// replaceAll makes the directory hold hosts, read from a read that began
// at since.
func (d *HostDirectory) replaceAll(hosts []store.HostAuth, since uint64) {
	byName := make(map[string]*directoryEntry, len(hosts))
	nameOf := make(map[int64]string, len(hosts))
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range hosts {
		if d.stillForgotten(hosts[i].ID, since) {
			continue
		}
		key := strings.ToLower(hosts[i].FQDN)
		byName[key], nameOf[hosts[i].ID] = entryOf(&hosts[i]), key
	}
	for id := range d.forgot {
		d.stillForgotten(id, since) // hosts deleted since are forgotten for good
	}
	d.byName, d.nameOf = byName, nameOf
	d.freshUntil = d.now().Add(directoryStaleAfter)
}

// apply replaces the hosts ids by what a read that began at since found
// of them; an id read nothing for was deleted.
func (d *HostDirectory) apply(ids []int64, hosts []store.HostAuth, since uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		d.stillForgotten(id, since) // a host deleted since is forgotten for good
		if key, ok := d.nameOf[id]; ok {
			delete(d.byName, key)
			delete(d.nameOf, id)
		}
	}
	for i := range hosts {
		if d.stillForgotten(hosts[i].ID, since) {
			continue
		}
		key := strings.ToLower(hosts[i].FQDN)
		// A name freed by one host and taken by another in one batch: the
		// other's entry goes with the name.
		if old, ok := d.byName[key]; ok {
			delete(d.nameOf, old.id)
		}
		d.byName[key], d.nameOf[hosts[i].ID] = entryOf(&hosts[i]), key
	}
	d.freshUntil = d.now().Add(directoryStaleAfter)
}
