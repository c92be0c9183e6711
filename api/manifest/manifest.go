// Package manifest is the broker's configuration as one readable YAML file:
// services, hosts with their records, webhooks and notification channels,
// named by what admins
// name them (no ids, no timestamps, no state). `ddnsbroker export` writes
// it, sorted so that the same configuration always gives the same bytes;
// `ddnsbroker apply` makes the database say what it says, through the JSON
// API's own rules (rest.Admin), showing the changes first.
//
// Secrets (service credentials, record passwords, webhook keys, the
// channels' destination URLs and the hosts' update-secret hashes) are left out unless asked for; then each is
// sealed with a key derived from a passphrase (argon2id), never from the
// server's secret key, so the file can move to another installation.
package manifest

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ddnsbroker/ddnsbroker/api/notify"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// FormatVersion is the version of the file's layout, written as `version:`.
const FormatVersion = 1

// Manifest is the whole configuration.
type Manifest struct {
	Version int `yaml:"version"`
	// Secrets is set when the file carries secrets: how their key is
	// derived from the passphrase.
	Secrets  *Sealing  `yaml:"secrets,omitempty"`
	Services []Service `yaml:"services"`
	Hosts    []Host    `yaml:"hosts"`
	Webhooks []Webhook `yaml:"webhooks"`
	// Notifiers are the notification channels other than webhooks
	// (Shoutrrr URLs). A file without the key (written before channels
	// were exported) leaves them as they are, even with --prune.
	Notifiers []Notifier `yaml:"notifiers"`
}

// Service is an upstream DNS service.
type Service struct {
	Name     string `yaml:"name"`
	Protocol string `yaml:"protocol"`
	// Shared lets every account publish records through the service.
	Shared   bool           `yaml:"shared,omitempty"`
	Settings map[string]any `yaml:"settings"`
	// Credential is sealed (see Sealing); "" when the file has no secrets
	// or the service has no credential.
	Credential string `yaml:"credential,omitempty"`
}

// Host is a router and the records derived from its addresses.
type Host struct {
	FQDN        string `yaml:"fqdn"`
	Enabled     *bool  `yaml:"enabled"`      // default true
	IPv4Enabled *bool  `yaml:"ipv4_enabled"` // default true
	IPv6Enabled *bool  `yaml:"ipv6_enabled"` // default true
	// IPv4PrivateAllowed publishes a private or CGNAT IPv4 address the
	// host reports (internal DNS); default false.
	IPv4PrivateAllowed bool `yaml:"ipv4_private_allowed,omitempty"`
	// StaleAfter is the host's own silence limit in seconds (60 to
	// 31536000); absent: the server's DDNSBROKER_STALE_AFTER.
	StaleAfter *int64 `yaml:"stale_after,omitempty"`
	Notes      string `yaml:"notes,omitempty"`
	// SecretHash is the sealed hash of the router's update secret, so that
	// the router keeps working after a restore; "" without secrets.
	SecretHash string   `yaml:"secret_hash,omitempty"`
	Records    []Record `yaml:"records"`
}

// Record is a DNS name published through a service, its address derived
// from its host's.
type Record struct {
	FQDN               string `yaml:"fqdn"`
	Service            string `yaml:"service"`
	IPv4Enabled        *bool  `yaml:"ipv4_enabled"`                   // default true
	IPv4Netmask        *int   `yaml:"ipv4_netmask"`                   // default 32
	IPv4HostIdentifier string `yaml:"ipv4_host_identifier"`           // default 0.0.0.0
	IPv6Enabled        *bool  `yaml:"ipv6_enabled"`                   // default true
	IPv6Netmask        *int   `yaml:"ipv6_netmask"`                   // default 128
	IPv6HostIdentifier string `yaml:"ipv6_host_identifier,omitempty"` // default :: (none with ipv6_host_mac)
	// IPv6HostMAC gives the IPv6 host identifier as a device's MAC address
	// (its EUI-64 form); not together with ipv6_host_identifier.
	IPv6HostMAC string `yaml:"ipv6_host_mac,omitempty"`
	// IPv6SubnetID puts the record in that /64 of the host's delegated
	// prefix (0x1; decimal or hexadecimal); the netmask then defaults to 64.
	IPv6SubnetID string `yaml:"ipv6_subnet_id,omitempty"`
	// IPv4Mode and IPv6Mode are derived (the default: from the host's
	// addresses) or static (the fixed address beside them).
	IPv4Mode           string `yaml:"ipv4_mode,omitempty"`
	IPv4StaticAddress  string `yaml:"ipv4_static_address,omitempty"`
	IPv6Mode           string `yaml:"ipv6_mode,omitempty"`
	IPv6StaticAddress  string `yaml:"ipv6_static_address,omitempty"`
	Username           string `yaml:"username,omitempty"`
	KeepOtherAddresses bool   `yaml:"keep_other_addresses,omitempty"`
	// DropWhenStale leaves the record's address out of a name other hosts
	// share while its host is stale.
	DropWhenStale bool `yaml:"drop_when_stale,omitempty"`
	// Password is sealed; "" without secrets or without a password.
	Password string `yaml:"password,omitempty"`
}

// Webhook is an admin's endpoint told about failures and stale hosts.
type Webhook struct {
	Name    string   `yaml:"name"`
	URL     string   `yaml:"url"`
	Events  []string `yaml:"events"`
	Enabled *bool    `yaml:"enabled"` // default true
	// Secret is the sealed HMAC key; "" without secrets or when unsigned.
	Secret string `yaml:"secret,omitempty"`
}

// Notifier is a notification channel that sends to a Shoutrrr URL
// (telegram://, ntfy://, smtp://, …). The URL carries the channel's
// credentials, so it is a secret: without it, a file can change a
// channel's events and switch but not where it sends.
type Notifier struct {
	Name string `yaml:"name"`
	// Destination is the URL's scheme and server as the API shows them
	// (ntfy://ntfy.example.net): what the channel is, readable without
	// secrets. It follows from URL; a file without the URL cannot change it.
	Destination string   `yaml:"destination,omitempty"`
	Events      []string `yaml:"events"`  // default: delivery.failed, delivery.blocked, delivery.recovered, host.stale
	Enabled     *bool    `yaml:"enabled"` // default true
	// URL is the sealed Shoutrrr URL; "" without secrets.
	URL string `yaml:"url,omitempty"`
}

// header is written above the YAML: what the file is and how to use it.
const header = `# DDnsBroker configuration, written by ddnsbroker export.
# Apply it with: ddnsbroker apply -f FILE (--dry-run shows the changes only).
`

// Encode writes m as YAML, sorted: the same configuration gives the same bytes.
func (m *Manifest) Encode(w io.Writer) error {
	m.sort()
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func (m *Manifest) sort() {
	slices.SortFunc(m.Services, func(a, b Service) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	slices.SortFunc(m.Hosts, func(a, b Host) int { return cmp.Compare(a.FQDN, b.FQDN) })
	for i := range m.Hosts {
		slices.SortFunc(m.Hosts[i].Records, func(a, b Record) int {
			return cmp.Or(cmp.Compare(a.FQDN, b.FQDN), cmp.Compare(strings.ToLower(a.Service), strings.ToLower(b.Service)))
		})
	}
	slices.SortFunc(m.Webhooks, func(a, b Webhook) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	for i := range m.Webhooks {
		slices.Sort(m.Webhooks[i].Events)
	}
	slices.SortFunc(m.Notifiers, func(a, b Notifier) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	for i := range m.Notifiers {
		slices.Sort(m.Notifiers[i].Events)
	}
}

// Decode reads a file written by Encode or by hand: unknown keys are
// refused (a misspelt key would otherwise be silently dropped), absent
// ones take the API's defaults.
func Decode(r io.Reader) (*Manifest, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, err
	}
	if m.Version != FormatVersion {
		return nil, fmt.Errorf("version: %d is not a version this binary reads (it reads %d)", m.Version, FormatVersion)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	m.defaults()
	return &m, nil
}

// check refuses what the API could not tell apart (two objects of one
// name), secrets in a file without a secrets: section, and a record's
// IPv6 host identifier given twice (as an address and as a MAC).
func (m *Manifest) check() error {
	var errs []error
	seen := map[string]bool{}
	dup := func(kind, key, name string) {
		if seen[kind+" "+key] {
			errs = append(errs, fmt.Errorf("%s is in the file twice", name))
		}
		seen[kind+" "+key] = true
	}
	sealed := m.Secrets != nil
	for _, s := range m.Services {
		dup("service", strings.ToLower(s.Name), "service "+s.Name)
		if s.Credential != "" && !sealed {
			errs = append(errs, fmt.Errorf("service %s has a credential but the file has no secrets: section", s.Name))
		}
	}
	for _, h := range m.Hosts {
		dup("host", strings.ToLower(h.FQDN), "host "+h.FQDN)
		for _, r := range h.Records {
			fqdn := cmp.Or(r.FQDN, h.FQDN)
			dup("record", strings.ToLower(h.FQDN)+" "+strings.ToLower(r.Service)+" "+strings.ToLower(fqdn), "record "+fqdn+" via "+r.Service+" of host "+h.FQDN)
			if r.Password != "" && !sealed {
				errs = append(errs, fmt.Errorf("record %s via %s has a password but the file has no secrets: section", fqdn, r.Service))
			}
			if r.IPv6HostMAC != "" && r.IPv6HostIdentifier != "" {
				errs = append(errs, fmt.Errorf("record %s via %s: ipv6_host_mac: give either ipv6_host_mac or ipv6_host_identifier, not both", fqdn, r.Service))
			}
		}
		if h.SecretHash != "" && !sealed {
			errs = append(errs, fmt.Errorf("host %s has a secret_hash but the file has no secrets: section", h.FQDN))
		}
	}
	// Webhooks and other channels share one table, and so one namespace.
	for _, w := range m.Webhooks {
		dup("channel", strings.ToLower(w.Name), "channel "+w.Name+" (webhooks:)")
	}
	for _, n := range m.Notifiers {
		dup("channel", strings.ToLower(n.Name), "channel "+n.Name+" (notifiers:)")
		if n.URL != "" && !sealed {
			errs = append(errs, fmt.Errorf("notifier %s has a url but the file has no secrets: section", n.Name))
		}
	}
	return errors.Join(errs...)
}

func (m *Manifest) defaults() {
	on := func(p **bool) {
		if *p == nil {
			t := true
			*p = &t
		}
	}
	bits := func(p **int, n int) {
		if *p == nil {
			*p = &n
		}
	}
	for i := range m.Hosts {
		h := &m.Hosts[i]
		on(&h.Enabled)
		on(&h.IPv4Enabled)
		on(&h.IPv6Enabled)
		for j := range h.Records {
			r := &h.Records[j]
			if r.FQDN == "" {
				r.FQDN = h.FQDN
			}
			on(&r.IPv4Enabled)
			on(&r.IPv6Enabled)
			bits(&r.IPv4Netmask, 32)
			if r.IPv6SubnetID != "" {
				bits(&r.IPv6Netmask, 64) // the subnet is a /64
			}
			bits(&r.IPv6Netmask, 128)
			r.IPv4HostIdentifier = cmp.Or(r.IPv4HostIdentifier, "0.0.0.0")
			if r.IPv6HostMAC == "" {
				r.IPv6HostIdentifier = cmp.Or(r.IPv6HostIdentifier, "::")
			}
			r.IPv4Mode = cmp.Or(r.IPv4Mode, string(rest.Derived))
			r.IPv6Mode = cmp.Or(r.IPv6Mode, string(rest.Derived))
		}
	}
	for i := range m.Webhooks {
		on(&m.Webhooks[i].Enabled)
	}
	for i := range m.Notifiers {
		on(&m.Notifiers[i].Enabled)
		if m.Notifiers[i].Events == nil {
			m.Notifiers[i].Events = notify.WebhookEvents()
		}
	}
	for i := range m.Services {
		if m.Services[i].Settings == nil {
			m.Services[i].Settings = map[string]any{}
		}
	}
}

// b64 is how sealed values and the salt are written.
var b64 = base64.StdEncoding
