package provider

import (
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// Description is what a protocol needs, in words the API and the web app
// render: a form for a protocol the web app was not written for.
type Description struct {
	// Protocol is the name stored in services.protocol, e.g. "cloudflare".
	Protocol string `json:"protocol"`
	// Title is shown, e.g. "Cloudflare (API v4)"; Summary says in one
	// sentence what a delivery sends.
	Title   string `json:"title"`
	Summary string `json:"summary"`
	// Settings are the keys of the service's settings object, in the order
	// a form shows them; the drift check's keys, which every protocol takes,
	// come last (the registry adds them).
	Settings []Field `json:"settings"`
	// Credential is the service's own secret (TSIG key, API token); nil
	// when the protocol has none. A protocol with a credential requires it.
	Credential *Prompt `json:"credential"`
	// RecordUsername and RecordPassword say what goes in each record's
	// username and password; nil when records carry none.
	RecordUsername *Prompt `json:"record_username"`
	RecordPassword *Prompt `json:"record_password"`
	// Families are the address families the protocol can publish.
	Families []netcalc.Family `json:"families"`
	// Together says whether both families go in one request.
	Together Together `json:"together"`
	// RRsets says whether a name can hold several addresses of a family
	// through the protocol: Send publishes every address of
	// Request.Addresses. Records of several hosts then share a name at a
	// service (the union of their addresses); without it the API refuses
	// the second host's record for a name.
	RRsets bool `json:"rrsets"`
	// DocsURL is the provider's documentation, if any.
	DocsURL string `json:"docs_url"`
}

// Prompt describes a value the user types in.
type Prompt struct {
	Label string `json:"label"`
	Help  string `json:"help"`
}

// Together says whether a record's two families go in one request.
type Together string

// Together values.
const (
	// TogetherNever: one request per family.
	TogetherNever Together = "never"
	// TogetherAlways: both families in every request that has both.
	TogetherAlways Together = "always"
	// TogetherBySettings: the settings decide (Combiner).
	TogetherBySettings Together = "by_settings"
)

// FieldType is the kind of value a setting holds, which decides the input
// a form shows and the checks a value gets.
type FieldType string

// Field types.
const (
	FieldString  FieldType = "string"
	FieldBoolean FieldType = "boolean"
	FieldInteger FieldType = "integer"
	// FieldURL is an absolute http(s) URL (CheckURL's rules).
	FieldURL FieldType = "url"
	// FieldTemplate is text with placeholders such as {fqdn} and {ip}.
	FieldTemplate FieldType = "template"
	// FieldHostPort is host:port of a DNS server.
	FieldHostPort FieldType = "host_port"
	// FieldDuration is a Go duration such as 15m or 1h.
	FieldDuration FieldType = "duration"
	// FieldChoice is one of Choices.
	FieldChoice FieldType = "choice"
	// FieldHeaders is an object of header names to (template) values.
	FieldHeaders FieldType = "headers"
)

// Field is one setting of a protocol.
type Field struct {
	// Key is the key in the settings object.
	Key   string    `json:"key"`
	Type  FieldType `json:"type"`
	Label string    `json:"label"`
	Help  string    `json:"help"`
	// Default is what an absent key means; nil when there is none.
	Default any `json:"default"`
	// Required settings must be present and not empty.
	Required bool `json:"required"`
	// Choices are the values a FieldChoice takes.
	Choices []string `json:"choices,omitempty"`
	// Min and Max bound a FieldInteger, when set.
	Min *int `json:"min,omitempty"`
	Max *int `json:"max,omitempty"`
	// Destination marks the settings that decide where the service's
	// secrets go (an API's URL, a DNS server): changing one asks for the
	// service's credential again and drops the records' passwords unless
	// the admin confirms. A FieldURL destination sends to its origin, a
	// FieldHostPort one to dns://host:port; other kinds need a Destiner.
	Destination bool `json:"destination"`
}

// ptrTo is a pointer to v, for a Field's Min and Max.
func ptrTo[T any](v T) *T { return &v }
