package provider

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// What the record APIs share: the zone candidates of a name, names
// relative to their zone, the checked addresses of a delivery
// (publishable), what an RRset holds after it (rrsetAfter, for the APIs
// that replace a whole RRset), and, for the APIs that keep one record per
// address, the plan that turns the records a name holds into the ones it
// must hold, touching only what the broker manages (keep_other_addresses,
// markers).

// zoneCandidates are the zones that may hold name: the configured zone
// (when name is in it), else name and its parents, longest first (a
// delegated sub-zone in the same account holds the name rather than its
// parent), without the top-level label.
func zoneCandidates(name, zone string) ([]string, *Outcome) {
	if zone != "" {
		zone = strings.ToLower(strings.TrimSuffix(zone, "."))
		if name != zone && !strings.HasSuffix(name, "."+zone) {
			return nil, &Outcome{Result: Failed, Message: fmt.Sprintf("record %s is not in zone %s", name, zone),
				Advice: "check the service's zone and the record's name"}
		}
		return []string{zone}, nil
	}
	var out []string
	labels := strings.Split(name, ".")
	// Deep names give up their longest candidates first.
	for i := max(0, len(labels)-1-maxZoneCandidates); i+2 <= len(labels); i++ {
		out = append(out, strings.Join(labels[i:], "."))
	}
	return out, nil
}

// zoneNotFound is the Outcome when no candidate is a zone of the account.
func zoneNotFound(prefix, name string, candidates []string) *Outcome {
	return &Outcome{Result: Failed, Message: prefix + "no zone of the account holds " + name + " (asked for " + strings.Join(candidates, ", ") + ")",
		Advice: "add the zone to the account, or check the service's zone and the record's name"}
}

// zoneRelative is name relative to zone, apex for the zone itself (""
// or "@", as the provider writes it).
func zoneRelative(name, zone, apex string) string {
	if name == zone {
		return apex
	}
	return strings.TrimSuffix(name, "."+zone)
}

// rrsetRequest is one Request as a record API publishes it.
type rrsetRequest struct {
	// Name is the record's FQDN, lowercase, without the trailing dot.
	Name string
	// Type is A or AAAA.
	Type       string
	Want       []netip.Addr
	Delivered  []netip.Addr
	KeepOthers bool
	// TTL is what records must carry; 0: whatever they have.
	TTL int
	// Markers: the provider keeps ManagedMarker on records; records
	// without it are updated but never deleted, and the broker's own are
	// kept and rewritten before anyone else's.
	Markers bool
	// Adopt: a record holding a wanted address without the marker is
	// rewritten to carry it (where the write sets the marker).
	Adopt bool
}

// newRRsetRequest checks r's name and addresses.
func newRRsetRequest[S any](r Request[S], ttl int, markers bool) (rrsetRequest, *Outcome) {
	name, out := recordName(r.FQDN)
	q := rrsetRequest{Name: name, Type: r.Family.RecordType(),
		Delivered: r.Delivered, KeepOthers: r.KeepOthers, TTL: ttl, Markers: markers}
	if out != nil {
		return q, out
	}
	want, out := publishable(r.Family, r.Addresses)
	q.Want = want
	return q, out
}

// recordName is a record's FQDN as providers compare it (lower case, no
// trailing dot), or the Outcome of a request without one.
func recordName(fqdn string) (string, *Outcome) {
	name := strings.ToLower(strings.TrimSuffix(fqdn, "."))
	if name == "" {
		return "", &Outcome{Result: Failed, Message: "no record name"}
	}
	return name, nil
}

// publishable is addrs checked to be family's, at least one, in the one
// form the broker compares and writes (no zone, IPv4 not mapped), without
// repeats: every protocol that publishes an RRset starts here.
func publishable(family netcalc.Family, addrs []netip.Addr) ([]netip.Addr, *Outcome) {
	if len(addrs) == 0 {
		return nil, &Outcome{Result: Failed, Message: "no " + family.String() + " address to publish"}
	}
	var out []netip.Addr
	for _, a := range addrs {
		if !family.Holds(a) {
			return nil, &Outcome{Result: Failed, Message: fmt.Sprintf("invalid %s address %s", family, a)}
		}
		if a = canonicalAddr(a); !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// canonicalAddr is a in the form addresses are compared in: providers and
// routers may write an IPv4 address mapped into IPv6, or with a zone.
func canonicalAddr(a netip.Addr) netip.Addr { return a.WithZone("").Unmap() }

// rrsetAfter is what a name's RRset of one family must hold after a
// delivery of want, given what it holds now (have): exactly want; with
// keepOthers (keep_other_addresses) have without what the broker
// delivered before (delivered) and without want, in have's order, then
// want, so other addresses of the family (a second site, another WAN)
// stay. Invalid addresses (record data that is not one) are dropped.
func rrsetAfter(have, want, delivered []netip.Addr, keepOthers bool) []netip.Addr {
	out := make([]netip.Addr, 0, len(have)+len(want))
	add := func(a netip.Addr) {
		if a = canonicalAddr(a); a.IsValid() && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if keepOthers {
		for _, a := range have {
			if !slices.ContainsFunc(delivered, func(d netip.Addr) bool { return canonicalAddr(d) == canonicalAddr(a) }) &&
				!slices.ContainsFunc(want, func(w netip.Addr) bool { return canonicalAddr(w) == canonicalAddr(a) }) {
				add(a)
			}
		}
	}
	for _, a := range want {
		add(a)
	}
	return out
}

// sameAddresses tells whether a and b hold the same addresses, in any
// order and whatever their form.
func sameAddresses(a, b []netip.Addr) bool {
	set := func(as []netip.Addr) []netip.Addr {
		out := make([]netip.Addr, len(as))
		for i, x := range as {
			out[i] = canonicalAddr(x)
		}
		slices.SortFunc(out, netip.Addr.Compare)
		return slices.Compact(out)
	}
	return slices.Equal(set(a), set(b))
}

// addrStrings is as in text, as records carry them.
func addrStrings(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = canonicalAddr(a).String()
	}
	return out
}

// joinAddrs is as for a message: "198.51.100.7, 198.51.100.8".
func joinAddrs(as []netip.Addr) string { return strings.Join(addrStrings(as), ", ") }

// liveRecord is one record of the name and type as the provider holds it.
type liveRecord struct {
	ID string
	// Data is the record's data as the provider holds it, for messages.
	Data string
	// Addr is the record's address; invalid when its data is not one.
	Addr   netip.Addr
	TTL    int
	Marked bool
	// Differs says that a setting of the record other than its address and
	// TTL (a flag the service sets, such as Cloudflare's proxied) is not
	// what the service wants: such a record is rewritten.
	Differs bool
}

// parseRecordAddr reads a record's data, which providers may write in
// another form (expanded IPv6): addresses are compared, not texts.
func parseRecordAddr(data string) netip.Addr {
	a, err := netip.ParseAddr(strings.TrimSpace(data))
	if err != nil {
		return netip.Addr{}
	}
	return canonicalAddr(a)
}

// recordChange is a record to rewrite with Addr.
type recordChange struct {
	Rec  liveRecord
	Addr netip.Addr
}

// rrsetPlan is what a delivery changes. Without KeepOthers the name ends
// up holding exactly the wanted addresses; with it, only the records of
// addresses the broker delivered (or wants) are touched.
type rrsetPlan struct {
	Keep   []liveRecord
	Update []recordChange
	Create []netip.Addr
	Delete []liveRecord
	// Left are records to go that lack the marker: not deleted.
	Left []liveRecord
	// Others counts the records kept for keep_other_addresses.
	Others int
}

// planRRset compares the records the name holds with q: a record for
// each wanted address that has one is kept (rewritten when its TTL, a
// flag (Differs), or with q.Adopt its marker, is not what it must be); records that must go
// are reused for wanted addresses that have none (updates, so the name
// never lacks an address), the broker's own first so a changed address
// moves its record rather than taking over another's; the rest are
// created, and what is left is deleted (with q.Markers, only the broker's
// own). With q.KeepOthers only records holding an address the broker
// delivered or wants are touched.
func planRRset(q rrsetRequest, live []liveRecord) rrsetPlan {
	var p rrsetPlan
	if q.Markers {
		live = slices.Clone(live)
		slices.SortStableFunc(live, byMarker)
	}
	var cands []liveRecord
	for _, rec := range live {
		if q.KeepOthers && !slices.Contains(q.Want, rec.Addr) && !slices.Contains(q.Delivered, rec.Addr) {
			p.Others++
			continue
		}
		cands = append(cands, rec)
	}
	satisfied := map[netip.Addr]bool{}
	var rest []liveRecord
	for _, rec := range cands {
		if !rec.Addr.IsValid() || !slices.Contains(q.Want, rec.Addr) || satisfied[rec.Addr] {
			rest = append(rest, rec)
			continue
		}
		satisfied[rec.Addr] = true
		if (q.TTL == 0 || rec.TTL == q.TTL) && !rec.Differs && (!q.Adopt || rec.Marked) {
			p.Keep = append(p.Keep, rec)
		} else {
			p.Update = append(p.Update, recordChange{Rec: rec, Addr: rec.Addr})
		}
	}
	for _, a := range q.Want {
		if satisfied[a] {
			continue
		}
		if len(rest) > 0 {
			p.Update = append(p.Update, recordChange{Rec: rest[0], Addr: a})
			rest = rest[1:]
			continue
		}
		p.Create = append(p.Create, a)
	}
	for _, rec := range rest {
		if q.Markers && !rec.Marked {
			p.Left = append(p.Left, rec)
		} else {
			p.Delete = append(p.Delete, rec)
		}
	}
	return p
}

// byMarker orders the broker's own records first.
func byMarker(a, b liveRecord) int {
	switch {
	case a.Marked == b.Marked:
		return 0
	case a.Marked:
		return -1
	}
	return 1
}

// Changes tells whether the plan writes anything.
func (p rrsetPlan) Changes() bool { return len(p.Update)+len(p.Create)+len(p.Delete) > 0 }

// recordWriter is a provider's record writes, one request each.
type recordWriter interface {
	create(ctx context.Context, a netip.Addr) *Outcome
	update(ctx context.Context, c recordChange) *Outcome
	remove(ctx context.Context, rec liveRecord) *Outcome
}

// apply writes the plan one record at a time: updates and creations
// before deletions, so the name is never empty on the way.
func (p rrsetPlan) apply(ctx context.Context, w recordWriter) *Outcome {
	for _, c := range p.Update {
		if out := w.update(ctx, c); out != nil {
			return out
		}
	}
	for _, a := range p.Create {
		if out := w.create(ctx, a); out != nil {
			return out
		}
	}
	for _, rec := range p.Delete {
		if out := w.remove(ctx, rec); out != nil {
			return out
		}
	}
	return nil
}

// outcome is the Delivered Outcome of an applied plan, e.g. "A
// home.example.com → 198.51.100.7 updated (ttl 300); removed 1 other A
// record".
func (p rrsetPlan) outcome(q rrsetRequest, red redactor) Outcome {
	addrs := make([]string, len(q.Want))
	for i, a := range q.Want {
		addrs[i] = a.String()
	}
	verb := "updated"
	switch {
	case !p.Changes():
		verb = "unchanged"
	case len(p.Update) == 0 && len(p.Keep) == 0:
		verb = "created"
	}
	msg := q.Type + " " + q.Name + " → " + strings.Join(addrs, ", ") + " " + verb
	if q.TTL > 0 {
		msg += " (ttl " + strconv.Itoa(q.TTL) + ")"
	}
	if n := len(p.Delete); n > 0 {
		msg += fmt.Sprintf("; removed %d other %s record(s)", n, q.Type)
	}
	if p.Others > 0 {
		msg += fmt.Sprintf("; kept %d other %s record(s) (keep other addresses)", p.Others, q.Type)
	}
	o := Outcome{Result: Delivered}
	if n := len(p.Left); n > 0 {
		msg += fmt.Sprintf("; left %d %s record(s) the broker did not create", n, q.Type)
		o.Advice = "the name holds " + q.Type + " records the broker did not create, so it left them: delete them, or turn on keep other addresses for the record"
	}
	o.Message = red.message(msg)
	return o
}

// apiCheck is one read-only step of a Check: run returns what it found
// or why it failed.
type apiCheck struct {
	name string
	run  func(ctx context.Context) (string, *Outcome)
}

// runChecks runs the steps in order until one fails, then adds the steps
// that cannot be checked without changing DNS.
func runChecks(ctx context.Context, checks []apiCheck, unchecked ...Step) []Step {
	var steps []Step
	for _, c := range checks {
		detail, out := c.run(ctx)
		if out != nil {
			return append(steps, Step{Name: c.name, Status: StepFailed, Detail: checkDetail(*out)})
		}
		steps = append(steps, Step{Name: c.name, Status: StepPassed, Detail: detail})
	}
	return append(steps, unchecked...)
}

// checkDetail is a failed step's detail: the message and, when there is
// some, what to do.
func checkDetail(o Outcome) string {
	if o.Advice == "" {
		return o.Message
	}
	return o.Message + " — " + o.Advice
}

// zoneLookup asks the provider whether candidate is a zone of the
// account: its id (the name, where the API addresses zones by name), or
// found false.
type zoneLookup func(ctx context.Context, candidate string) (id string, found bool, out *Outcome)

// lookupZone finds the zone that holds name: the first candidate the
// provider knows, longest first. A configured zone is trusted without a
// request when trust is set (the API addresses zones by name and says
// so when one is missing).
func lookupZone(ctx context.Context, prefix, name, zone string, trust bool, lookup zoneLookup) (zoneName, id string, out *Outcome) {
	candidates, out := zoneCandidates(name, zone)
	if out != nil {
		out.Message = prefix + out.Message
		return "", "", out
	}
	if zone != "" && trust {
		return candidates[0], candidates[0], nil
	}
	for _, c := range candidates {
		id, found, out := lookup(ctx, c)
		if out != nil {
			return "", "", out
		}
		if found {
			return c, id, nil
		}
	}
	return "", "", zoneNotFound(prefix, name, candidates)
}

// recordAPIChecks is the Check of a record API: the credential (one
// read), then the zone of the record's name (or of the configured zone),
// then edit, what only a change could tell.
func recordAPIChecks(ctx context.Context, credential apiCheck, fqdn, zone string, find func(ctx context.Context, name string) (string, *Outcome), edit Step) []Step {
	name := strings.ToLower(strings.TrimSuffix(fqdn, "."))
	if name == "" {
		name = strings.ToLower(strings.TrimSuffix(zone, "."))
	}
	if name == "" {
		return runChecks(ctx, []apiCheck{credential}, Step{Name: "zone found", Status: StepUnchecked, Detail: "no zone and no record name to look for"}, edit)
	}
	return runChecks(ctx, []apiCheck{credential, {name: "zone found", run: func(ctx context.Context) (string, *Outcome) {
		return find(ctx, name)
	}}}, edit)
}

// validateRecordAPI checks the settings every record API has: a zone
// that is a domain name, an API URL.
func validateRecordAPI(zone, apiURL string) []FieldError {
	var errs []FieldError
	if zone != "" && !dnsname.IsHostName(strings.TrimSuffix(zone, ".")) {
		errs = append(errs, FieldError{Field: "settings.zone", Message: "must be a domain name, e.g. example.com"})
	}
	if msg := checkEndpointURL(apiURL, false); msg != "" {
		errs = append(errs, FieldError{Field: "settings.api_url", Message: msg})
	}
	return errs
}
