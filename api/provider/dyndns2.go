package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/egress"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolDyndns2 is the dyndns2 protocol's name.
const ProtocolDyndns2 = "dyndns2"

// dyndns2 is the /nic/update protocol most dynamic DNS providers speak
// (he.net, No-IP, INWX, OVH, STRATO, Dyn): one GET with the name and the
// address in the query, the record's username and password as Basic
// authentication, and an answer whose first word is a return code.
type dyndns2 struct{ client *dyndns2Client }

// dyndns2Settings are a dyndns2 service's options.
type dyndns2Settings struct {
	// URL is the update endpoint, e.g. https://dyn.dns.he.net/nic/update or
	// https://www.ovh.com/nic/update?system=dyndns; its query is kept.
	URL string `json:"url"`
	// UsernameIsFQDN sends the record FQDN as the Basic username (he.net).
	UsernameIsFQDN bool `json:"username_is_fqdn"`
	// Combined sends both families in one request (myip=v4,v6).
	Combined bool `json:"combined"`
	// UseMyIPv6 sends IPv6 in `myipv6=` instead of `myip=` (INWX).
	UseMyIPv6 bool `json:"use_myipv6"`
	// MaxHostnames is the most names one request carries
	// (hostname=a,b,c); 0 means dyndns2MaxHostnames, 1 one per request.
	MaxHostnames int `json:"max_hostnames"`
}

// dyndns2MaxHostnames is Dyn's cap on the names of one request: more are
// answered numhost.
const dyndns2MaxHostnames = 20

// NewDyndns2 is the dyndns2 protocol.
func NewDyndns2(d Deps) Provider {
	d = d.withDefaults()
	return Adapt[dyndns2Settings](dyndns2{client: newDyndns2Client(d.HTTP, d.UserAgent)})
}

func (dyndns2) Describe() Description {
	return Description{
		Protocol: ProtocolDyndns2, Title: "dyndns2 (/nic/update)",
		Summary: "GET <url>?hostname=<record>&myip=<address> with the record's username and password as Basic authentication.",
		Settings: []Field{
			{Key: "url", Type: FieldURL, Label: "Update URL", Required: true, Destination: true,
				Help: "The http(s) update URL, e.g. https://dyn.dns.he.net/nic/update; no credentials in it."},
			{Key: "username_is_fqdn", Type: FieldBoolean, Label: "Username is the record's name", Default: false,
				Help: "Log in upstream with the record's FQDN instead of its username (he.net)."},
			{Key: "combined", Type: FieldBoolean, Label: "Both families in one request", Default: false,
				Help: "Send IPv4 and IPv6 together (myip=v4,v6), for providers that replace the other family otherwise."},
			{Key: "use_myipv6", Type: FieldBoolean, Label: "IPv6 in myipv6", Default: false,
				Help: "Send IPv6 in the myipv6 parameter (INWX); both families then go together."},
			{Key: "max_hostnames", Type: FieldInteger, Label: "Names per request", Default: dyndns2MaxHostnames,
				Min: ptrTo(1), Max: ptrTo(dyndns2MaxHostnames),
				Help: "Records with the same username, password and address go in one request (hostname=a,b,c), at most this many; " +
					"1 sends one name per request, for providers that do not take lists."},
		},
		RecordUsername: &Prompt{Label: "Username", Help: "The upstream username (empty with username_is_fqdn)."},
		RecordPassword: &Prompt{Label: "Password", Help: "The upstream password or update key."},
		Families:       netcalc.Families(),
		Together:       TogetherBySettings,
	}
}

// Validate mirrors what Send reads: an absolute http(s) URL without
// credentials (they belong to the records, encrypted).
func (dyndns2) Validate(s dyndns2Settings, _ Has) []FieldError {
	if msg := checkEndpointURL(s.URL, true); msg != "" {
		return []FieldError{{Field: "settings.url", Message: msg}}
	}
	return nil
}

// Send makes one request for the delivery's family, or for both families
// when the service asks for it. INWX (use_myipv6) needs both: it sets
// 127.0.0.1 when an IPv6-only request omits myip.
func (p dyndns2) Send(ctx context.Context, r Request[dyndns2Settings]) Outcome {
	return p.client.Send(ctx, r.Settings, p.job(r))
}

// job is the request r makes alone.
func (p dyndns2) job(r Request[dyndns2Settings]) dyndns2Job {
	job := dyndns2Job{FQDN: r.FQDN, Username: r.Username, Password: r.Password}
	job.set(r.Family, r.Address())
	if p.Combines(r.Settings) && r.OtherAddress().IsValid() {
		job.set(r.Family.Other(), r.OtherAddress())
	}
	return job
}

// BatchSize is max_hostnames, except that a service whose records log in
// with their own name (username_is_fqdn, he.net) never shares a request.
func (dyndns2) BatchSize(s dyndns2Settings) int {
	switch {
	case s.UsernameIsFQDN:
		return 1
	case s.MaxHostnames <= 0:
		return dyndns2MaxHostnames
	}
	return s.MaxHostnames
}

// SendBatch sends rs as one request, hostname=a,b,c, as ddclient groups
// the hosts that share a server, a login and an address. A request whose
// addresses or credentials differ from the first's (its other family
// changed between the claim's reads) is not sent: it is retried.
func (p dyndns2) SendBatch(ctx context.Context, rs []Request[dyndns2Settings]) []Outcome {
	outs := make([]Outcome, len(rs))
	lead := p.job(rs[0])
	var names []string
	var at []int
	for i, r := range rs {
		j := p.job(r)
		if j.IPv4 != lead.IPv4 || j.IPv6 != lead.IPv6 || j.Username != lead.Username || j.Password != lead.Password {
			outs[i] = Outcome{Result: Retry, Message: "its addresses changed while it waited to go with other names; it is sent again"}
			continue
		}
		names, at = append(names, r.FQDN), append(at, i)
	}
	for k, o := range p.client.send(ctx, rs[0].Settings, lead, names) {
		outs[at[k]] = o
	}
	return outs
}

// Combines: combined and use_myipv6 services take both families in one
// request.
func (dyndns2) Combines(s dyndns2Settings) bool { return s.Combined || s.UseMyIPv6 }

// Check cannot ask a dyndns2 provider anything without updating a record:
// the protocol has no read-only request.
func (dyndns2) Check(_ context.Context, r CheckRequest[dyndns2Settings]) []Step {
	return []Step{{Name: "credentials accepted", Status: StepUnchecked,
		Detail: "dyndns2 has no request that checks credentials without updating the record: test with a record to send its current address for real, or the first delivery tells"}}
}

// dyndns2Job is one update request: the record's name and credentials and
// the address(es) to send; the zero value of a family leaves it out.
type dyndns2Job struct {
	FQDN string
	// Username is the Basic username. Empty means the FQDN when the service
	// says UsernameIsFQDN, and no authentication otherwise.
	Username string
	Password string
	IPv4     netip.Addr
	IPv6     netip.Addr
}

func (j *dyndns2Job) set(f netcalc.Family, a netip.Addr) {
	if f == netcalc.V4 {
		j.IPv4 = a
	} else {
		j.IPv6 = a
	}
}

// dyndns2Client makes dyndns2 requests.
type dyndns2Client struct {
	hc        *http.Client
	userAgent string
}

// maxAnswerBytes bounds how much of an answer is read: a dyndns2 answer is
// a few short lines, anything longer is an error page.
const maxAnswerBytes = 4 << 10

// newDyndns2Client uses hc as is (nil: the default egress client); hc must
// set its own timeouts and redirect policy (return
// http.ErrUseLastResponse, or 3xx answers are never seen).
func newDyndns2Client(hc *http.Client, userAgent string) *dyndns2Client {
	d := Deps{HTTP: hc, UserAgent: userAgent}.withDefaults()
	return &dyndns2Client{hc: d.HTTP, userAgent: d.UserAgent}
}

// Send makes one update request for j.FQDN and classifies the answer.
func (c *dyndns2Client) Send(ctx context.Context, s dyndns2Settings, j dyndns2Job) Outcome {
	return c.send(ctx, s, j, []string{j.FQDN})[0]
}

// send makes one update request for names (j's addresses and credentials,
// j.FQDN only as the login with UsernameIsFQDN) and returns one outcome
// per name, in order.
//
// An answer to several names has one line per name, in request order
// (Dyn's protocol): each name gets its own line's meaning. An answer of
// one line (some servers answer once for the request), an HTTP error or
// an error before any answer applies to every name. A name past the
// answer's last line is retried: whether it was updated is unknown.
func (c *dyndns2Client) send(ctx context.Context, s dyndns2Settings, j dyndns2Job, names []string) []Outcome {
	all := func(o Outcome) []Outcome {
		outs := make([]Outcome, len(names))
		for i := range outs {
			outs[i] = o
		}
		return outs
	}
	user := j.Username
	if user == "" && s.UsernameIsFQDN {
		user = j.FQDN
	}
	red := newRedactor(s.URL, user, j.Password)

	target, err := dyndns2URL(s, j, names)
	if err != nil {
		return all(Outcome{Result: Failed, Message: red.message(err.Error()), Advice: "check the service's URL and the record"})
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return all(Outcome{Result: Failed, Message: red.message("invalid service url: " + errText(err)), Advice: "check the service's URL"})
	}
	req.Header.Set("User-Agent", c.userAgent)
	if user != "" {
		req.SetBasicAuth(user, j.Password)
	}
	resp, body, out := exchange(ctx, c.hc, req, maxAnswerBytes, "", red)
	if out != nil {
		return all(*out)
	}
	read := func(answer string) Outcome {
		m, text := classifyDyndns2(resp.StatusCode, resp.Header.Get("Location"), answer, red.answer)
		if m.Result == Delivered {
			if reason := otherAddress(answer, j.IPv4, j.IPv6); reason != "" {
				// The provider did not take what was sent (a pair it cannot
				// read, a parameter it ignores): resending it changes nothing.
				m = Meaning{Result: Failed, Advice: "the provider holds another address than the one sent: check that it takes " +
					"this family, and both families in one request (the service's combined setting) or one at a time"}
				text = reason + " (" + text + ")"
			}
		}
		return Outcome{
			Result:     m.Result,
			Message:    red.message(text),
			Advice:     m.Advice,
			Answer:     red.detail(string(body)),
			RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
		}
	}
	var lines []string
	for line := range strings.Lines(string(body)) {
		if strings.TrimSpace(line) != "" {
			lines = append(lines, line)
		}
	}
	if len(names) == 1 || len(lines) <= 1 || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return all(read(string(body)))
	}
	outs := make([]Outcome, len(names))
	for i := range names {
		if i < len(lines) {
			outs[i] = read(lines[i])
			continue
		}
		outs[i] = Outcome{Result: Retry, Answer: red.detail(string(body)),
			Message: red.message(fmt.Sprintf("HTTP %d: the provider answered %d lines for %d names, none for this one (name %d)",
				resp.StatusCode, len(lines), len(names), i+1)),
			Advice: "the broker tries again; if the provider never answers one line per name, set the service's max_hostnames to 1"}
	}
	return outs
}

// dyndns2URL builds `<url>?hostname=<names>&myip=<addr>`, appending to a
// query the service URL already has (OVH's ?system=dyndns). Several names
// are separated by plain commas, as ddclient sends them.
//
// With UseMyIPv6 an IPv6 address goes in myipv6 and myip is sent only when
// the job has an IPv4 address. INWX sets the A record to 127.0.0.1 when
// myip is omitted, but inventing an IPv4 here would be worse; a dispatcher
// that serves such a service must put both families in one job.
func dyndns2URL(s dyndns2Settings, j dyndns2Job, names []string) (string, error) {
	// Stored before the rules were strict, a URL may hold what must not
	// be sent as it is (spaces, line breaks).
	if msg := egress.CheckURLText(s.URL); msg != "" {
		return "", errors.New("invalid service url: it " + msg)
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return "", errors.New("invalid service url: " + errText(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("invalid service url: want http(s)://host/path")
	}
	if len(names) == 0 || slices.Contains(names, "") {
		return "", errors.New("no hostname to update")
	}
	v4, v6 := j.IPv4.Unmap(), j.IPv6.WithZone("")
	if v4.IsValid() && !v4.Is4() {
		return "", errors.New("invalid IPv4 address " + v4.String())
	}
	if v6.IsValid() && (!v6.Is6() || v6.Is4In6()) {
		return "", errors.New("invalid IPv6 address " + v6.String())
	}
	if !v4.IsValid() && !v6.IsValid() {
		return "", errors.New("no address to send")
	}

	hostnames := make([]string, len(names))
	for i, n := range names {
		hostnames[i] = url.QueryEscape(n)
	}
	q := url.Values{}
	switch {
	case s.UseMyIPv6:
		if v4.IsValid() {
			q.Set("myip", v4.String())
		}
		if v6.IsValid() {
			q.Set("myipv6", v6.String())
		}
	case v4.IsValid() && v6.IsValid():
		q.Set("myip", v4.String()+","+v6.String())
	case v4.IsValid():
		q.Set("myip", v4.String())
	default:
		q.Set("myip", v6.String())
	}
	query := "hostname=" + strings.Join(hostnames, ",") + "&" + q.Encode()
	if u.RawQuery != "" {
		u.RawQuery += "&" + query
	} else {
		u.RawQuery = query
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}

// classifyDyndns2 reads an answer: the HTTP status first, then the first
// word of each non-empty body line (providers add text after the code, and
// he.net answers 200 even on errors). It returns the result and the
// message text, which quotes the answer and the Location header only
// through shown (redactor.answer).
func classifyDyndns2(status int, location, body string, shown func(string) string) (Meaning, string) {
	text, location := shown(body), shown(location)
	label := "HTTP " + strconv.Itoa(status)
	withBody := func() string {
		if text == "" {
			return label + ": " + http.StatusText(status)
		}
		return label + ": " + text
	}

	switch m := HTTPStatus(status, AdviceRecordCredentials); {
	case status >= 300 && status < 400:
		if location == "" {
			return m, label + ": redirect not followed"
		}
		return m, label + ": redirect to " + location + " not followed"
	case m.Result != Delivered:
		// 401, 403 and every other 4xx: resending the same request will
		// get the same answer; 429 and 5xx are retried.
		return m, withBody()
	}

	if text == "" {
		return Meaning{Result: Failed, Advice: dyndns2Unknown}, label + ": empty answer"
	}
	// Worst line wins: abuse, then anything permanent or not understood,
	// then transient trouble; delivered only if every line says so. The
	// message quotes the first line and of the others only their return
	// code, a word of the protocol: who points a service at some address
	// must not read the rest of what answers there.
	worst, lines, more := Meaning{Result: Delivered}, 0, ""
	for line := range strings.Lines(body) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if m := dyndns2Code(f[0]); rank(m.Result) > rank(worst.Result) {
			worst = m
		}
		switch lines++; {
		case lines == 1:
		case isDyndns2Code(f[0]):
			more += "; " + f[0]
		case !strings.HasSuffix(more, "; …"):
			more += "; …"
		}
	}
	if len(text)+len(more) <= maxAnswerShown {
		text += more
	}
	return worst, withBody()
}

// isDyndns2Code says whether word is one of the protocol's return codes.
func isDyndns2Code(word string) bool {
	_, ok := dyndns2Answers[strings.ToLower(word)]
	return ok
}

// otherAddress reads the addresses a good or nochg answer carries
// ("good 198.51.100.7", "nochg 198.51.100.7,2001:db8::7", one line per
// hostname) and explains, when the answer names an address of a family that
// was sent but not the address sent, that the provider holds another one.
// An answer without an address of that family says nothing about it.
func otherAddress(body string, v4, v6 netip.Addr) string {
	sent := map[bool]netip.Addr{true: v4.Unmap(), false: v6.WithZone("")}
	for line := range strings.Lines(body) {
		f := strings.Fields(line)
		if len(f) < 2 || dyndns2Code(f[0]).Result != Delivered {
			continue
		}
		verb := "set"
		if strings.EqualFold(f[0], "nochg") {
			verb = "kept"
		}
		answered := map[bool][]netip.Addr{}
		for _, word := range f[1:] {
			for _, part := range strings.Split(word, ",") {
				if a, err := netip.ParseAddr(strings.TrimSpace(part)); err == nil {
					a = a.Unmap().WithZone("")
					answered[a.Is4()] = append(answered[a.Is4()], a)
				}
			}
		}
		for _, is4 := range []bool{true, false} {
			want, got := sent[is4], answered[is4]
			if !want.IsValid() || len(got) == 0 || slices.Contains(got, want) {
				continue
			}
			return fmt.Sprintf("the provider %s %s, we sent %s", verb, got[0], want)
		}
	}
	return ""
}

// dyndns2Answers are the protocol's return codes and what each means.
var dyndns2Answers = map[string]Meaning{
	"good":     {Result: Delivered},
	"nochg":    {Result: Delivered},
	"911":      {Result: Retry, Advice: "the provider has trouble on its side; the broker tries again later"},
	"dnserr":   {Result: Retry, Advice: "the provider has trouble on its side; the broker tries again later"},
	"abuse":    {Result: Blocked, Advice: AdviceBlocked},
	"badauth":  {Result: Failed, Advice: AdviceRecordCredentials},
	"!donator": {Result: Failed, Advice: "the provider offers this only to paying accounts"},
	"notfqdn":  {Result: Failed, Advice: "the provider says the record's name is not a full domain name: check the record's name"},
	"nohost":   {Result: Failed, Advice: "the provider knows no such name in this account: check the record's name and credentials"},
	"numhost":  {Result: Failed, Advice: "the provider refused a request with too many names"},
	"badagent": {Result: Failed, Advice: "the provider refused the broker's User-Agent or the request: tell the broker's maintainers"},
	"!yours":   {Result: Failed, Advice: "the name belongs to another account at the provider: check the record's credentials"},
}

// dyndns2Unknown is the advice for an answer the protocol does not define.
const dyndns2Unknown = "the provider answered something dyndns2 does not define: read its answer"

// dyndns2Code is what one return code means; unknown words are Failed so
// the admin gets to read them.
func dyndns2Code(word string) Meaning {
	if m, ok := dyndns2Answers[strings.ToLower(word)]; ok {
		return m
	}
	return Meaning{Result: Failed, Advice: dyndns2Unknown}
}

// rank orders results by how bad they are for a multi-line answer.
func rank(r Result) int {
	switch r {
	case Delivered:
		return 0
	case Retry:
		return 1
	case Failed:
		return 2
	}
	return 3
}
