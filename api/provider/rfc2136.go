package provider

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// rfc2136Settings are the options stored with an rfc2136 service. The
// TSIG secret is not among them: it is the service's credential, encrypted
// at rest and handed over as Request.Credential.
type rfc2136Settings struct {
	// Server is the primary's host:port, e.g. "ns1.example.net:53".
	Server string `json:"server"`
	// Zone is the zone to update, e.g. "example.net". Empty: asked from
	// the server with an SOA query for each record's name.
	Zone string `json:"zone"`
	// KeyName is the TSIG key's name as the server knows it.
	KeyName string `json:"key_name"`
	// Algorithm is hmac-sha256 (default), hmac-sha512 or hmac-md5 (for
	// old servers).
	Algorithm string `json:"algorithm"`
	// TTL of the published record in seconds, 1..86400; default 60.
	TTL *int `json:"ttl"`
	// TCP sends over TCP instead of UDP (UDP falls back to TCP on
	// truncation anyway); for networks that drop UDP.
	TCP bool `json:"tcp"`
}

const (
	defaultRFC2136TTL = 60
	maxTTL            = 86400
	// tsigFudge is the allowed clock difference, RFC 8945's recommendation.
	tsigFudge = 300
)

// tsigAlgorithms maps the names an admin types (those of BIND's
// tsig-keygen) to their wire names.
var tsigAlgorithms = map[string]string{
	"hmac-sha256": dns.HmacSHA256,
	"hmac-sha512": dns.HmacSHA512,
	"hmac-md5":    dns.HmacMD5,
}

// ProtocolRFC2136 is the rfc2136 protocol's name.
const ProtocolRFC2136 = "rfc2136"

// rfc2136 is DNS UPDATE (RFC 2136) signed with TSIG: one message that
// replaces the record's A or AAAA RRset at the zone's primary, or with
// keep_other_addresses only the addresses the broker delivered before.
type rfc2136 struct {
	// timeout bounds each DNS exchange.
	timeout time.Duration
}

// NewRFC2136 is the rfc2136 protocol; d.DNSTimeout bounds each exchange.
func NewRFC2136(d Deps) Provider {
	d = d.withDefaults()
	return Adapt[rfc2136Settings](rfc2136{timeout: d.DNSTimeout})
}

func (rfc2136) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolRFC2136, Title: "DNS UPDATE (RFC 2136) with TSIG",
		Summary: "One DNS UPDATE signed with TSIG that replaces the record's A or AAAA RRset at the zone's primary server " +
			"(with keep_other_addresses, only the addresses the broker delivered before).",
		Settings: []Field{
			{Key: "server", Type: FieldHostPort, Label: "Server", Required: true, Destination: true,
				Help: "The primary server as host:port, e.g. ns1.example.net:53; an IPv6 address in brackets."},
			{Key: "zone", Type: FieldString, Label: "Zone", Help: "The zone to update; when empty, found with an SOA query for each record's name."},
			{Key: "key_name", Type: FieldString, Label: "Key name", Required: true, Help: "The TSIG key's name as the server knows it."},
			{Key: "algorithm", Type: FieldChoice, Label: "Algorithm", Default: "hmac-sha256",
				Choices: []string{"hmac-sha256", "hmac-sha512", "hmac-md5"}, Help: "The TSIG key's algorithm."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: defaultRFC2136TTL, Min: ptrTo(1), Max: ptrTo(maxTTL),
				Help: "TTL of the published record in seconds."},
			{Key: "tcp", Type: FieldBoolean, Label: "TCP", Default: false, Help: "Send over TCP instead of UDP."},
		},
		Credential: &Prompt{Label: "TSIG secret (base64)", Help: `The key's secret as tsig-keygen prints it (the secret "…" line).`},
		Families:   netcalc.Families(),
		Together:   TogetherNever,
	}
}

// Validate checks what the server and names must look like.
func (rfc2136) Validate(s rfc2136Settings, _ Has) []FieldError {
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "settings." + field, Message: msg}) }
	if _, _, err := SplitServer(s.Server); err != nil {
		add("server", err.Error())
	}
	if s.Zone != "" {
		if _, ok := dns.IsDomainName(s.Zone); !ok || strings.ContainsAny(s.Zone, " /\\@") {
			add("zone", "must be a domain name, e.g. example.net")
		}
	}
	if s.KeyName == "" {
		add("key_name", "is required: the name of the TSIG key as the server knows it")
	} else if _, ok := dns.IsDomainName(s.KeyName); !ok || strings.ContainsAny(s.KeyName, " /\\@") {
		add("key_name", "must be a key name such as ddns-key or ddns-key.example.net")
	}
	if s.Algorithm != "" {
		if _, ok := tsigAlgorithms[strings.ToLower(s.Algorithm)]; !ok {
			add("algorithm", "must be hmac-sha256, hmac-sha512 or hmac-md5")
		}
	}
	if s.TTL != nil && (*s.TTL < 1 || *s.TTL > maxTTL) {
		add("ttl", "must be 1..86400 seconds")
	}
	return errs
}

// CheckCredential: a TSIG secret is base64.
func (rfc2136) CheckCredential(credential string) error {
	_, err := decodeTSIGSecret(credential)
	return err
}

// Send implements Protocol. The answer's RCODE decides: NOERROR is
// delivered; SERVFAIL, timeouts and network errors are retried; NOTAUTH,
// REFUSED, NOTZONE and TSIG errors (BADSIG, BADKEY) fail with the reason,
// since resending the same signed update cannot change them. BADTIME is
// retried: it means a clock is off, which gets fixed without touching the
// service.
func (p rfc2136) Send(ctx context.Context, r Request[rfc2136Settings]) Outcome {
	s := r.Settings
	red := newRedactor("", "", r.Credential)
	key, err := newTSIGKey(s.KeyName, s.Algorithm, r.Credential)
	if err != nil {
		return Outcome{Result: Failed, Message: red.message(err.Error()), Advice: AdviceServiceCredential}
	}
	if _, _, err := SplitServer(s.Server); err != nil {
		return Outcome{Result: Failed, Message: "service server: " + err.Error()}
	}
	name := dns.Fqdn(strings.ToLower(r.FQDN))
	if _, ok := dns.IsDomainName(name); !ok || r.FQDN == "" {
		return Outcome{Result: Failed, Message: "invalid record name " + strconv.Quote(r.FQDN)}
	}
	ttl := defaultRFC2136TTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	if ttl < 1 || ttl > maxTTL {
		return Outcome{Result: Failed, Message: "service ttl must be 1..86400"}
	}
	// Every address goes in: several hosts feeding one name publish
	// their union (Request.Addresses).
	want, out := publishable(r.Family, r.Addresses)
	if out != nil {
		return *out
	}
	var rrs []dns.RR
	for _, a := range want {
		rr, err := addressRR(name, r.Family, a, uint32(ttl))
		if err != nil {
			return Outcome{Result: Failed, Message: err.Error()}
		}
		rrs = append(rrs, rr)
	}
	rr := rrs[0]

	c := p.client(s, key)
	zone := ""
	if s.Zone != "" {
		zone = dns.Fqdn(strings.ToLower(s.Zone))
	} else {
		var out *Outcome
		if zone, out = findZone(ctx, c, s.Server, key, name, red); out != nil {
			return *out
		}
	}
	if !dns.IsSubDomain(zone, name) {
		return Outcome{Result: Failed, Message: fmt.Sprintf("record %s is not in zone %s", name, zone),
			Advice: "check the service's zone and the record's name"}
	}

	m := new(dns.Msg)
	m.SetUpdate(zone)
	if r.KeepOthers {
		// Only what the broker delivered and no longer wants goes (RFC 2136
		// 2.5.4, "delete an RR from an RRset"): the name's other addresses
		// (another site, one added by hand) stay.
		var gone []dns.RR
		for _, a := range r.Delivered {
			if a = canonicalAddr(a); !r.Family.Holds(a) || slices.Contains(want, a) {
				continue
			}
			old, err := addressRR(name, r.Family, a, 0)
			if err != nil {
				return Outcome{Result: Failed, Message: err.Error()}
			}
			gone = append(gone, old)
		}
		if len(gone) > 0 {
			m.Remove(gone)
		}
	} else {
		m.RemoveRRset([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: name, Rrtype: rr.Header().Rrtype, Class: dns.ClassANY}}})
	}
	m.Insert(rrs)
	m.SetTsig(key.name, key.alg, tsigFudge, time.Now().Unix())

	answer, err := dnsExchange(ctx, c, m, s.Server)
	what := fmt.Sprintf("%s %s → %s in zone %s (ttl %d)", name, dns.TypeToString[rr.Header().Rrtype], joinAddrs(want), zone, ttl)
	meaning, text := classifyRFC2136(ctx, answer, err, key)
	if meaning.Result == Delivered {
		text = "NOERROR: " + what
	} else {
		text = "update of " + what + " at " + s.Server + ": " + text
	}
	return Outcome{Result: meaning.Result, Message: red.message(text), Advice: meaning.Advice}
}

// Check asks the server for the zone of the record's name with a signed
// SOA query: the key is accepted and the zone found. Whether the key may
// update the zone only an update tells.
func (p rfc2136) Check(ctx context.Context, r CheckRequest[rfc2136Settings]) []Step {
	s := r.Settings
	red := newRedactor("", "", r.Credential)
	key, err := newTSIGKey(s.KeyName, s.Algorithm, r.Credential)
	if err != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: red.message(err.Error())}}
	}
	name := dns.Fqdn(strings.ToLower(cmp.Or(r.FQDN, s.Zone)))
	if name == "." {
		return []Step{{Name: "credentials accepted", Status: StepUnchecked, Detail: "no zone and no record name to ask the server about"}}
	}
	zone, out := findZone(ctx, p.client(s, key), s.Server, key, name, red)
	if out != nil {
		return []Step{{Name: "zone found", Status: StepFailed, Detail: out.Message}}
	}
	return []Step{
		{Name: "credentials accepted", Status: StepPassed, Detail: "the server answered a query signed with key " + key.name},
		{Name: "zone found", Status: StepPassed, Detail: "zone " + zone},
		{Name: "may edit records", Status: StepUnchecked, Detail: "only an update tells whether the server lets the key change the zone"},
	}
}

func (p rfc2136) client(s rfc2136Settings, key *tsigKey) *dns.Client {
	c := &dns.Client{Net: "udp", Timeout: p.timeout, TsigProvider: key}
	if s.TCP {
		c.Net = "tcp"
	}
	return c
}

// exchange sends m and reads the answer, repeating a truncated UDP answer
// over TCP. A non-nil answer may come with an error: its TSIG did not
// verify, which is how servers answer BADSIG and BADKEY (unsigned).
func dnsExchange(ctx context.Context, c *dns.Client, m *dns.Msg, server string) (*dns.Msg, error) {
	r, _, err := c.ExchangeContext(ctx, m, server)
	if err == nil && r != nil && r.Truncated && c.Net == "udp" {
		tcp := *c
		tcp.Net = "tcp"
		r, _, err = tcp.ExchangeContext(ctx, m, server)
	}
	return r, err
}

// findZone asks the server for the SOA of name: an authoritative server
// answers with the zone's SOA, in the answer when name is the apex and in
// the authority section otherwise (NOERROR without data, or NXDOMAIN for a
// name that does not exist yet).
func findZone(ctx context.Context, c *dns.Client, server string, key *tsigKey, name string, red redactor) (string, *Outcome) {
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeSOA)
	q.RecursionDesired = false
	q.SetTsig(key.name, key.alg, tsigFudge, time.Now().Unix())
	r, err := dnsExchange(ctx, c, q, server)
	fail := func(m Meaning, text string) (string, *Outcome) {
		return "", &Outcome{Result: m.Result, Advice: m.Advice, Message: red.message("finding the zone of " + name + " at " + server + ": " + text)}
	}
	notHere := Meaning{Result: Failed, Advice: "check the service's server (the zone's primary) or set its zone"}
	switch {
	case r == nil || tsigError(r) != 0 || r.Rcode == dns.RcodeServerFailure:
		// Network trouble, TSIG errors and SERVFAIL mean for the query
		// what they mean for the update.
		return fail(classifyRFC2136(ctx, r, err, key))
	case r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError:
		return fail(notHere, rcodeName(r.Rcode)+": the server does not answer for this name; is it the zone's primary? "+
			"Otherwise set the zone in the service settings")
	}
	for _, section := range [][]dns.RR{r.Answer, r.Ns} {
		for _, rr := range section {
			if soa, ok := rr.(*dns.SOA); ok && dns.IsSubDomain(soa.Hdr.Name, name) {
				return strings.ToLower(soa.Hdr.Name), nil
			}
		}
	}
	return fail(notHere, dns.RcodeToString[r.Rcode]+" without an SOA record: the server is not authoritative for it; set the zone in the service settings")
}

// classifyRFC2136 reads the answer to a signed query or update. It returns
// what it means and, unless delivered, the reason.
func classifyRFC2136(ctx context.Context, r *dns.Msg, err error, key *tsigKey) (Meaning, string) {
	if r == nil {
		if err == nil {
			return Meaning{Result: Retry}, "no answer"
		}
		return dnsTransportResult(ctx, err)
	}
	rcode := rcodeName(r.Rcode)
	if te := tsigError(r); te != 0 {
		label := rcode + " (" + rcodeName(int(te)) + ")"
		switch te {
		case dns.RcodeBadSig:
			return Meaning{Result: Failed, Advice: AdviceServiceCredential},
				label + ": the server could not verify the TSIG signature; check the secret and the algorithm of key " + key.name
		case dns.RcodeBadKey:
			return Meaning{Result: Failed, Advice: AdviceServiceCredential},
				label + ": the server does not know key " + key.name + " with algorithm " + strings.TrimSuffix(algorithmName(key.alg), ".")
		case dns.RcodeBadTime:
			return Meaning{Result: Retry, Advice: "the clocks of the broker and the DNS server differ: set both by NTP"},
				label + ": the clocks of the broker and the server differ by more than 5 minutes"
		}
		return Meaning{Result: Failed, Advice: AdviceServiceCredential}, label
	}
	if r.Rcode == dns.RcodeSuccess {
		if err != nil {
			// A NOERROR whose signature does not verify did not come from
			// a server holding the key.
			return Meaning{Result: Retry}, "NOERROR answer that does not verify: " + err.Error()
		}
		if r.IsTsig() == nil {
			return Meaning{Result: Failed, Advice: "the server answered unsigned: check that the service's server is the zone's primary"},
				"NOERROR answer without a TSIG signature: cannot tell it came from the server"
		}
		return Meaning{Result: Delivered}, "NOERROR"
	}
	a, ok := rfc2136Answers[r.Rcode]
	if !ok {
		return Meaning{Result: Failed, Advice: AdviceRefused}, rcode
	}
	return a.Meaning, rcode + ": " + strings.ReplaceAll(a.text, "KEY", key.name)
}

// rfc2136Answers are the RCODEs of an update and what each means (KEY
// stands for the key's name).
var rfc2136Answers = map[int]struct {
	Meaning
	text string
}{
	dns.RcodeServerFailure: {Meaning{Result: Retry}, "the server could not process the update now"},
	dns.RcodeNotAuth: {Meaning{Result: Failed, Advice: "check the service's server (the zone's primary) and its key"},
		"the server is not authoritative for the zone, or does not accept the key"},
	dns.RcodeRefused: {Meaning{Result: Failed, Advice: "let the key update the zone on the server (allow-update or update-policy)"},
		"the server does not allow key KEY to update this zone (allow-update / update-policy)"},
	dns.RcodeNotZone:        {Meaning{Result: Failed, Advice: "check the service's zone and the record's name"}, "the name is not in the zone"},
	dns.RcodeNameError:      {Meaning{Result: Failed, Advice: "check the service's zone"}, "the zone does not exist on the server"},
	dns.RcodeNotImplemented: {Meaning{Result: Failed, Advice: "use a server that takes DNS UPDATE"}, "the server does not implement DNS UPDATE"},
}

// dnsTransportResult classifies an exchange that got no answer: timeouts
// and network errors are retried; a signing error is a broken key.
func dnsTransportResult(ctx context.Context, err error) (Meaning, string) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return Meaning{Result: Retry}, "timeout: deadline exceeded"
		}
		return Meaning{Result: Retry}, "cancelled"
	}
	if errors.Is(err, dns.ErrKeyAlg) || errors.Is(err, dns.ErrSecret) || errors.Is(err, dns.ErrKey) {
		return Meaning{Result: Failed, Advice: AdviceServiceCredential}, "signing: " + err.Error()
	}
	text := err.Error()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Meaning{Result: Retry}, "timeout: no answer within the time limit (" + text + ")"
	}
	return Meaning{Result: Retry}, text
}

// tsigError is the TSIG error of an answer (BADSIG, BADKEY, …), 0 if none.
func tsigError(r *dns.Msg) uint16 {
	if t := r.IsTsig(); t != nil {
		return t.Error
	}
	return 0
}

func rcodeName(code int) string {
	if s, ok := dns.RcodeToString[code]; ok {
		return s
	}
	return "RCODE" + strconv.Itoa(code)
}

func algorithmName(wire string) string {
	for name, w := range tsigAlgorithms {
		if w == wire {
			return name
		}
	}
	return wire
}

// addressRR is the record to publish: A for V4, AAAA for V6.
func addressRR(name string, family netcalc.Family, a netip.Addr, ttl uint32) (dns.RR, error) {
	hdr := dns.RR_Header{Name: name, Class: dns.ClassINET, Ttl: ttl}
	switch a = a.WithZone(""); {
	case family == netcalc.V4 && family.Holds(a):
		hdr.Rrtype = dns.TypeA
		return &dns.A{Hdr: hdr, A: net.IP(a.Unmap().AsSlice())}, nil
	case family == netcalc.V6 && family.Holds(a):
		hdr.Rrtype = dns.TypeAAAA
		return &dns.AAAA{Hdr: hdr, AAAA: net.IP(a.AsSlice())}, nil
	}
	return nil, fmt.Errorf("invalid %s address %s", family, a)
}

// tsigKey signs and verifies with one key. miekg/dns's own provider no
// longer does hmac-md5, which old servers still need.
type tsigKey struct {
	name   string // canonical: lowercase, trailing dot
	alg    string // wire name, e.g. hmac-sha256.
	secret []byte
}

func newTSIGKey(name, algorithm, secret string) (*tsigKey, error) {
	if name == "" {
		return nil, errors.New("service key_name is not set")
	}
	name = dns.CanonicalName(name)
	if _, ok := dns.IsDomainName(name); !ok {
		return nil, errors.New("service key_name is not a valid key name")
	}
	if algorithm == "" {
		algorithm = "hmac-sha256"
	}
	alg, ok := tsigAlgorithms[strings.ToLower(algorithm)]
	if !ok {
		return nil, errors.New("service algorithm must be hmac-sha256, hmac-sha512 or hmac-md5")
	}
	if secret == "" {
		return nil, errors.New("the service has no TSIG secret: set its credential")
	}
	raw, err := decodeTSIGSecret(secret)
	if err != nil {
		return nil, errors.New("the service's TSIG secret " + err.Error())
	}
	return &tsigKey{name: name, alg: alg, secret: raw}, nil
}

// decodeTSIGSecret reads a secret as BIND prints it (base64, as in the
// `secret "…";` line of tsig-keygen's output).
func decodeTSIGSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(s)
	}
	switch {
	case s == "":
		return nil, errors.New("is empty")
	case err != nil:
		return nil, errors.New(`must be base64, as in the secret "…" line of a BIND key`)
	case len(raw) > 512:
		return nil, errors.New("is too long (at most 512 bytes)")
	}
	return raw, nil
}

// Generate implements dns.TsigProvider.
func (k *tsigKey) Generate(msg []byte, t *dns.TSIG) ([]byte, error) {
	if dns.CanonicalName(t.Hdr.Name) != k.name {
		return nil, dns.ErrSecret
	}
	var h func() hash.Hash
	switch dns.CanonicalName(t.Algorithm) {
	case dns.HmacSHA256:
		h = sha256.New
	case dns.HmacSHA512:
		h = sha512.New
	case dns.HmacMD5:
		h = md5.New
	default:
		return nil, dns.ErrKeyAlg
	}
	mac := hmac.New(h, k.secret)
	mac.Write(msg)
	return mac.Sum(nil), nil
}

// Verify implements dns.TsigProvider.
func (k *tsigKey) Verify(msg []byte, t *dns.TSIG) error {
	want, err := k.Generate(msg, t)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(t.MAC)
	if err != nil || !hmac.Equal(want, got) {
		return dns.ErrSig
	}
	return nil
}
