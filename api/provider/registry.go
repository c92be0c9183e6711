package provider

import (
	"net/http"
	"strings"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/egress"
)

// Deps are what providers are built with.
type Deps struct {
	// HTTP is the one client every HTTP provider sends with: serve's is
	// egress.NewClient with the configured destination policy; tests pass
	// their own. It must set its own timeouts and return
	// http.ErrUseLastResponse from CheckRedirect (egress's does). nil: the
	// default destination policy and RequestTimeout.
	HTTP *http.Client
	// UserAgent is sent by every HTTP provider ("": UserAgent("")).
	// Providers block clients without a descriptive agent.
	UserAgent string
	// DNSTimeout bounds one DNS exchange of the DNS providers (0: 10 s).
	DNSTimeout time.Duration
}

// RequestTimeout bounds one request to a provider, answer included.
const RequestTimeout = 30 * time.Second

// DNSTimeout bounds one DNS exchange by default; a lost UDP datagram
// becomes a retry of the whole delivery after the dispatcher's backoff.
const DNSTimeout = 10 * time.Second

// UserAgent is the User-Agent of this version, "ddnsbroker/<version>".
func UserAgent(version string) string {
	if version == "" {
		version = "dev"
	}
	return "ddnsbroker/" + version
}

// withDefaults fills what d leaves empty.
func (d Deps) withDefaults() Deps {
	if d.HTTP == nil {
		d.HTTP = egress.NewClient(egress.DefaultPolicy(), RequestTimeout)
	}
	if d.UserAgent == "" {
		d.UserAgent = UserAgent("")
	}
	if d.DNSTimeout <= 0 {
		d.DNSTimeout = DNSTimeout
	}
	return d
}

// Registry holds every protocol this version can deliver through.
type Registry struct {
	byName map[string]Provider
	names  []string
}

// New builds the registry: one line per protocol, in the order a form
// offers them. Adding a provider is its file, its test file and its line
// here (and its name in openapi.yaml's Protocol enum).
func New(d Deps) *Registry {
	d = d.withDefaults()
	return newRegistry(
		NewDyndns2(d),
		NewRFC2136(d),
		NewHTTPTemplate(d),
		NewCloudflare(d),
		// Bearer-token record APIs (group pc).
		NewDigitalOcean(d),
		NewLinode(d),
		NewVultr(d),
		NewScaleway(d),
		NewDNSimple(d),
		// Native APIs, group pb (powerdns, desec, hetzner, dnspod).
		NewPowerDNS(d),
		NewDesec(d),
		NewHetzner(d),
		NewDNSPod(d),
		// Native APIs, group pd (issue 16).
		NewGandi(d),
		NewPorkbun(d),
		NewOVH(d),
		NewGoDaddy(d),
		// Provider group pe: netcup, IONOS, NameSilo and extras.
		NewNetcup(d),
		NewIONOS(d),
		NewNameSilo(d),
		NewBunny(d),
		// Group pa: cloud providers with signed requests or OAuth.
		NewRoute53(d),
		NewGoogleCloudDNS(d),
		NewAzure(d),
		NewAliDNS(d),
	)
}

func newRegistry(providers ...Provider) *Registry {
	r := &Registry{byName: map[string]Provider{}}
	for _, p := range providers {
		if _, dup := r.byName[p.Name()]; dup {
			panic("provider: protocol " + p.Name() + " registered twice")
		}
		r.byName[p.Name()] = p
		r.names = append(r.names, p.Name())
	}
	return r
}

// Provider finds a protocol by its stored name.
func (r *Registry) Provider(name string) (Provider, bool) {
	p, ok := r.byName[name]
	return p, ok
}

// Names lists the protocols in the order a form offers them.
func (r *Registry) Names() []string { return append([]string(nil), r.names...) }

// Descriptions describe every protocol, in Names' order.
func (r *Registry) Descriptions() []Description {
	out := make([]Description, 0, len(r.names))
	for _, n := range r.names {
		out = append(out, r.byName[n].Describe())
	}
	return out
}

// Presets is the "new service" catalogue: the built-in presets (see
// Presets) and then each protocol's own (Presetter), fresh copies.
func (r *Registry) Presets() []Preset {
	out := Presets()
	for _, n := range r.names {
		out = append(out, r.byName[n].Presets()...)
	}
	return out
}

// unknownProtocol is the error about a protocol not in the registry.
func (r *Registry) unknownProtocol() []FieldError {
	return []FieldError{{Field: "protocol", Message: "must be one of " + strings.Join(r.names, ", ")}}
}

// Validate checks a service's settings before they are stored, so a typo
// is answered at once instead of by a failed delivery later (see
// Provider.Validate); an unknown protocol is a field error too.
func (r *Registry) Validate(protocol string, settings []byte, has Has) []FieldError {
	p, ok := r.byName[protocol]
	if !ok {
		return r.unknownProtocol()
	}
	return p.Validate(settings, has)
}

// ValidateCredential checks the form of a service credential before it is
// sealed. The message never repeats the credential.
func (r *Registry) ValidateCredential(protocol, credential string) []FieldError {
	p, ok := r.byName[protocol]
	if !ok {
		return r.unknownProtocol()
	}
	return p.ValidateCredential(credential)
}
