package manifest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/oapi-codegen/nullable"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/notify"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// Passphrase opens the file's secrets; required when it has them.
	Passphrase string
	// Box opens the database's secrets (the server's secret key), to tell
	// whether the file's differ.
	Box *secretbox.Box
	// DryRun shows the changes and makes none.
	DryRun bool
	// Prune deletes what the file does not have; without it, such objects
	// are listed and kept.
	Prune bool
	// Out receives the changes (before anything is changed) and what was done.
	Out io.Writer
}

// Result counts what Apply changed (or, in a dry run, would change).
type Result struct {
	Created, Updated, Deleted, Unchanged int
	// Kept lists what is in the database but not in the file, kept
	// because Prune was not asked for.
	Kept []string
}

// Changes is how many objects change.
func (r Result) Changes() int { return r.Created + r.Updated + r.Deleted }

// API builds the JSON API on a store: Apply calls it with the store of the
// one transaction it runs in.
type API func(st *store.Store) (*rest.Admin, error)

// errDryRun rolls a dry run back.
var errDryRun = errors.New("dry run")

// Apply makes the database hold the configuration of m, through the JSON
// API (its validation, rules and history). It first writes every change it
// is going to make to opt.Out, then makes them in dependency order
// (services, hosts, records, deletions, webhooks, notifiers) in one
// transaction: all or none. A dry run makes them too, so that it meets
// every refusal a real run would, and rolls them back. A configuration the database already
// holds changes nothing.
func Apply(ctx context.Context, st *store.Store, api API, m *Manifest, opt ApplyOptions) (Result, error) {
	var seal *sealer
	if m.Secrets != nil {
		if opt.Passphrase == "" {
			return Result{}, errors.New("the file has secrets: give the passphrase it was exported with")
		}
		var err error
		if seal, err = m.Secrets.open(opt.Passphrase); err != nil {
			return Result{}, err
		}
		if opt.Box == nil {
			return Result{}, errors.New("the file has secrets: the server's secret key is needed to compare them")
		}
	}
	var res Result
	err := st.Within(ctx, func(tx *store.Store) error {
		admin, err := api(tx)
		if err != nil {
			return err
		}
		p := &planner{st: tx, api: admin, m: m, box: opt.Box, seal: seal, prune: opt.Prune}
		res, err = p.run(ctx, opt)
		if err == nil && opt.DryRun {
			return errDryRun
		}
		return err
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return res, err
}

// run plans the whole change from the database as it is, shows it, then
// makes it phase by phase.
func (p *planner) run(ctx context.Context, opt ApplyOptions) (Result, error) {
	if err := p.reload(ctx); err != nil {
		return Result{}, err
	}
	var all []*change
	for _, phase := range p.phases() {
		cs, err := phase(ctx)
		if err != nil {
			return Result{}, err
		}
		all = append(all, cs...)
	}
	res := Result{Unchanged: p.unchanged, Kept: p.kept}
	shown := map[string]bool{}
	for _, c := range all {
		fmt.Fprintln(opt.Out, c.line())
		shown[c.line()] = true
		res.count(c)
	}
	if len(p.kept) > 0 {
		fmt.Fprintf(opt.Out, "not in the file, kept (apply --prune deletes them): %s\n", strings.Join(p.kept, ", "))
	}
	verbs := [3]string{"created", "changed", "deleted"}
	if opt.DryRun {
		verbs = [3]string{"to create", "to change", "to delete"}
	}
	summary := func(r Result) {
		fmt.Fprintf(opt.Out, "%d %s, %d %s, %d %s, %d unchanged\n", r.Created, verbs[0], r.Updated, verbs[1], r.Deleted, verbs[2], r.Unchanged)
	}
	if res.Changes() == 0 {
		fmt.Fprintln(opt.Out, "nothing to change")
		summary(res)
		return res, nil
	}
	// Each phase is planned again from the database as the earlier ones
	// left it: a service's new destination removes its records' passwords,
	// which the records' phase then gives again.
	unchanged := res.Unchanged
	res = Result{Kept: p.kept, Unchanged: unchanged}
	for _, phase := range p.phases() {
		if err := p.reload(ctx); err != nil {
			return res, err
		}
		cs, err := phase(ctx)
		if err != nil {
			return res, err
		}
		for _, c := range cs {
			if !shown[c.line()] {
				fmt.Fprintln(opt.Out, c.line())
			}
			if err := c.do(ctx); err != nil {
				return res, fmt.Errorf("%s %s: %w (nothing was changed; correct the file and apply it again)", c.kind, c.name, err)
			}
			if c.note != "" && !opt.DryRun {
				fmt.Fprintf(opt.Out, "  %s\n", c.note)
			}
			res.count(c)
		}
	}
	summary(res)
	return res, nil
}

func (r *Result) count(c *change) {
	switch c.op {
	case opCreate:
		r.Created++
	case opUpdate:
		r.Updated++
	case opDelete:
		r.Deleted++
	}
}

type op byte

const (
	opCreate op = '+'
	opUpdate op = '~'
	opDelete op = '-'
)

// change is one object to create, change or delete.
type change struct {
	op     op
	kind   string // service, host, record, webhook, notifier
	name   string
	detail string // what changes, without secret values
	do     func(ctx context.Context) error
	note   string // set by do: what the admin must know (a new host's secret)
}

func (c *change) line() string {
	s := fmt.Sprintf("%c %s %s", c.op, c.kind, c.name)
	if c.detail != "" {
		s += ": " + c.detail
	}
	return s
}

type planner struct {
	st    *store.Store
	api   *rest.Admin
	m     *Manifest
	box   *secretbox.Box
	seal  *sealer // nil: the file has no secrets, and those stored stay
	prune bool
	s     *state
	// unchanged and kept are counted by the phases of the last planning.
	unchanged int
	kept      []string
}

func (p *planner) reload(ctx context.Context) (err error) {
	p.s, err = load(ctx, p.st)
	p.unchanged, p.kept = 0, nil
	return err
}

func (p *planner) phases() []func(context.Context) ([]*change, error) {
	return []func(context.Context) ([]*change, error){p.services, p.hosts, p.records, p.pruneHosts, p.pruneServices, p.webhooks, p.notifiers}
}

// fileSecret opens one of the file's secrets ("" stays "").
func (p *planner) fileSecret(what, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	v, err := p.seal.open(sealed)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// storedSecret opens one of the database's secrets; one sealed with
// another key reads as unknown (ok false), so the file's is set.
func (p *planner) storedSecret(sealed []byte, keyID string) (v string, ok bool) {
	if sealed == nil {
		return "", true
	}
	v, err := p.box.Open(sealed, keyID)
	return v, err == nil
}

func (p *planner) services(context.Context) ([]*change, error) {
	var out []*change
	for _, f := range p.m.Services {
		name := f.Name
		cred, err := p.fileSecret("service "+name+": credential", f.Credential)
		if err != nil {
			return nil, err
		}
		wanted := rest.StoredSettings(f.Protocol, jsonValues(f.Settings))
		cur, ok := p.s.services[strings.ToLower(name)]
		if !ok {
			body := rest.ServiceCreate{Name: name, Protocol: rest.Protocol(f.Protocol), Settings: (*rest.ServiceSettings)(&wanted), Shared: &f.Shared}
			if cred != "" {
				body.Credential = &cred
			}
			out = append(out, &change{op: opCreate, kind: "service", name: name, detail: f.Protocol,
				do: func(ctx context.Context) error { return p.api.Call(ctx, http.MethodPost, "/services", body, nil) }})
			continue
		}
		if cur.Protocol != f.Protocol {
			return nil, fmt.Errorf("service %s: its protocol is %s here and %s in the file; a service's protocol cannot change (give the file's service another name)",
				name, cur.Protocol, f.Protocol)
		}
		var fields []string
		var patch rest.ServicePatch
		if cur.Name != name {
			patch.Name = &name
			fields = append(fields, fmt.Sprintf("name %s → %s", cur.Name, name))
		}
		if cur.Shared != f.Shared {
			patch.Shared = &f.Shared
			fields = append(fields, fmt.Sprintf("shared %t → %t", cur.Shared, f.Shared))
		}
		stored := map[string]any{}
		if err := json.Unmarshal(cur.Settings, &stored); err != nil {
			return nil, fmt.Errorf("service %s: stored settings: %w", name, err)
		}
		if keys := changedKeys(stored, wanted); len(keys) > 0 {
			patch.Settings = (*rest.ServiceSettings)(&wanted)
			for _, k := range keys {
				fields = append(fields, "settings."+k)
			}
		}
		if p.seal != nil {
			have, ok := p.storedSecret(cur.Credentials, cur.CredentialsKey)
			// A changed destination needs the credential again (the API's
			// rule); the file has it.
			if have != cred || !ok || patch.Settings != nil && cred != "" {
				patch.Credential = &cred
				if have != cred || !ok {
					fields = append(fields, "credential")
				}
			}
		}
		if len(fields) == 0 {
			p.unchanged++
			continue
		}
		id := cur.ID
		out = append(out, &change{op: opUpdate, kind: "service", name: name, detail: strings.Join(fields, ", "),
			do: func(ctx context.Context) error {
				return p.api.Call(ctx, http.MethodPatch, "/services/"+strconv.FormatInt(id, 10), patch, nil)
			}})
	}
	return out, nil
}

func (p *planner) hosts(context.Context) ([]*change, error) {
	var out []*change
	for _, f := range p.m.Hosts {
		hash, err := p.fileSecret("host "+f.FQDN+": secret_hash", f.SecretHash)
		if err != nil {
			return nil, err
		}
		cur, ok := p.s.hosts[strings.ToLower(f.FQDN)]
		if !ok {
			body := rest.HostCreate{Fqdn: f.FQDN, Enabled: f.Enabled, Ipv4Enabled: f.IPv4Enabled, Ipv6Enabled: f.IPv6Enabled, Notes: &f.Notes,
				Ipv4PrivateAllowed: &f.IPv4PrivateAllowed, StaleAfter: f.StaleAfter}
			c := &change{op: opCreate, kind: "host", name: f.FQDN}
			c.do = func(ctx context.Context) error {
				var created rest.HostCreated
				if err := p.api.Call(ctx, http.MethodPost, "/hosts", body, &created); err != nil {
					return err
				}
				if hash == "" {
					c.note = "its update secret (shown once): " + created.Secret
					return nil
				}
				return p.restoreSecret(ctx, created.Id, hash)
			}
			out = append(out, c)
			continue
		}
		var fields []string
		var patch rest.HostPatch
		if cur.FQDN != strings.ToLower(f.FQDN) {
			patch.Fqdn = &f.FQDN
			fields = append(fields, "fqdn")
		}
		boolField := func(name string, have bool, want *bool, dst **bool) {
			if have != *want {
				*dst = want
				fields = append(fields, fmt.Sprintf("%s %t → %t", name, have, *want))
			}
		}
		boolField("enabled", cur.Enabled, f.Enabled, &patch.Enabled)
		boolField("ipv4_enabled", cur.IPv4Enabled, f.IPv4Enabled, &patch.Ipv4Enabled)
		boolField("ipv6_enabled", cur.IPv6Enabled, f.IPv6Enabled, &patch.Ipv6Enabled)
		boolField("ipv4_private_allowed", cur.PrivateIPv4Allowed, &f.IPv4PrivateAllowed, &patch.Ipv4PrivateAllowed)
		if have := staleSeconds(cur.StaleAfter); !equalPtr(have, f.StaleAfter) {
			if f.StaleAfter == nil {
				patch.StaleAfter = nullable.NewNullNullable[int64]()
			} else {
				patch.StaleAfter = nullable.NewNullableWithValue(*f.StaleAfter)
			}
			fields = append(fields, fmt.Sprintf("stale_after %s → %s", staleText(have), staleText(f.StaleAfter)))
		}
		if cur.Notes != f.Notes {
			patch.Notes = &f.Notes
			fields = append(fields, "notes")
		}
		patched := len(fields) > 0 // fields the PATCH carries (HostPatch holds a Nullable: no == on it)
		restore := hash != "" && hash != cur.SecretHash
		if restore {
			fields = append(fields, "update secret")
		}
		if len(fields) == 0 {
			p.unchanged++
			continue
		}
		id := cur.ID
		out = append(out, &change{op: opUpdate, kind: "host", name: f.FQDN, detail: strings.Join(fields, ", "),
			do: func(ctx context.Context) error {
				if patched {
					if err := p.api.Call(ctx, http.MethodPatch, "/hosts/"+strconv.FormatInt(id, 10), patch, nil); err != nil {
						return err
					}
				}
				if restore {
					return p.restoreSecret(ctx, id, hash)
				}
				return nil
			}})
	}
	return out, nil
}

// staleText shows a stale_after in a change: seconds, or the server's.
func staleText(v *int64) string {
	if v == nil {
		return "the server's"
	}
	return strconv.FormatInt(*v, 10) + "s"
}

func equalPtr[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// restoreSecret sets a host's update-secret hash from the file, so that
// its router goes on updating with the secret it has. The API only takes
// secrets in clear, so this is the one write apply makes beside it, with
// the event the API writes for a new secret.
func (p *planner) restoreSecret(ctx context.Context, id int64, hash string) error {
	return p.st.InTx(ctx, func(q *store.Queries) error {
		h, err := q.LockHost(ctx, id)
		if err != nil {
			return err
		}
		if err := q.SetHostSecret(ctx, id, hash); err != nil {
			return err
		}
		return q.AddEvent(ctx, store.Event{Kind: store.EventHostSecretRotated, HostID: &id, Actor: "command ddnsbroker apply",
			Message: fmt.Sprintf("update secret of %s restored from a configuration file", h.FQDN)})
	})
}

// planned is a record of the file with its host.
type planned struct {
	host string
	rec  Record
}

func (p *planner) records(context.Context) ([]*change, error) {
	want := map[recordKey]planned{}
	var order []recordKey
	for _, h := range p.m.Hosts {
		for _, r := range h.Records {
			k := keyOf(h.FQDN, r.Service, r.FQDN)
			want[k] = planned{host: h.FQDN, rec: r}
			order = append(order, k)
			if _, inFile := p.s.services[strings.ToLower(r.Service)]; !inFile && !slices.ContainsFunc(p.m.Services, func(s Service) bool {
				return strings.EqualFold(s.Name, r.Service)
			}) {
				return nil, fmt.Errorf("record %s: its service %q is neither in the file nor in the database", r.FQDN, r.Service)
			}
		}
	}
	// A name the file gives, through a service, to a host that has no
	// record of it yet, while another host the file does not give it to
	// has one, moves: a record cannot change hosts, so it goes (pruned or
	// not) and comes again. arriving lists those hosts by service and name.
	arriving := map[recordKey][]string{}
	// feeders counts the file's hosts of each name and service: a shared
	// name's records are shown with their host.
	feeders := map[recordKey]int{}
	for _, k := range order {
		n := recordKey{service: k.service, fqdn: k.fqdn}
		feeders[n]++
		if _, ok := p.s.records[k]; !ok {
			arriving[n] = append(arriving[n], want[k].host)
		}
	}
	var deletes, updates, creates []*change
	// What is not in the file, in a stable order.
	var gone []recordKey
	for k := range p.s.records {
		if _, ok := want[k]; !ok {
			gone = append(gone, k)
		}
	}
	slices.SortFunc(gone, func(a, b recordKey) int {
		return strings.Compare(a.fqdn+" "+a.service+" "+a.host, b.fqdn+" "+b.service+" "+b.host)
	})
	for _, k := range gone {
		r := p.s.records[k]
		name := r.FQDN + " via " + p.s.servicesByID[r.ServiceID].Name
		host := p.s.hostsByID[r.HostID].FQDN
		if to := arriving[recordKey{service: k.service, fqdn: k.fqdn}]; len(to) > 0 {
			arriving[recordKey{service: k.service, fqdn: k.fqdn}] = to[1:]
			deletes = append(deletes, &change{op: opDelete, kind: "record", name: name,
				detail: fmt.Sprintf("moves from host %s to %s", host, to[0]), do: p.deleteRecord(r.ID)})
			continue
		}
		if !p.prune {
			p.kept = append(p.kept, "record "+name+" on host "+host)
			continue
		}
		deletes = append(deletes, &change{op: opDelete, kind: "record", name: name, detail: "on host " + host, do: p.deleteRecord(r.ID)})
	}
	for _, k := range order {
		w := want[k]
		f := w.rec
		name := f.FQDN + " via " + f.Service
		if feeders[recordKey{service: k.service, fqdn: k.fqdn}] > 1 {
			name += " on host " + w.host
		}
		pw, err := p.fileSecret("record "+name+": password", f.Password)
		if err != nil {
			return nil, err
		}
		cur, ok := p.s.records[k]
		if !ok {
			host, service := w.host, f.Service
			mode4, mode6 := rest.AddressMode(f.IPv4Mode), rest.AddressMode(f.IPv6Mode)
			body := rest.RecordCreate{Fqdn: &f.FQDN, Ipv4Enabled: f.IPv4Enabled, Ipv4Netmask: f.IPv4Netmask,
				Ipv4HostIdentifier: &f.IPv4HostIdentifier, Ipv6Enabled: f.IPv6Enabled, Ipv6Netmask: f.IPv6Netmask,
				Ipv6HostIdentifier: orNil(f.IPv6HostIdentifier), Ipv6HostMac: orNil(f.IPv6HostMAC), Ipv6SubnetId: orNil(f.IPv6SubnetID),
				Ipv4Mode: &mode4, Ipv4StaticAddress: orNil(f.IPv4StaticAddress), Ipv6Mode: &mode6, Ipv6StaticAddress: orNil(f.IPv6StaticAddress),
				Username: &f.Username, KeepOtherAddresses: &f.KeepOtherAddresses, DropWhenStale: &f.DropWhenStale}
			if pw != "" {
				body.Password = &pw
			}
			creates = append(creates, &change{op: opCreate, kind: "record", name: name, detail: "on host " + host,
				do: func(ctx context.Context) error {
					// The host and service exist by now: their phases ran,
					// and this phase was planned after them.
					body.HostId = p.s.hosts[strings.ToLower(host)].ID
					body.ServiceId = p.s.services[strings.ToLower(service)].ID
					return p.api.Call(ctx, http.MethodPost, "/records", body, nil)
				}})
			continue
		}
		patch, fields := recordPatch(cur, f)
		if p.seal != nil {
			if have, ok := p.storedSecret(cur.Password, cur.PasswordKey); have != pw || !ok {
				patch.Password = &pw
				fields = append(fields, "password")
			}
		}
		if len(fields) == 0 {
			p.unchanged++
			continue
		}
		id := cur.ID
		updates = append(updates, &change{op: opUpdate, kind: "record", name: name, detail: strings.Join(fields, ", "),
			do: func(ctx context.Context) error {
				return p.api.Call(ctx, http.MethodPatch, "/records/"+strconv.FormatInt(id, 10), patch, nil)
			}})
	}
	return slices.Concat(deletes, updates, creates), nil
}

// recordPatch is what changes a stored record into the file's, with the
// fields it changes (without the password, which needs the file's secrets).
// A value the file has that cannot be read counts as a change, so that the
// API refuses it, naming the field.
func recordPatch(cur store.Record, f Record) (rest.RecordPatch, []string) {
	var fields []string
	var patch rest.RecordPatch
	if cur.FQDN != strings.ToLower(f.FQDN) {
		patch.Fqdn = &f.FQDN
		fields = append(fields, "fqdn")
	}
	boolField := func(name string, have, want bool, dst **bool) {
		if have != want {
			*dst = &want
			fields = append(fields, fmt.Sprintf("%s %t → %t", name, have, want))
		}
	}
	bitsField := func(name string, have, want int, dst **int) {
		if have != want {
			*dst = &want
			fields = append(fields, fmt.Sprintf("%s %d → %d", name, have, want))
		}
	}
	boolField("ipv4_enabled", cur.IPv4Enabled, *f.IPv4Enabled, &patch.Ipv4Enabled)
	bitsField("ipv4_netmask", cur.IPv4Netmask, *f.IPv4Netmask, &patch.Ipv4Netmask)
	if id, err := netip.ParseAddr(f.IPv4HostIdentifier); err != nil || id != cur.IPv4HostIdentifier {
		patch.Ipv4HostIdentifier = &f.IPv4HostIdentifier
		fields = append(fields, fmt.Sprintf("ipv4_host_identifier %s → %s", cur.IPv4HostIdentifier, f.IPv4HostIdentifier))
	}
	boolField("ipv6_enabled", cur.IPv6Enabled, *f.IPv6Enabled, &patch.Ipv6Enabled)
	bitsField("ipv6_netmask", cur.IPv6Netmask, *f.IPv6Netmask, &patch.Ipv6Netmask)
	haveMAC := "none"
	if cur.IPv6HostMAC != nil {
		haveMAC = cur.IPv6HostMAC.String()
	}
	if f.IPv6HostMAC != "" {
		if mac, err := netcalc.ParseMAC(f.IPv6HostMAC); err != nil || !bytes.Equal(mac, cur.IPv6HostMAC) {
			patch.Ipv6HostMac = &f.IPv6HostMAC
			fields = append(fields, fmt.Sprintf("ipv6_host_mac %s → %s", haveMAC, f.IPv6HostMAC))
		}
	} else {
		id, err := netip.ParseAddr(f.IPv6HostIdentifier)
		if cur.IPv6HostMAC != nil {
			fields = append(fields, fmt.Sprintf("ipv6_host_mac %s → none", haveMAC))
		}
		if err != nil || id != cur.IPv6HostIdentifier {
			fields = append(fields, fmt.Sprintf("ipv6_host_identifier %s → %s", cur.IPv6HostIdentifier, f.IPv6HostIdentifier))
		}
		if err != nil || id != cur.IPv6HostIdentifier || cur.IPv6HostMAC != nil {
			// Given alone, the identifier also drops the MAC.
			patch.Ipv6HostIdentifier = &f.IPv6HostIdentifier
		}
	}
	haveSubnet, wantSubnet := "none", cmp.Or(f.IPv6SubnetID, "none")
	if cur.IPv6SubnetID != nil {
		haveSubnet = netcalc.FormatSubnetID(*cur.IPv6SubnetID)
	}
	if id, err := netcalc.ParseSubnetID(f.IPv6SubnetID); f.IPv6SubnetID != "" && err == nil {
		wantSubnet = netcalc.FormatSubnetID(id)
	}
	if haveSubnet != wantSubnet {
		patch.Ipv6SubnetId = &f.IPv6SubnetID // "" removes it
		fields = append(fields, fmt.Sprintf("ipv6_subnet_id %s → %s", haveSubnet, wantSubnet))
	}
	mode := func(v int, have netip.Addr, wantMode, wantAddr string, dstMode **rest.AddressMode, dstAddr **string) {
		haveShown, wantShown := string(rest.Derived), strings.TrimSpace(wantMode+" "+wantAddr)
		if have.IsValid() {
			haveShown = string(rest.Static) + " " + have.String()
		}
		if a, err := netip.ParseAddr(wantAddr); err == nil && wantMode == string(rest.Static) {
			wantShown = wantMode + " " + a.String()
		}
		if haveShown == wantShown {
			return
		}
		m := rest.AddressMode(wantMode)
		*dstMode, *dstAddr = &m, orNil(wantAddr)
		fields = append(fields, fmt.Sprintf("ipv%d_mode %s → %s", v, haveShown, wantShown))
	}
	mode(4, cur.IPv4Static, f.IPv4Mode, f.IPv4StaticAddress, &patch.Ipv4Mode, &patch.Ipv4StaticAddress)
	mode(6, cur.IPv6Static, f.IPv6Mode, f.IPv6StaticAddress, &patch.Ipv6Mode, &patch.Ipv6StaticAddress)
	if cur.Username != f.Username {
		patch.Username = &f.Username
		fields = append(fields, "username")
	}
	boolField("keep_other_addresses", cur.KeepOtherAddresses, f.KeepOtherAddresses, &patch.KeepOtherAddresses)
	boolField("drop_when_stale", cur.DropWhenStale, f.DropWhenStale, &patch.DropWhenStale)
	return patch, fields
}

// orNil is s for a request's optional field: nil when empty (not given).
func orNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (p *planner) deleteRecord(id int64) func(context.Context) error {
	return func(ctx context.Context) error {
		return p.api.Call(ctx, http.MethodDelete, "/records/"+strconv.FormatInt(id, 10), nil, nil)
	}
}

func (p *planner) pruneHosts(context.Context) ([]*change, error) {
	return prune(p, "host", "/hosts/", sortedValues(p.s.hosts), func(h store.Host) (string, int64, bool) {
		return h.FQDN, h.ID, slices.ContainsFunc(p.m.Hosts, func(f Host) bool { return strings.EqualFold(f.FQDN, h.FQDN) })
	}), nil
}

func (p *planner) pruneServices(context.Context) ([]*change, error) {
	return prune(p, "service", "/services/", sortedValues(p.s.services), func(s store.Service) (string, int64, bool) {
		return s.Name, s.ID, slices.ContainsFunc(p.m.Services, func(f Service) bool { return strings.EqualFold(f.Name, s.Name) })
	}), nil
}

// prune deletes (with --prune) or lists as kept what is stored but not in
// the file; which says an object's name, id and whether the file has it.
func prune[T any](p *planner, kind, path string, stored []T, which func(T) (string, int64, bool)) []*change {
	var out []*change
	for _, o := range stored {
		name, id, inFile := which(o)
		if inFile {
			continue
		}
		if !p.prune {
			p.kept = append(p.kept, kind+" "+name)
			continue
		}
		out = append(out, &change{op: opDelete, kind: kind, name: name, do: func(ctx context.Context) error {
			return p.api.Call(ctx, http.MethodDelete, path+strconv.FormatInt(id, 10), nil, nil)
		}})
	}
	return out
}

func (p *planner) webhooks(context.Context) ([]*change, error) {
	var out []*change
	for _, f := range p.m.Webhooks {
		secret, err := p.fileSecret("webhook "+f.Name+": secret", f.Secret)
		if err != nil {
			return nil, err
		}
		events := make([]rest.WebhookEvent, len(f.Events))
		for i, e := range f.Events {
			events[i] = rest.WebhookEvent(e)
		}
		if _, clash := p.s.notifiers[strings.ToLower(f.Name)]; clash {
			return nil, fmt.Errorf("webhook %s: a notification channel of that name sends to a Shoutrrr URL here; "+
				"a channel cannot change kinds (give the webhook another name, or move it to notifiers:)", f.Name)
		}
		cur, ok := p.s.webhooks[strings.ToLower(f.Name)]
		if !ok {
			body := rest.WebhookCreate{Name: f.Name, Url: f.URL, Events: &events, Enabled: f.Enabled}
			if secret != "" {
				body.Secret = &secret
			}
			out = append(out, &change{op: opCreate, kind: "webhook", name: f.Name,
				do: func(ctx context.Context) error { return p.api.Call(ctx, http.MethodPost, "/webhooks", body, nil) }})
			continue
		}
		var fields []string
		var patch rest.WebhookPatch
		if cur.Name != f.Name {
			patch.Name = &f.Name
			fields = append(fields, "name")
		}
		if cur.URL != f.URL {
			patch.Url = &f.URL
			fields = append(fields, "url")
		}
		if !slices.Equal(sortedCopy(cur.Events), sortedCopy(f.Events)) {
			patch.Events = &events
			fields = append(fields, "events")
		}
		if cur.Enabled != *f.Enabled {
			patch.Enabled = f.Enabled
			fields = append(fields, fmt.Sprintf("enabled %t → %t", cur.Enabled, *f.Enabled))
		}
		if p.seal != nil {
			if have, ok := p.storedSecret(cur.Secret, cur.SecretKey); have != secret || !ok {
				patch.Secret = &secret
				fields = append(fields, "secret")
			}
		}
		if len(fields) == 0 {
			p.unchanged++
			continue
		}
		out = append(out, p.patch("webhook", "/webhooks/", f.Name, cur.ID, fields, patch))
	}
	return append(out, prune(p, "webhook", "/webhooks/", sortedValues(p.s.webhooks), func(w store.Webhook) (string, int64, bool) {
		return w.Name, w.ID, slices.ContainsFunc(p.m.Webhooks, func(f Webhook) bool { return strings.EqualFold(f.Name, w.Name) })
	})...), nil
}

// notifiers makes the Shoutrrr channels the file's. A channel's URL is a
// secret: a file without it keeps the URL of the channel of that name
// and cannot create one.
func (p *planner) notifiers(context.Context) ([]*change, error) {
	if p.m.Notifiers == nil {
		// A file written before channels were exported: it says nothing
		// of them, not even that there are none, so --prune keeps them.
		return nil, nil
	}
	var out []*change
	for _, f := range p.m.Notifiers {
		url, err := p.fileSecret("notifier "+f.Name+": url", f.URL)
		if err != nil {
			return nil, err
		}
		if _, clash := p.s.webhooks[strings.ToLower(f.Name)]; clash {
			return nil, fmt.Errorf("notifier %s: a webhook of that name is here; a channel cannot change kinds "+
				"(give the notifier another name, or move it to webhooks:)", f.Name)
		}
		shown := f.Destination
		if url != "" {
			// The destination the file shows must be the URL's, or the
			// file says two things; a URL the API refuses is its to name.
			if s, err := notify.CheckDestination(url); err == nil {
				if f.Destination != "" && s != f.Destination {
					return nil, fmt.Errorf("notifier %s: destination: the file says %s but its url sends to %s", f.Name, f.Destination, s)
				}
				shown = s
			}
		}
		events := make([]rest.NotifierEvent, len(f.Events))
		for i, e := range f.Events {
			events[i] = rest.NotifierEvent(e)
		}
		cur, ok := p.s.notifiers[strings.ToLower(f.Name)]
		if !ok {
			if url == "" {
				return nil, fmt.Errorf("notifier %s: url: a new channel needs its URL, which this file does not carry "+
					"(export --with-secrets includes it; or create the channel first)", f.Name)
			}
			body := rest.NotifierCreate{Name: f.Name, Url: &url, Events: &events, Enabled: f.Enabled}
			out = append(out, &change{op: opCreate, kind: "notifier", name: f.Name, detail: shown,
				do: func(ctx context.Context) error { return p.api.Call(ctx, http.MethodPost, "/notifiers", body, nil) }})
			continue
		}
		var fields []string
		var patch rest.NotifierPatch
		if cur.Name != f.Name {
			patch.Name = &f.Name
			fields = append(fields, "name")
		}
		if url == "" {
			if f.Destination != "" && f.Destination != cur.DestinationShown {
				return nil, fmt.Errorf("notifier %s: destination: the file says %s but the channel sends to %s, "+
					"and only its url (a secret this file does not carry) can change that", f.Name, f.Destination, cur.DestinationShown)
			}
		} else if have, ok := p.storedSecret(cur.Destination, cur.DestinationKey); have != url || !ok {
			patch.Url = &url
			fields = append(fields, "url")
		}
		if !slices.Equal(sortedCopy(cur.Events), sortedCopy(f.Events)) {
			patch.Events = &events
			fields = append(fields, "events")
		}
		if cur.Enabled != *f.Enabled {
			patch.Enabled = f.Enabled
			fields = append(fields, fmt.Sprintf("enabled %t → %t", cur.Enabled, *f.Enabled))
		}
		if len(fields) == 0 {
			p.unchanged++
			continue
		}
		out = append(out, p.patch("notifier", "/notifiers/", f.Name, cur.ID, fields, patch))
	}
	return append(out, prune(p, "notifier", "/notifiers/", sortedValues(p.s.notifiers), func(w store.Webhook) (string, int64, bool) {
		return w.Name, w.ID, slices.ContainsFunc(p.m.Notifiers, func(f Notifier) bool { return strings.EqualFold(f.Name, w.Name) })
	})...), nil
}

// sortedValues lists a map's values in the order of its keys.
func sortedValues[V any](m map[string]V) []V {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]V, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// jsonValues turns YAML's values into JSON's (maps with string keys,
// float64 numbers) so that settings compare as the API stores them.
func jsonValues(v map[string]any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	out := map[string]any{}
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

// changedKeys names the keys whose values differ, in order.
func changedKeys(a, b map[string]any) []string {
	var out []string
	for _, k := range sortedKeys(a, b) {
		x, err1 := json.Marshal(a[k])
		y, err2 := json.Marshal(b[k])
		_, inA := a[k]
		_, inB := b[k]
		if inA != inB || err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			out = append(out, k)
		}
	}
	return out
}

func sortedKeys(ms ...map[string]any) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// patch is the change that sends patch to path+id for the kind's object
// name, listing the fields it changes.
func (p *planner) patch(kind, path, name string, id int64, fields []string, patch any) *change {
	return &change{op: opUpdate, kind: kind, name: name, detail: strings.Join(fields, ", "),
		do: func(ctx context.Context) error {
			return p.api.Call(ctx, http.MethodPatch, path+strconv.FormatInt(id, 10), patch, nil)
		}}
}
