package djangoimport

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// Source names this importer in events and in what it writes.
const Source = "ddnsbroker-django"

// Actor is the actor of the events an import appends.
const Actor = "import"

// EventKind is the kind of the event appended for each object created.
const EventKind = store.EventImportCreated

// Options tune an import.
type Options struct {
	// SecretKey is the server's secret key: upstream passwords are sealed
	// with the box derived from it, and source fingerprints are keyed with
	// it so that events never hold a guessable digest of a password.
	SecretKey []byte
	// DryRun does everything in a transaction that is then rolled back.
	DryRun bool
	// Broker decides what the imported records send; required, the
	// caller's one broker of st.
	Broker *broker.Broker
}

// ErrConflicts is returned (wrapped) when objects of the export exist with
// other content; nothing was changed and the report lists them.
var ErrConflicts = errors.New("conflicts with existing objects")

// errDryRun rolls the transaction of a dry run back.
var errDryRun = errors.New("dry run")

// Import brings exp into the database in one transaction. Objects are
// matched by service name, host FQDN and record (service, FQDN): one that
// exists with the same content, or that an earlier import created from
// the very same exported object, is left as it is; one that exists with
// other content and did not come from it stops the import with
// ErrConflicts before anything is written. The report is returned on
// success and with ErrConflicts (listing the conflicts), not with other errors.
func Import(ctx context.Context, st *store.Store, exp *Export, opt Options) (*Report, error) {
	if len(opt.SecretKey) == 0 {
		return nil, errors.New("import: a secret key is required to encrypt upstream passwords")
	}
	if opt.Broker == nil {
		return nil, errors.New("import: a broker is required to decide what imported records send")
	}
	imp := &importer{exp: exp, box: secretbox.New(opt.SecretKey), broker: opt.Broker,
		fpKey: secretbox.DeriveKey(opt.SecretKey, "django import fingerprint v1")}
	var rep *Report
	err := st.InTx(ctx, func(q *store.Queries) error {
		rep = &Report{Notes: append([]string(nil), exp.Notes...), DryRun: opt.DryRun}
		imp.rep = rep
		if err := imp.plan(ctx, q); err != nil {
			return err
		}
		if n := rep.Count("", Conflict); n > 0 {
			return fmt.Errorf("%d %w", n, ErrConflicts)
		}
		if err := imp.apply(ctx, q); err != nil {
			return err
		}
		if opt.DryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil && !errors.Is(err, ErrConflicts) {
		// The report would list as created what was rolled back.
		return nil, fmt.Errorf("import: %w", err)
	}
	if err == nil && !opt.DryRun {
		// A large import changes the tables' sizes at once: until
		// autovacuum analyzes them (up to a minute later) the planner
		// would walk all records by name to list one host's three.
		if _, aerr := st.Pool.Exec(ctx, `ANALYZE hosts, records, record_states`); aerr != nil {
			return rep, fmt.Errorf("import: done, but analyzing the tables failed: %w", aerr)
		}
	}
	return rep, err
}

type importer struct {
	exp    *Export
	box    *secretbox.Box
	broker *broker.Broker
	fpKey  []byte
	rep    *Report

	services map[int64]*servicePlan
	hosts    map[int64]*hostPlan
	records  []*recordPlan
}

type servicePlan struct {
	src      *Service
	item     int // index into the report
	id       int64
	settings json.RawMessage
}

type hostPlan struct {
	src  *Host
	item int
	row  store.Host // the existing row, or the created one after apply
}

type recordPlan struct {
	src      *Record
	item     int
	host     *hostPlan
	service  *servicePlan
	username string
}

// settings are the dyndns2 options of a service, as the dispatcher reads them.
type settings struct {
	URL            string `json:"url"`
	UsernameIsFQDN bool   `json:"username_is_fqdn"`
	Combined       bool   `json:"combined"`
	UseMyIPv6      bool   `json:"use_myipv6"`
}

func (imp *importer) fingerprint(canonical []byte) string {
	m := hmac.New(sha256.New, imp.fpKey)
	m.Write(canonical)
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func (imp *importer) add(it Item) int {
	imp.rep.Items = append(imp.rep.Items, it)
	return len(imp.rep.Items) - 1
}

// plan decides, for every object, whether it is created, left as it is or
// in conflict, reading what exists but writing nothing.
func (imp *importer) plan(ctx context.Context, q *store.Queries) error {
	imp.services = map[int64]*servicePlan{}
	imp.hosts = map[int64]*hostPlan{}
	imp.records = nil
	for i := range imp.exp.Services {
		s := &imp.exp.Services[i]
		p := &servicePlan{src: s}
		p.settings, _ = json.Marshal(settings{URL: s.URL, UsernameIsFQDN: s.UsernameIsFQDN})
		it := Item{Kind: "service", Name: s.Name, Source: fmt.Sprintf("%s pk %d", modelService, s.PK)}
		existing, err := q.ServiceByName(ctx, s.Name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			it.Status = Created
			it.Detail = describeService(s)
		case err != nil:
			return err
		default:
			p.id = existing.ID
			it.Status, it.Detail, err = imp.compare(ctx, q, diffService(s, existing), 0, existing.ID, 0, s.canonical)
			if err != nil {
				return err
			}
		}
		p.item = imp.add(it)
		imp.services[s.PK] = p
	}
	fqdns := make([]string, len(imp.exp.Hosts))
	for i := range imp.exp.Hosts {
		fqdns[i] = imp.exp.Hosts[i].FQDN
	}
	existingHosts, err := q.HostsByFQDN(ctx, fqdns)
	if err != nil {
		return err
	}
	for i := range imp.exp.Hosts {
		h := &imp.exp.Hosts[i]
		p := &hostPlan{src: h}
		it := Item{Kind: "host", Name: h.FQDN, Source: fmt.Sprintf("%s pk %d", modelHost, h.PK)}
		if existing := existingHosts[i]; existing.ID == 0 {
			it.Status = Created
			it.Detail = describeHost(h)
		} else {
			p.row = existing
			it.Status, it.Detail, err = imp.compare(ctx, q, diffHost(h, existing), existing.ID, 0, 0, h.canonical)
			if err != nil {
				return err
			}
		}
		p.item = imp.add(it)
		imp.hosts[h.PK] = p
	}
	// Only a service that exists can have records already.
	var serviceIDs []int64
	var names []string
	for i := range imp.exp.Records {
		r := &imp.exp.Records[i]
		if id := imp.services[r.ServicePK].id; id != 0 {
			serviceIDs, names = append(serviceIDs, id), append(names, r.FQDN)
		}
	}
	existingRecords, err := q.RecordsByServiceFQDN(ctx, serviceIDs, names)
	if err != nil {
		return err
	}
	for i := range imp.exp.Records {
		r := &imp.exp.Records[i]
		p := &recordPlan{src: r, host: imp.hosts[r.HostPK], service: imp.services[r.ServicePK]}
		p.username = r.Username
		if p.service.src.UsernameIsFQDN && strings.EqualFold(r.Username, r.FQDN) {
			// The original overwrote the username with the FQDN on every
			// save; an empty username under a username_is_fqdn service
			// does the same here and follows renames.
			p.username = ""
		}
		it := Item{Kind: "record", Name: r.FQDN + " via " + p.service.src.Name, Source: fmt.Sprintf("%s pk %d", modelRecord, r.PK)}
		var existing store.Record
		if p.service.id != 0 {
			existing, existingRecords = existingRecords[0], existingRecords[1:]
		}
		if existing.ID == 0 {
			it.Status = Created
			it.Detail = "on host " + p.host.src.FQDN
		} else {
			it.Status, it.Detail, err = imp.compare(ctx, q, imp.diffRecord(p, existing), 0, 0, existing.ID, r.canonical)
			if err != nil {
				return err
			}
		}
		p.item = imp.add(it)
		imp.records = append(imp.records, p)
	}
	return nil
}

// compare turns the differences between an exported object and the
// existing one into a status: identical is unchanged; different is
// unchanged too when an earlier import created the object from this very
// exported object (it has lived on since), and a conflict otherwise.
func (imp *importer) compare(ctx context.Context, q *store.Queries, diffs []string, hostID, serviceID, recordID int64, canonical []byte) (Status, string, error) {
	if len(diffs) == 0 {
		return Unchanged, "exists with the same content", nil
	}
	ours, err := q.ImportedBefore(ctx, hostID, serviceID, recordID, imp.fingerprint(canonical))
	if err != nil {
		return "", "", err
	}
	if ours {
		return Unchanged, "imported earlier from this export and changed since (" + strings.Join(diffs, ", ") + "); kept as it is", nil
	}
	return Conflict, "exists with other content: " + strings.Join(diffs, ", "), nil
}

func diffService(s *Service, e store.Service) []string {
	var d []string
	if e.Name != s.Name {
		d = append(d, fmt.Sprintf("name %q here", e.Name))
	}
	if e.Protocol != "dyndns2" {
		d = append(d, "protocol "+e.Protocol)
		return d
	}
	var have settings
	if err := json.Unmarshal(e.Settings, &have); err != nil {
		return append(d, "unreadable settings")
	}
	if have.URL != s.URL {
		d = append(d, "url")
	}
	if have.UsernameIsFQDN != s.UsernameIsFQDN {
		d = append(d, "username_is_fqdn")
	}
	if have.Combined {
		d = append(d, "combined")
	}
	if have.UseMyIPv6 {
		d = append(d, "use_myipv6")
	}
	return d
}

func diffHost(h *Host, e store.Host) []string {
	var d []string
	if e.SecretHash != h.SecretHash {
		d = append(d, "secret hash")
	}
	if !e.Enabled {
		d = append(d, "disabled")
	}
	if e.IPv4Enabled != h.IPv4Enabled {
		d = append(d, "ipv4_enabled")
	}
	if e.IPv6Enabled != h.IPv6Enabled {
		d = append(d, "ipv6_enabled")
	}
	if e.IPv4 != h.IPv4 {
		d = append(d, fmt.Sprintf("IPv4 %s here, %s in the export", addrOrNone(e.IPv4), addrOrNone(h.IPv4)))
	}
	if e.IPv6 != h.IPv6 {
		d = append(d, fmt.Sprintf("IPv6 %s here, %s in the export", addrOrNone(e.IPv6), addrOrNone(h.IPv6)))
	}
	if e.Prefix.IsValid() {
		d = append(d, "IPv6 prefix "+e.Prefix.String())
	}
	return d
}

func (imp *importer) diffRecord(p *recordPlan, e store.Record) []string {
	r := p.src
	var d []string
	if p.host.row.ID == 0 || e.HostID != p.host.row.ID {
		d = append(d, "belongs to another host")
	}
	if e.IPv4Enabled != r.IPv4Enabled {
		d = append(d, "ipv4_enabled")
	}
	if e.IPv4Netmask != r.IPv4Netmask {
		d = append(d, fmt.Sprintf("IPv4 netmask /%d here, /%d in the export", e.IPv4Netmask, r.IPv4Netmask))
	}
	if e.IPv4HostIdentifier != r.IPv4HostID {
		d = append(d, "IPv4 host identifier")
	}
	if e.IPv6Enabled != r.IPv6Enabled {
		d = append(d, "ipv6_enabled")
	}
	if e.IPv6Netmask != r.IPv6Netmask {
		d = append(d, fmt.Sprintf("IPv6 netmask /%d here, /%d in the export", e.IPv6Netmask, r.IPv6Netmask))
	}
	if e.IPv6HostIdentifier != r.IPv6HostID {
		d = append(d, "IPv6 host identifier")
	}
	if e.Username != p.username {
		d = append(d, "username")
	}
	switch {
	case e.Password == nil && r.Password == "":
	case e.Password == nil || r.Password == "":
		d = append(d, "password")
	default:
		pw, err := imp.box.Open(e.Password, e.PasswordKey)
		if err != nil {
			d = append(d, "password (sealed with another secret key)")
		} else if !hmac.Equal([]byte(pw), []byte(r.Password)) {
			d = append(d, "password")
		}
	}
	return d
}

// batch is how many hosts or records one statement creates: an import of
// 100,000 hosts costs a few dozen round trips instead of one per object.
const batch = 5000

// apply creates what the plan says, with one event per object.
func (imp *importer) apply(ctx context.Context, q *store.Queries) error {
	for _, s := range imp.exp.Services {
		p := imp.services[s.PK]
		if imp.rep.Items[p.item].Status != Created {
			continue
		}
		row, err := q.CreateService(ctx, store.NewService{Name: s.Name, Protocol: "dyndns2", Settings: p.settings})
		if err != nil {
			return fmt.Errorf("service %s: %w", s.Name, err)
		}
		p.id = row.ID
		e, err := imp.event(store.Event{ServiceID: &row.ID,
			Message: fmt.Sprintf("service %s (dyndns2) imported from Django DDnsBroker", s.Name)}, modelService, s.PK, s.canonical, nil)
		if err != nil {
			return err
		}
		if err := imp.addEvents(ctx, q, []store.Event{e}); err != nil {
			return err
		}
	}
	var hosts []*hostPlan
	for i := range imp.exp.Hosts {
		if p := imp.hosts[imp.exp.Hosts[i].PK]; imp.rep.Items[p.item].Status == Created {
			hosts = append(hosts, p)
		}
	}
	for len(hosts) > 0 {
		n := min(batch, len(hosts))
		if err := imp.createHosts(ctx, q, hosts[:n]); err != nil {
			return err
		}
		hosts = hosts[n:]
	}
	var records []*recordPlan
	for _, p := range imp.records {
		if imp.rep.Items[p.item].Status == Created {
			records = append(records, p)
		}
	}
	for len(records) > 0 {
		n := min(batch, len(records))
		if err := imp.createRecords(ctx, q, records[:n]); err != nil {
			return err
		}
		records = records[n:]
	}
	return nil
}

// createHosts adds hosts with the times the original recorded.
func (imp *importer) createHosts(ctx context.Context, q *store.Queries, plans []*hostPlan) error {
	in := make([]store.ImportedHost, len(plans))
	for i, p := range plans {
		h := p.src
		lastSeen := h.IPv4Updated
		if h.IPv6Updated != nil && (lastSeen == nil || h.IPv6Updated.After(*lastSeen)) {
			lastSeen = h.IPv6Updated
		}
		in[i] = store.ImportedHost{
			NewHost: store.NewHost{FQDN: h.FQDN, SecretHash: h.SecretHash, Enabled: true,
				IPv4Enabled: h.IPv4Enabled, IPv6Enabled: h.IPv6Enabled, IPv4: h.IPv4, IPv6: h.IPv6},
			IPv4UpdatedAt: h.IPv4Updated, IPv4ChangedAt: h.IPv4Changed, IPv6UpdatedAt: h.IPv6Updated, IPv6ChangedAt: h.IPv6Changed,
			LastSeenAt: lastSeen, CreatedAt: h.Created}
	}
	rows, err := q.ImportHosts(ctx, in)
	if err != nil {
		return fmt.Errorf("hosts %s to %s: %w", plans[0].src.FQDN, plans[len(plans)-1].src.FQDN, err)
	}
	events := make([]store.Event, len(plans))
	for i, p := range plans {
		h := p.src
		p.row = rows[i]
		events[i], err = imp.event(store.Event{HostID: &p.row.ID,
			Message: fmt.Sprintf("host %s imported from Django DDnsBroker with its Django secret hash (upgraded to argon2id on its first update)", h.FQDN)},
			modelHost, h.PK, h.canonical, nil)
		if err != nil {
			return err
		}
	}
	return imp.addEvents(ctx, q, events)
}

// createRecords adds records whose upstream holds what the original last
// computed: that address is recorded as delivered, so nothing is sent,
// unless this broker computes another address for it now.
func (imp *importer) createRecords(ctx context.Context, q *store.Queries, plans []*recordPlan) error {
	in := make([]store.ImportedRecord, len(plans))
	notes := make([][]string, len(plans))
	mismatches := make([][]Mismatch, len(plans))
	for i, p := range plans {
		in[i], notes[i], mismatches[i] = imp.recordState(p)
	}
	rows, err := q.ImportRecords(ctx, in)
	if err != nil {
		return fmt.Errorf("records %s to %s: %w", imp.rep.Items[plans[0].item].Name, imp.rep.Items[plans[len(plans)-1].item].Name, err)
	}
	events := make([]store.Event, len(plans))
	for i, p := range plans {
		row, h, it := rows[i], p.host, &imp.rep.Items[p.item]
		queued, err := imp.broker.RecordImported(ctx, q, h.row, row)
		if err != nil {
			return fmt.Errorf("record %s: %w", it.Name, err)
		}
		imp.rep.Queued += queued
		it.Detail += "; " + strings.Join(notes[i], "; ")
		if p.username == "" && p.service.src.UsernameIsFQDN {
			it.Detail += "; username: the record FQDN (service setting)"
		}
		data := map[string]any{"queued": queued}
		if len(mismatches[i]) > 0 {
			var ms []map[string]any
			for _, m := range mismatches[i] {
				ms = append(ms, map[string]any{"family": m.Family, "original": addrText(m.Original), "computed": addrText(m.Computed)})
			}
			data["mismatches"] = ms
		}
		msg := fmt.Sprintf("record %s imported from Django DDnsBroker: %s", it.Name, strings.Join(notes[i], "; "))
		events[i], err = imp.event(store.Event{HostID: &h.row.ID, ServiceID: &p.service.id, RecordID: &row.ID, Message: msg},
			modelRecord, p.src.PK, p.src.canonical, data)
		if err != nil {
			return err
		}
	}
	return imp.addEvents(ctx, q, events)
}

// recordState is what a record is created with: each family's address as
// the original delivered it and as this broker wants it, with a note per
// family and the families whose effective address the original computed
// otherwise (added to the report).
func (imp *importer) recordState(p *recordPlan) (store.ImportedRecord, []string, []Mismatch) {
	r, h := p.src, p.host
	n := store.NewRecord{HostID: h.row.ID, ServiceID: p.service.id, FQDN: r.FQDN,
		IPv4Enabled: r.IPv4Enabled, IPv4Netmask: r.IPv4Netmask, IPv4HostIdentifier: r.IPv4HostID,
		IPv6Enabled: r.IPv6Enabled, IPv6Netmask: r.IPv6Netmask, IPv6HostIdentifier: r.IPv6HostID, Username: p.username}
	if r.Password != "" {
		n.Password, n.PasswordKey = imp.box.Seal(r.Password)
	}
	// What the record is as the broker sees it, to compute what it wants.
	shape := store.Record{IPv4Enabled: n.IPv4Enabled, IPv4Netmask: n.IPv4Netmask, IPv4HostIdentifier: n.IPv4HostIdentifier,
		IPv6Enabled: n.IPv6Enabled, IPv6Netmask: n.IPv6Netmask, IPv6HostIdentifier: n.IPv6HostIdentifier}
	in := store.ImportedRecord{NewRecord: n, CreatedAt: r.Created}
	name := imp.rep.Items[p.item].Name
	source := imp.rep.Items[p.item].Source
	var notes []string
	var mismatches []Mismatch
	for _, fam := range netcalc.Families() {
		original, updated := r.EffectiveIPv4, r.IPv4Updated
		computed, _ := netcalc.Effective4(h.src.IPv4, r.IPv4Netmask, r.IPv4HostID)
		st := &in.V4
		if fam == netcalc.V6 {
			original, updated = r.EffectiveIPv6, r.IPv6Updated
			computed, _ = netcalc.Effective6(h.src.IPv6, netip.Prefix{}, r.IPv6Netmask, r.IPv6HostID)
			st = &in.V6
		}
		st.Delivered, st.Desired, st.State = original, original, store.SyncIdle
		if original.IsValid() {
			st.State, st.LastSuccessAt = store.SyncDelivered, updated
		}
		want := broker.Effective(h.row, shape, fam)
		switch {
		case want == original && want.IsValid():
			notes = append(notes, fmt.Sprintf("%s %s already delivered", fam, original))
		case want.IsValid():
			notes = append(notes, fmt.Sprintf("%s %s queued for delivery (the original had %s)", fam, want, addrOrNone(original)))
		default:
			st.Desired, st.State = netip.Addr{}, store.SyncIdle
			if familyOn(h.row, shape, fam) {
				notes = append(notes, fmt.Sprintf("%s no address yet", fam))
			} else {
				notes = append(notes, fmt.Sprintf("%s off", fam))
			}
		}
		if computed != original {
			m := Mismatch{Record: name, Source: source, Family: fam, Original: original, Computed: computed, Queued: want != original && want.IsValid()}
			mismatches = append(mismatches, m)
			imp.rep.Mismatches = append(imp.rep.Mismatches, m)
		}
	}
	return in, notes, mismatches
}

// event is the import.created event of one object, naming its source
// object by fingerprint.
func (imp *importer) event(e store.Event, model string, pk int64, canonical []byte, extra map[string]any) (store.Event, error) {
	data := map[string]any{"source": Source, "model": model, "pk": pk, "fingerprint": imp.fingerprint(canonical)}
	for k, v := range extra {
		data[k] = v
	}
	b, err := json.Marshal(data)
	if err != nil {
		return store.Event{}, err
	}
	e.Kind, e.Actor, e.Data = EventKind, Actor, b
	return e, nil
}

func (imp *importer) addEvents(ctx context.Context, q *store.Queries, events []store.Event) error {
	if err := q.AddEvents(ctx, events); err != nil {
		return err
	}
	imp.rep.Events += len(events)
	return nil
}

// familyOn reports whether both the host and the record have a family enabled.
func familyOn(h store.Host, r store.Record, family netcalc.Family) bool {
	if family == netcalc.V4 {
		return h.IPv4Enabled && r.IPv4Enabled
	}
	return h.IPv6Enabled && r.IPv6Enabled
}

func describeService(s *Service) string {
	d := "dyndns2 " + redactURL(s.URL)
	if s.UsernameIsFQDN {
		d += ", username is the record FQDN"
	}
	return d
}

func describeHost(h *Host) string {
	var parts []string
	for _, f := range []struct {
		name    string
		enabled bool
		addr    netip.Addr
	}{{"IPv4", h.IPv4Enabled, h.IPv4}, {"IPv6", h.IPv6Enabled, h.IPv6}} {
		switch {
		case !f.enabled:
			parts = append(parts, f.name+" off")
		case f.addr.IsValid():
			parts = append(parts, f.name+" "+f.addr.String())
		default:
			parts = append(parts, f.name+" none yet")
		}
	}
	return strings.Join(parts, ", ") + "; Django secret hash kept (argon2id after the router's next update)"
}

// redactURL shows a service URL without its query values, which may be tokens.
func redactURL(s string) string {
	base, query, found := strings.Cut(s, "?")
	if !found {
		return s
	}
	var keys []string
	for _, kv := range strings.Split(query, "&") {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k+"=…")
	}
	return base + "?" + strings.Join(keys, "&")
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func addrOrNone(a netip.Addr) string {
	if !a.IsValid() {
		return "none"
	}
	return a.String()
}
