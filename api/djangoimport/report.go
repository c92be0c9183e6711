package djangoimport

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// Status is what an import did with one object.
type Status string

// The statuses of an object.
const (
	Created   Status = "created"
	Unchanged Status = "unchanged"
	Conflict  Status = "conflict"
)

// Item is one object of the export and what happened to it.
type Item struct {
	Kind   string // service, host or record
	Name   string // the key it is matched by
	Source string // e.g. "ddnsbroker.host pk 2"
	Status Status
	Detail string
}

// Mismatch is a record family whose effective address, as the original
// computed it, differs from what netcalc computes from the same inputs.
type Mismatch struct {
	Record   string
	Source   string
	Family   netcalc.Family
	Original netip.Addr // zero: none
	Computed netip.Addr // zero: none
	// Queued is true when the computed address was queued for delivery
	// (reason import) to correct the upstream; false when the family is
	// off, so nothing is sent either way.
	Queued bool
}

func (m Mismatch) String() string {
	s := fmt.Sprintf("%s (%s): IPv%d effective address differs: the original computed %s, this broker computes %s from the same host address, netmask and host identifier; the original's is recorded as delivered",
		m.Record, m.Source, m.Family, addrOrNone(m.Original), addrOrNone(m.Computed))
	if m.Queued {
		return s + ", and ours is queued for delivery (reason import) to correct the upstream"
	}
	return s + "; nothing is sent (the family is off or has no address)"
}

// Report says what an import did, object by object.
type Report struct {
	Items      []Item
	Notes      []string
	Mismatches []Mismatch
	Queued     int // deliveries queued
	Events     int
	DryRun     bool
}

// Count counts the items of a kind (all kinds when kind is "") with a status.
func (r *Report) Count(kind string, s Status) int {
	n := 0
	for _, it := range r.Items {
		if (kind == "" || it.Kind == kind) && it.Status == s {
			n++
		}
	}
	return n
}

// Write prints the report: one line per object, then notes, mismatches
// and a summary.
func (r *Report) Write(w io.Writer) {
	for _, it := range r.Items {
		fmt.Fprintf(w, "%-9s  %s %s (%s): %s\n", it.Status, it.Kind, it.Name, it.Source, it.Detail)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, m := range r.Mismatches {
		fmt.Fprintf(w, "MISMATCH: %s\n", m)
	}
	var parts []string
	for _, kind := range []string{"service", "host", "record"} {
		parts = append(parts, fmt.Sprintf("%ss %d created, %d unchanged", kind, r.Count(kind, Created), r.Count(kind, Unchanged)))
	}
	fmt.Fprintf(w, "summary: %s; %d conflicts; %d effective address mismatches; %d deliveries queued; %d events\n",
		strings.Join(parts, "; "), r.Count("", Conflict), len(r.Mismatches), r.Queued, r.Events)
	switch {
	case r.Count("", Conflict) > 0:
		fmt.Fprintf(w, "stopped: the conflicts above exist with other content; nothing was changed\n")
	case r.DryRun:
		fmt.Fprintf(w, "dry run: the transaction was rolled back, nothing was changed\n")
	case r.Count("", Created) == 0:
		fmt.Fprintf(w, "nothing to do: everything in the export is already here; nothing was changed\n")
	default:
		fmt.Fprintf(w, "imported in one transaction\n")
	}
}
