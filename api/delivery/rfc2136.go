package delivery

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// rfc2136Service are the options stored with an rfc2136 service. The TSIG
// secret is not among them: it is the service's credential, encrypted at
// rest and handed over as Target.Credential.
type rfc2136Service struct {
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
	// DriftSettings are the drift check's, common to every protocol.
	DriftSettings
}

const (
	defaultRFC2136TTL = 60
	maxTTL            = 86400
	// rfc2136Timeout bounds one DNS exchange; a lost UDP datagram becomes
	// a retry of the whole delivery after the dispatcher's backoff.
	rfc2136Timeout = 10 * time.Second
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

// RFC2136 is the rfc2136 Protocol of the dispatcher: one DNS UPDATE,
// signed with TSIG, that replaces the record's A or AAAA RRset.
type RFC2136 struct {
	// Timeout bounds each DNS exchange; 0 means 10 s.
	Timeout time.Duration
}

// Send implements Protocol. The answer's RCODE decides: NOERROR is
// delivered; SERVFAIL, timeouts and network errors are retried; NOTAUTH,
// REFUSED, NOTZONE and TSIG errors (BADSIG, BADKEY) fail with the reason,
// since resending the same signed update cannot change them. BADTIME is
// retried: it means a clock is off, which gets fixed without touching the
// service.
func (p *RFC2136) Send(ctx context.Context, settings json.RawMessage, t Target) Outcome {
	red := newRedactor("", "", t.Credential)
	var s rfc2136Service
	if err := readSettings(settings, &s); err != nil {
		return Outcome{Result: Failed, Message: red.message(err.Error())}
	}
	key, err := newTSIGKey(s.KeyName, s.Algorithm, t.Credential)
	if err != nil {
		return Outcome{Result: Failed, Message: red.message(err.Error())}
	}
	if _, _, err := splitServer(s.Server); err != nil {
		return Outcome{Result: Failed, Message: "service server: " + err.Error()}
	}
	name := dns.Fqdn(strings.ToLower(t.FQDN))
	if _, ok := dns.IsDomainName(name); !ok || t.FQDN == "" {
		return Outcome{Result: Failed, Message: "invalid record name " + strconv.Quote(t.FQDN)}
	}
	ttl := defaultRFC2136TTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	if ttl < 1 || ttl > maxTTL {
		return Outcome{Result: Failed, Message: "service ttl must be 1..86400"}
	}
	rr, err := addressRR(name, t.Family, t.Address, uint32(ttl))
	if err != nil {
		return Outcome{Result: Failed, Message: err.Error()}
	}

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
		return Outcome{Result: Failed, Message: fmt.Sprintf("record %s is not in zone %s", name, zone)}
	}

	m := new(dns.Msg)
	m.SetUpdate(zone)
	m.RemoveRRset([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: name, Rrtype: rr.Header().Rrtype, Class: dns.ClassANY}}})
	m.Insert([]dns.RR{rr})
	m.SetTsig(key.name, key.alg, tsigFudge, time.Now().Unix())

	r, err := exchange(ctx, c, m, s.Server)
	what := fmt.Sprintf("%s %s → %s in zone %s (ttl %d)", name, dns.TypeToString[rr.Header().Rrtype], t.Address, zone, ttl)
	result, text := classifyRFC2136(ctx, r, err, key)
	if result == Delivered {
		text = "NOERROR: " + what
	} else {
		text = "update of " + what + " at " + s.Server + ": " + text
	}
	return Outcome{Result: result, Message: red.message(text)}
}

func (p *RFC2136) client(s rfc2136Service, key *tsigKey) *dns.Client {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = rfc2136Timeout
	}
	c := &dns.Client{Net: "udp", Timeout: timeout, TsigProvider: key}
	if s.TCP {
		c.Net = "tcp"
	}
	return c
}

// exchange sends m and reads the answer, repeating a truncated UDP answer
// over TCP. A non-nil answer may come with an error: its TSIG did not
// verify, which is how servers answer BADSIG and BADKEY (unsigned).
func exchange(ctx context.Context, c *dns.Client, m *dns.Msg, server string) (*dns.Msg, error) {
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
	r, err := exchange(ctx, c, q, server)
	fail := func(result Result, text string) (string, *Outcome) {
		return "", &Outcome{Result: result, Message: red.message("finding the zone of " + name + " at " + server + ": " + text)}
	}
	switch {
	case r == nil || tsigError(r) != 0 || r.Rcode == dns.RcodeServerFailure:
		// Network trouble, TSIG errors and SERVFAIL mean for the query
		// what they mean for the update.
		result, text := classifyRFC2136(ctx, r, err, key)
		return fail(result, text)
	case r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError:
		return fail(Failed, rcodeName(r.Rcode)+": the server does not answer for this name; is it the zone's primary? "+
			"Otherwise set the zone in the service settings")
	}
	for _, section := range [][]dns.RR{r.Answer, r.Ns} {
		for _, rr := range section {
			if soa, ok := rr.(*dns.SOA); ok && dns.IsSubDomain(soa.Hdr.Name, name) {
				return strings.ToLower(soa.Hdr.Name), nil
			}
		}
	}
	return fail(Failed, dns.RcodeToString[r.Rcode]+" without an SOA record: the server is not authoritative for it; set the zone in the service settings")
}

// classifyRFC2136 reads the answer to a signed query or update. It returns
// the result and, unless delivered, the reason.
func classifyRFC2136(ctx context.Context, r *dns.Msg, err error, key *tsigKey) (Result, string) {
	if r == nil {
		if err == nil {
			return Retry, "no answer"
		}
		return dnsTransportResult(ctx, err)
	}
	rcode := rcodeName(r.Rcode)
	if te := tsigError(r); te != 0 {
		label := rcode + " (" + rcodeName(int(te)) + ")"
		switch te {
		case dns.RcodeBadSig:
			return Failed, label + ": the server could not verify the TSIG signature; check the secret and the algorithm of key " + key.name
		case dns.RcodeBadKey:
			return Failed, label + ": the server does not know key " + key.name + " with algorithm " + strings.TrimSuffix(algorithmName(key.alg), ".")
		case dns.RcodeBadTime:
			return Retry, label + ": the clocks of the broker and the server differ by more than 5 minutes"
		}
		return Failed, label
	}
	switch r.Rcode {
	case dns.RcodeSuccess:
		if err != nil {
			// A NOERROR whose signature does not verify did not come from
			// a server holding the key.
			return Retry, "NOERROR answer that does not verify: " + err.Error()
		}
		if r.IsTsig() == nil {
			return Failed, "NOERROR answer without a TSIG signature: cannot tell it came from the server"
		}
		return Delivered, "NOERROR"
	case dns.RcodeServerFailure:
		return Retry, rcode + ": the server could not process the update now"
	case dns.RcodeNotAuth:
		return Failed, rcode + ": the server is not authoritative for the zone, or does not accept the key"
	case dns.RcodeRefused:
		return Failed, rcode + ": the server does not allow key " + key.name + " to update this zone (allow-update / update-policy)"
	case dns.RcodeNotZone:
		return Failed, rcode + ": the name is not in the zone"
	case dns.RcodeNameError:
		return Failed, rcode + ": the zone does not exist on the server"
	case dns.RcodeNotImplemented:
		return Failed, rcode + ": the server does not implement DNS UPDATE"
	}
	return Failed, rcode
}

// dnsTransportResult classifies an exchange that got no answer: timeouts
// and network errors are retried; a signing error is a broken key.
func dnsTransportResult(ctx context.Context, err error) (Result, string) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return Retry, "timeout: deadline exceeded"
		}
		return Retry, "cancelled"
	}
	if errors.Is(err, dns.ErrKeyAlg) || errors.Is(err, dns.ErrSecret) || errors.Is(err, dns.ErrKey) {
		return Failed, "signing: " + err.Error()
	}
	text := err.Error()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Retry, "timeout: no answer within the time limit (" + text + ")"
	}
	return Retry, text
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

// addressRR is the record to publish: A for family 4, AAAA for 6.
func addressRR(name string, family int, a netip.Addr, ttl uint32) (dns.RR, error) {
	hdr := dns.RR_Header{Name: name, Class: dns.ClassINET, Ttl: ttl}
	switch a = a.WithZone(""); {
	case family == 4 && a.Unmap().Is4():
		hdr.Rrtype = dns.TypeA
		return &dns.A{Hdr: hdr, A: net.IP(a.Unmap().AsSlice())}, nil
	case family == 6 && a.Is6() && !a.Is4In6():
		hdr.Rrtype = dns.TypeAAAA
		return &dns.AAAA{Hdr: hdr, AAAA: net.IP(a.AsSlice())}, nil
	}
	return nil, fmt.Errorf("invalid IPv%d address %s", family, a)
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

// splitServer checks a host:port server address.
func splitServer(s string) (string, int, error) {
	if s == "" {
		return "", 0, errors.New("is required (host:port)")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return "", 0, errors.New("must be host:port, e.g. ns1.example.net:53 or [2001:db8::53]:53")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, errors.New("port must be 1..65535")
	}
	if _, err := netip.ParseAddr(host); err != nil {
		if _, ok := dns.IsDomainName(host); !ok || strings.ContainsAny(host, " /\\@") {
			return "", 0, errors.New("host must be an IP address or a host name")
		}
	}
	return host, n, nil
}

// validateRFC2136 checks rfc2136 settings for ValidateSettings.
func validateRFC2136(raw json.RawMessage) []FieldError {
	var s rfc2136Service
	if errs := decodeSettings(raw, &s); errs != nil {
		return errs
	}
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "settings." + field, Message: msg}) }
	if _, _, err := splitServer(s.Server); err != nil {
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
