package dyndns2

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"sort"
	"strings"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// maxBody bounds a POSTed form; a real update is a few hundred bytes.
const maxBody = 64 << 10

// param is one name=value pair, in the order the client sent it.
type param struct{ name, value string }

// params holds the query and the form body of a request, query first.
// Repeated names are kept because clients repeat `myip=`.
type params []param

// first returns the first value sent for name, or "".
func (ps params) first(name string) string {
	for _, p := range ps {
		if p.name == name {
			return p.value
		}
	}
	return ""
}

// readParams collects the query and, for POST, a urlencoded or multipart form
// body.
func readParams(w http.ResponseWriter, r *http.Request) (params, error) {
	ps := parseQuery(nil, r.URL.RawQuery)
	if r.Method != http.MethodPost || r.Body == nil {
		return ps, nil
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	switch mediaType {
	case "application/x-www-form-urlencoded", "":
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, errors.New("request body too large or unreadable")
		}
		ps = parseQuery(ps, string(b))
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return nil, errors.New("malformed multipart form")
		}
		names := make([]string, 0, len(r.MultipartForm.Value))
		for name := range r.MultipartForm.Value {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			for _, v := range r.MultipartForm.Value[name] {
				ps = append(ps, param{strings.ToLower(name), v})
			}
		}
	}
	return ps, nil
}

// parseQuery appends the pairs of a query string to dst. It is lenient where
// url.ParseQuery is strict, because FRITZ!Box inserts values unescaped: a `%`
// that does not start an escape and a `;` are taken literally instead of
// dropping the pair. Names are lowercased.
func parseQuery(dst params, raw string) params {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		dst = append(dst, param{strings.ToLower(unescape(name)), unescape(value)})
	}
	return dst
}

// unescape decodes `+` and valid %XX escapes once and keeps anything else as
// sent.
func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// items returns the values of the named parameters split on commas, trimmed,
// without empty items (FRITZ!Box leaves placeholders it cannot fill empty).
func (ps params) items(names ...string) []item {
	var out []item
	for _, p := range ps {
		for _, n := range names {
			if p.name != n {
				continue
			}
			for _, v := range strings.Split(p.value, ",") {
				if v = strings.TrimSpace(v); v != "" {
					out = append(out, item{p.name, v})
				}
			}
		}
	}
	return out
}

// item is one comma-separated value and the parameter it came in.
type item struct{ param, value string }

// family says which address a parameter may carry.
type family int

const (
	anyFamily  family = iota // myip: IPv4, IPv6, or IPv6 with /len (see add)
	ipv4Only                 // myipv4, ipv4, ip
	ipv6Only                 // myipv6, myip6, ipv6: an address, or with /len see add
	prefixOnly               // ip6lanprefix, ipv6prefix
)

// addressParams lists every parameter that carries an address, by family.
var addressParams = []struct {
	names  []string
	family family
}{
	{[]string{"myip"}, anyFamily},
	{[]string{"myipv4", "ipv4", "ip"}, ipv4Only},
	{[]string{"myipv6", "myip6", "ipv6"}, ipv6Only},
	{[]string{"ip6lanprefix", "ipv6prefix"}, prefixOnly},
}

// badRequest is an address the handler refuses. reason may quote the client's
// value; plain says the same without it, for when the value must not be
// echoed (see safeReason).
type badRequest struct{ reason, plain string }

func (e *badRequest) Error() string { return e.reason }

// slot is one stored value of the host: its IPv4, its IPv6 or its prefix.
type slot int

const (
	slot4 slot = iota
	slot6
	slotPrefix
)

var slotNames = [...]string{"IPv4 address", "IPv6 address", "IPv6 prefix"}

// addresses is what the address parameters of one request ask for.
type addresses struct {
	set      [3]bool // a value was given for the slot
	preserve [3]bool // `preserve` was given for the slot
	addr     [3]netip.Addr
	prefix   netip.Prefix
	source   [3]string // the parameter that set the slot
	// keepAll is `myip=preserve`: keep both families, do not fall back to
	// the source address.
	keepAll bool
}

// any reports whether the request said anything about any family, in which
// case the source address is not used.
func (a *addresses) any() bool {
	return a.keepAll || a.set != [3]bool{} || a.preserve != [3]bool{}
}

// parseAddresses reads every address parameter. Any unusable value refuses
// the whole request, so that nothing is stored from a half-understood one.
func parseAddresses(ps params) (addresses, error) {
	var a addresses
	for _, group := range addressParams {
		for _, it := range ps.items(group.names...) {
			if err := a.add(it, group.family); err != nil {
				return addresses{}, err
			}
		}
	}
	return a, nil
}

func (a *addresses) add(it item, fam family) error {
	v := it.value
	if strings.EqualFold(v, "preserve") {
		switch fam {
		case anyFamily:
			a.keepAll = true
			return nil
		case ipv4Only:
			return a.keep(slot4)
		case ipv6Only:
			return a.keep(slot6)
		default:
			return a.keep(slotPrefix)
		}
	}
	if strings.Contains(v, "/") {
		if fam == ipv4Only {
			return wrongFamily(it, "an IPv4 address")
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return invalid("IPv6 prefix", v)
		}
		network, err := netcalc.CheckPrefix(p)
		if err != nil {
			return &badRequest{err.Error(), "unusable IPv6 prefix"}
		}
		if err := a.setPrefix(network); err != nil {
			return err
		}
		a.source[slotPrefix] = it.param
		if fam != prefixOnly {
			a.source[slotPrefix] += "/len"
		}
		// An address with host bits (2001:db8:1:2::5/64, as MikroTik
		// scripts send an interface's address) is the host's address too;
		// the network address itself (2001:db8:1:2::/64) names the prefix
		// alone. A prefix parameter only ever carries a prefix.
		if fam == prefixOnly || p.Addr() == network.Addr() {
			return nil
		}
		addr, err := netcalc.CheckHostAddress(p.Addr())
		if err != nil {
			return &badRequest{err.Error(), "unusable address"}
		}
		a.source[slot6] = it.param
		return a.setAddr(slot6, addr)
	}
	if fam == prefixOnly {
		return &badRequest{
			reason: fmt.Sprintf("invalid IPv6 prefix %s, want address/length", quote(v)),
			plain:  "invalid IPv6 prefix, want address/length",
		}
	}
	addr, err := netip.ParseAddr(v)
	if err != nil {
		switch {
		case fam == ipv4Only:
			return invalid("IPv4 address", v)
		case fam == ipv6Only || strings.Contains(v, ":"):
			return invalid("IPv6 address", v)
		default:
			return invalid("IPv4 address", v)
		}
	}
	if addr, err = netcalc.CheckHostAddress(addr); err != nil {
		return &badRequest{err.Error(), "unusable address"}
	}
	s := slot6
	if addr.Is4() {
		s = slot4
	}
	switch {
	case fam == ipv4Only && s != slot4:
		return wrongFamily(it, "an IPv4 address")
	case fam == ipv6Only && s != slot6:
		return wrongFamily(it, "an IPv6 address")
	}
	a.source[s] = it.param
	return a.setAddr(s, addr)
}

func (a *addresses) keep(s slot) error {
	if a.set[s] {
		return conflict(s)
	}
	a.preserve[s] = true
	return nil
}

func (a *addresses) setAddr(s slot, addr netip.Addr) error {
	if a.preserve[s] || a.set[s] && a.addr[s] != addr {
		return conflict(s)
	}
	a.set[s], a.addr[s] = true, addr
	return nil
}

func (a *addresses) setPrefix(p netip.Prefix) error {
	if a.preserve[slotPrefix] || a.set[slotPrefix] && a.prefix != p {
		return conflict(slotPrefix)
	}
	a.set[slotPrefix], a.prefix = true, p
	return nil
}

func conflict(s slot) error {
	msg := "more than one " + slotNames[s]
	return &badRequest{msg, msg}
}

func invalid(what, v string) error {
	return &badRequest{
		reason: fmt.Sprintf("invalid %s %s", what, quote(v)),
		plain:  "invalid " + what,
	}
}

func wrongFamily(it item, want string) error {
	return &badRequest{
		reason: fmt.Sprintf("%s expects %s, got %s", it.param, want, quote(it.value)),
		plain:  fmt.Sprintf("%s expects %s", it.param, want),
	}
}

// maxQuoted bounds how much of a client's value an answer repeats.
const maxQuoted = 64

// quote renders a client's value for an answer: Go-quoted, so control
// characters and newlines cannot break the line, and cut short.
func quote(v string) string {
	if len(v) > maxQuoted {
		v = v[:maxQuoted] + "..."
	}
	return fmt.Sprintf("%q", v)
}

// successWords are what inadyn's custom provider and OpenWrt's scripts look
// for anywhere in a body to decide that an update worked.
var successWords = []string{"good", "ok", "true", "updated", "nochg"}

// hasSuccessWord reports whether s contains any of successWords, in any case.
func hasSuccessWord(s string) bool {
	s = strings.ToLower(s)
	for _, w := range successWords {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// safeReason is the reason to put after `badrequest`: the detailed one unless
// it would make a client read the refusal as success.
func safeReason(err error) string {
	var br *badRequest
	if !errors.As(err, &br) {
		return "invalid request"
	}
	if hasSuccessWord(br.reason) {
		return br.plain
	}
	return br.reason
}
