package provider

import (
	"context"
	"encoding/json"
	"net/netip"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// Protocol is what one file implements for one kind of DNS service. S is
// the protocol's settings: a struct with json tags, decoded from the
// service's stored JSON before any method sees it (strictly when saving:
// an unknown key or a wrong type is a field error the protocol never sees;
// leniently when sending, since a newer version may have written keys this
// one does not know). The keys every protocol shares (the drift check's)
// are taken out first, so S holds only the protocol's own.
//
// Adapt turns a Protocol into the Provider the registry holds.
type Protocol[S any] interface {
	// Describe says what the protocol needs, for the API and the web app
	// (GET /api/v1/protocols), and drives the checks every protocol gets
	// for free: required settings, choices, ranges, the credential.
	Describe() Description
	// Validate checks what the settings mean, beyond their shape and what
	// Describe declares: a URL that is not one, a zone that is not a name.
	// Messages never quote a value (settings may hold tokens in URLs).
	Validate(s S, has Has) []FieldError
	// Send makes the service publish r's addresses for r.Family and
	// classifies the answer. It never returns an error: everything the
	// dispatcher needs, including why no request could even be built, is
	// in the Outcome. One call is one attempt; the dispatcher retries.
	Send(ctx context.Context, r Request[S]) Outcome
	// Check tells whether the service would accept an update, without
	// changing DNS where the provider allows it: credentials accepted,
	// zone found, permission to edit. A step that cannot be checked (plain
	// dyndns2 has no read-only call) is there with Status StepUnchecked and a
	// Detail saying why.
	Check(ctx context.Context, r CheckRequest[S]) []Step
}

// Combiner is a Protocol that, with some settings, publishes a record's
// two families in one request (Request.Other filled in). When a claim
// holds both families' jobs of such a record, the dispatcher sends them
// once, together, instead of telling the upstream the same pair twice.
type Combiner[S any] interface {
	Combines(s S) bool
}

// Batcher is a Protocol that can carry several records in one request,
// as dyndns2 does with hostname=a,b,c: a wide fan-out then costs the
// upstream a request per batch instead of one per record. The dispatcher
// only batches records that share the service, the family, the addresses
// sent and the username and password.
type Batcher[S any] interface {
	// BatchSize is the most records one request may carry with settings s;
	// 1 (or less) sends each record alone.
	BatchSize(s S) int
	// SendBatch makes one request for every r of rs and returns one
	// Outcome per request, in rs's order.
	SendBatch(ctx context.Context, rs []Request[S]) []Outcome
}

// Destiner is a Protocol whose secrets go somewhere its Destination
// settings do not simply name (URL templates). See Provider.Destinations.
type Destiner[S any] interface {
	Destinations(s S) []string
}

// CredentialChecker is a Protocol whose service credential has a form
// to check before it is sealed (a TSIG secret is base64). Without it a
// credential must be one word of printable ASCII, what API tokens are.
type CredentialChecker interface {
	CheckCredential(credential string) error
}

// Presetter is a Protocol that brings its own entries for the "new
// service" catalogue (GET /api/v1/presets), e.g. a native API provider's
// one preset, so adding it touches no shared list. The registry lists them
// after the built-in catalogue of presets.go, in registry order.
type Presetter interface {
	Presets() []Preset
}

// Provider is a Protocol as the registry holds it and the dispatcher, the
// API and the drift check use it: settings as stored (JSON).
type Provider interface {
	// Name is the protocol's name as services.protocol stores it.
	Name() string
	Describe() Description
	// Validate checks settings before they are stored: their shape, the
	// declared fields, the protocol's own rules, the drift check's keys and
	// whether the service has the credential the protocol needs (or one it
	// does not take).
	Validate(settings json.RawMessage, has Has) []FieldError
	// ValidateCredential checks the form of a new service credential.
	ValidateCredential(credential string) []FieldError
	Send(ctx context.Context, r Request[json.RawMessage]) Outcome
	Check(ctx context.Context, r CheckRequest[json.RawMessage]) []Step
	// Combines tells whether a service with these settings takes both
	// families of a record in one request.
	Combines(settings json.RawMessage) bool
	// BatchSize is the most records a service with these settings takes
	// in one request (Batcher); 1 for protocols that send each alone.
	BatchSize(settings json.RawMessage) int
	// SendBatch sends several records in one request and returns one
	// Outcome per request, in order; see Batcher.
	SendBatch(ctx context.Context, rs []Request[json.RawMessage]) []Outcome
	// Destinations are where a service sends the secrets it holds (its own
	// credential, its records' passwords), each as scheme://host:port
	// ("dns://host:port" for DNS servers), sorted: a stored secret may only
	// go to the destinations it was entered for. Settings it cannot read
	// give none; validation refuses them anyway.
	Destinations(settings json.RawMessage) []string
	// DestinationKeys are the settings that decide Destinations.
	DestinationKeys() []string
	// Presets are the protocol's own catalogue entries (Presetter), if any.
	Presets() []Preset
}

// Has is what validation knows of a service beyond its settings.
type Has struct {
	// Credential says whether the service has, or is being given, its own
	// secret.
	Credential bool
	// DriftCheck says whether the settings turn the drift check on
	// (drift_resolver), which some settings rule out (proxied records).
	DriftCheck bool
}

// Request is one record's address to publish, as a protocol sees it:
// credentials decrypted, settings decoded.
type Request[S any] struct {
	// FQDN is the record's name, without a trailing dot.
	FQDN   string
	Family netcalc.Family
	// Addresses are what the name must hold for Family: one today; several
	// when hosts feed one name as one RRset.
	Addresses []netip.Addr
	// Delivered are the addresses of Family the broker last delivered for
	// the name (none: never, or unknown). With KeepOthers a protocol
	// replaces these and leaves the name's other addresses alone.
	Delivered []netip.Addr
	// KeepOthers asks to keep addresses of Family that the broker did not
	// deliver (someone else's), replacing only Delivered: the record's
	// keep_other_addresses. False: the name holds exactly Addresses (of the
	// records the broker may delete, see ManagedMarker).
	KeepOthers bool
	// Other are the newest wanted addresses of the other family, if any,
	// for protocols that send both in one request or template both.
	Other []netip.Addr
	// Username and Password are the record's; Credential the service's own
	// secret (TSIG key, API token), if any.
	Username   string
	Password   string
	Credential string
	Settings   S
}

// ManagedMarker is the comment (or tag) a provider that has record
// comments puts on each record the broker creates. The broker never deletes
// a record without it: a record someone else made stays, whatever the
// broker's settings say.
const ManagedMarker = "managed by ddnsbroker"

// Address is the request's (first) address of Family, or the zero Addr.
func (r Request[S]) Address() netip.Addr { return first(r.Addresses) }

// OtherAddress is the (first) wanted address of the other family, or the
// zero Addr.
func (r Request[S]) OtherAddress() netip.Addr { return first(r.Other) }

func first(as []netip.Addr) netip.Addr {
	if len(as) == 0 {
		return netip.Addr{}
	}
	return as[0]
}

// CheckRequest is what a check of a service's settings and credentials
// takes: the settings, the secrets, and a record name to look for (its
// zone), which may be empty.
type CheckRequest[S any] struct {
	FQDN       string
	Username   string
	Password   string
	Credential string
	Settings   S
}

// Step is one finding of a Check.
type Step struct {
	// Name says what was checked, e.g. "credentials accepted", "zone found",
	// "may edit records".
	Name   string
	Status StepStatus
	// Detail is the provider's answer or why the step could not be checked,
	// bounded and redacted like an Outcome's Message.
	Detail string
}

// StepStatus is how a Step came out.
type StepStatus string

// Step statuses.
const (
	StepPassed    StepStatus = "passed"
	StepFailed    StepStatus = "failed"
	StepUnchecked StepStatus = "unchecked"
)

// FieldError is one problem with a service's settings or credential, for
// a field-level 422 answer. Field is a JSON path into the request:
// "protocol", "settings" (the object as a whole), "settings.<key>" or
// "credential".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }
