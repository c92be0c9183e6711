package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/egress"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// httpSettings are the options stored with an http (template) service:
// one request per delivery, built from templates, judged by a success
// rule. It covers DuckDNS, dynv6's REST update, Namecheap and home-made
// endpoints.
type httpSettings struct {
	// Method is GET (default), POST, PUT or PATCH.
	Method string `json:"method"`
	// URL is the request URL template, e.g.
	// https://www.duckdns.org/update?domains={fqdn}&token={password}&ip={ip}.
	URL string `json:"url"`
	// URLIPv6, when set, replaces URL for IPv6 deliveries: some providers
	// take each family in its own parameter (DuckDNS `ipv6=`).
	URLIPv6 string `json:"url_ipv6"`
	// Headers are extra request headers; values are templates too.
	Headers map[string]string `json:"headers"`
	// Body is the request body template (not with GET).
	Body string `json:"body"`
	// BasicAuth sends the record's username and password as HTTP Basic.
	BasicAuth bool `json:"basic_auth"`
	// SuccessStatus is the range of statuses that can mean success,
	// "200-299" (default) or a single status such as "200".
	SuccessStatus string `json:"success_status"`
	// SuccessRegexp, when set, must also match the answer's body (RE2
	// syntax; its first 4 KiB), e.g. "^OK" for DuckDNS, which answers KO
	// with HTTP 200.
	SuccessRegexp string `json:"success_regexp"`
}

// Placeholders lists what URL, header and body templates can contain:
//
//	{fqdn}      the record's name
//	{ip}        the address of this delivery (IPv4 or IPv6)
//	{ipv4}      the record's IPv4 address, empty when it has none
//	{ipv6}      the record's IPv6 address, empty when it has none
//	{username}  the record's username
//	{password}  the record's password
//	{prefix}    the /64 holding the record's IPv6 address, e.g. 2001:db8:1:2::/64
//
// A value landing in a URL is percent-encoded (everything but letters,
// digits and -._~), so `&`, `=`, `#`, `/` or `@` in a password cannot
// change the URL. In a body it is form-encoded when the Content-Type is
// application/x-www-form-urlencoded (the default for a body), escaped as
// a JSON string when it is JSON, and inserted as is otherwise. Header
// values get the raw value.
func Placeholders() []string {
	return []string{"fqdn", "ip", "ipv4", "ipv6", "username", "password", "prefix"}
}

var (
	// placeholderPattern finds {name} in templates; unknown names are an
	// error in ValidateSettings and left alone by Send.
	placeholderPattern = regexp.MustCompile(`\{[A-Za-z0-9_]+\}`)
	// headerName is an RFC 9110 token.
	headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	// statusRange is "200" or "200-299".
	statusRange = regexp.MustCompile(`^\s*([1-5][0-9][0-9])\s*(?:-\s*([1-5][0-9][0-9])\s*)?$`)
)

const (
	// maxTemplateAnswerBytes bounds what is read of an answer, and so what
	// the success pattern sees: enough for Namecheap's XML (a few hundred
	// bytes), little enough that the pattern is no oracle over a page
	// behind an address someone pointed a service at.
	maxTemplateAnswerBytes = 4 << 10
	maxTemplateBytes       = 16 << 10
	maxTemplateHeaders     = 32
	maxSuccessRegexp       = 1000
	formContentType        = "application/x-www-form-urlencoded"
)

// headersNotSettable are set by the HTTP client itself.
var headersNotSettable = map[string]bool{
	"host": true, "content-length": true, "transfer-encoding": true, "connection": true,
	"upgrade": true, "te": true, "trailer": true, "keep-alive": true, "proxy-connection": true,
}

// ProtocolHTTP is the http protocol's name.
const ProtocolHTTP = "http"

// httpTemplate is the http protocol: one request per delivery, built from
// templates, judged by a success rule.
type httpTemplate struct {
	// client must set its own timeouts and return http.ErrUseLastResponse
	// from CheckRedirect: a moved endpoint must be looked at by an admin,
	// not chased with the record's password in its URL.
	client *http.Client
	// userAgent is sent unless the service sets its own User-Agent header.
	userAgent string
}

// NewHTTPTemplate is the http protocol.
func NewHTTPTemplate(d Deps) Provider {
	d = d.withDefaults()
	return Adapt[httpSettings](httpTemplate{client: d.HTTP, userAgent: d.UserAgent})
}

func (httpTemplate) Describe() Description {
	return Description{
		Protocol: ProtocolHTTP, Title: "HTTP request from templates",
		Summary: "One request per delivery built from templates with {fqdn}, {ip}, {ipv4}, {ipv6}, {username}, {password} and {prefix}; " +
			"success is a status range and an optional pattern over the answer.",
		Settings: []Field{
			{Key: "method", Type: FieldChoice, Label: "Method", Default: "GET", Choices: []string{"GET", "POST", "PUT", "PATCH"}},
			{Key: "url", Type: FieldTemplate, Label: "URL", Required: true, Destination: true,
				Help: "The request URL template, e.g. https://www.duckdns.org/update?domains={fqdn}&token={password}&ip={ip}."},
			{Key: "url_ipv6", Type: FieldTemplate, Label: "URL for IPv6", Destination: true,
				Help: "Replaces the URL for IPv6 deliveries, for providers that take each family in its own parameter."},
			{Key: "headers", Type: FieldHeaders, Label: "Headers", Help: "Extra request headers; values are templates."},
			{Key: "body", Type: FieldTemplate, Label: "Body", Help: "Request body template (not with GET)."},
			{Key: "basic_auth", Type: FieldBoolean, Label: "Basic authentication", Default: false,
				Help: "Send the record's username and password as HTTP Basic."},
			{Key: "success_status", Type: FieldString, Label: "Success status", Default: "200-299",
				Help: "The statuses that can mean success: a range such as 200-299 or one status such as 200."},
			{Key: "success_regexp", Type: FieldString, Label: "Success pattern",
				Help: "A regular expression (RE2) the answer's body (its first 4 KiB) must also match, e.g. ^OK."},
		},
		RecordUsername: &Prompt{Label: "Username", Help: "Filled in for {username}, and sent as Basic authentication with basic_auth."},
		RecordPassword: &Prompt{Label: "Password", Help: "Filled in for {password}, and sent as Basic authentication with basic_auth."},
		Families:       netcalc.Families(),
		Together:       TogetherBySettings,
	}
}

// successRule says which answers mean delivered.
type successRule struct {
	min, max int
	re       *regexp.Regexp
}

func (s httpSettings) successRule() (successRule, error) {
	r := successRule{min: 200, max: 299}
	if s.SuccessStatus != "" {
		m := statusRange.FindStringSubmatch(s.SuccessStatus)
		if m == nil {
			return r, errors.New(`must be a status or a range of statuses between 100 and 599, e.g. "200" or "200-299"`)
		}
		r.min, _ = strconv.Atoi(m[1])
		r.max = r.min
		if m[2] != "" {
			r.max, _ = strconv.Atoi(m[2])
		}
		if r.max < r.min {
			return r, errors.New("the range must go from low to high, e.g. 200-299")
		}
	}
	if s.SuccessRegexp != "" {
		if len(s.SuccessRegexp) > maxSuccessRegexp {
			return r, errors.New("success_regexp is too long (at most 1000 characters)")
		}
		re, err := regexp.Compile(s.SuccessRegexp)
		if err != nil {
			return r, errors.New("success_regexp does not compile: " + err.Error())
		}
		r.re = re
	}
	return r, nil
}

// Send makes one request, then HTTP status and body decide. A status in
// the success range whose body matches the success pattern (if any) is
// delivered; 429 and 5xx are retried (with Retry-After); redirects, other
// statuses and bodies that do not match fail with the answer kept
// (truncated, redacted) for the admin to read.
func (p httpTemplate) Send(ctx context.Context, r Request[httpSettings]) Outcome {
	s := r.Settings
	vals := templateValues(r)
	red := newRedactor("", r.Username, r.Password)
	if r.Password != "" {
		red.add(escapeURLValue(r.Password), jsonEscape(r.Password))
	}
	rule, err := s.successRule()
	if err != nil {
		return Outcome{Result: Failed, Message: "service success rule: " + err.Error()}
	}
	if !r.Address().IsValid() || !r.Family.Valid() {
		return Outcome{Result: Failed, Message: "no address to send"}
	}

	tmpl := s.URL
	if r.Family == netcalc.V6 && s.URLIPv6 != "" {
		tmpl = s.URLIPv6
	}
	target := expand(tmpl, vals, escapeURLValue)
	if msg := checkExpandedURL(target); msg != "" {
		return Outcome{Result: Failed, Message: "service url " + msg, Advice: "check the service's URL"}
	}
	method := strings.ToUpper(s.Method)
	if method == "" {
		method = http.MethodGet
	}
	contentType := headerValue(s.Headers, "Content-Type")
	var body io.Reader
	if s.Body != "" {
		if method == http.MethodGet {
			return Outcome{Result: Failed, Message: "service body is set but the method is GET"}
		}
		if contentType == "" {
			contentType = formContentType
		}
		body = strings.NewReader(expand(s.Body, vals, bodyEscaper(contentType)))
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return Outcome{Result: Failed, Message: red.message("invalid request: " + errText(err))}
	}
	req.Header.Set("User-Agent", p.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	for _, name := range sortedKeys(s.Headers) {
		v := expand(s.Headers[name], vals, func(v string) string { return v })
		if strings.ContainsFunc(v, isControl) {
			return Outcome{Result: Failed, Message: "header " + name + ": a value put in it contains a line break or another control character"}
		}
		req.Header.Set(name, v)
	}
	if s.BasicAuth {
		req.SetBasicAuth(r.Username, r.Password)
	}

	resp, answer, out := exchange(ctx, p.client, req, maxTemplateAnswerBytes, "", red)
	if out != nil {
		return *out
	}
	m, text := classifyHTTPTemplate(resp.StatusCode, resp.Header.Get("Location"), string(answer), rule, red.answer)
	return Outcome{Result: m.Result, Message: red.message(text), Advice: m.Advice, Answer: red.detail(string(answer)),
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
}

// Check cannot ask a home-made endpoint anything without sending an
// update.
func (httpTemplate) Check(_ context.Context, _ CheckRequest[httpSettings]) []Step {
	return []Step{{Name: "credentials accepted", Status: StepUnchecked,
		Detail: "a templated request cannot be sent without updating the record; the first delivery tells"}}
}

// Destinations are the origins of both URL templates: validation keeps
// placeholders out of their hosts and ports.
func (httpTemplate) Destinations(s httpSettings) []string {
	out := []string{origin(expand(s.URL, validationValues, escapeURLValue))}
	if s.URLIPv6 != "" {
		out = append(out, origin(expand(s.URLIPv6, validationValues, escapeURLValue)))
	}
	return out
}

// classifyHTTPTemplate applies the success rule to an answer and returns
// the result and the message text, which quotes the answer and the
// Location header only through shown (redactor.answer).
func classifyHTTPTemplate(status int, location, body string, rule successRule, shown func(string) string) (Meaning, string) {
	label := "HTTP " + strconv.Itoa(status)
	text, location := shown(body), shown(location)
	withBody := label + ": " + text
	if text == "" {
		withBody = label + ": " + http.StatusText(status)
	}
	inRange := status >= rule.min && status <= rule.max
	m := HTTPStatus(status, AdviceRecordCredentials)
	switch {
	case inRange && (rule.re == nil || rule.re.MatchString(body)):
		return Meaning{Result: Delivered}, withBody
	case inRange:
		return Meaning{Result: Failed, Advice: "the answer is not what the service's success pattern expects: read it"},
			withBody + " (does not match the success pattern)"
	case status >= 300 && status < 400:
		if location == "" {
			return m, label + ": redirect not followed"
		}
		return m, label + ": redirect to " + location + " not followed"
	case m.Result == Delivered:
		// A 2xx outside the success range.
		return Meaning{Result: Failed, Advice: AdviceRefused}, withBody
	}
	return m, withBody
}

// Combines: a template that places both an IPv4 and an IPv6 value (and
// no separate IPv6 URL) publishes both families at once.
func (httpTemplate) Combines(s httpSettings) bool {
	if s.URLIPv6 != "" {
		return false
	}
	all := s.URL + s.Body
	for _, v := range s.Headers {
		all += v
	}
	return strings.Contains(all, "{ipv4}") && (strings.Contains(all, "{ipv6}") || strings.Contains(all, "{prefix}"))
}

// templateValues are the placeholder values of one delivery, unescaped.
func templateValues(r Request[httpSettings]) map[string]string {
	vals := map[string]string{"fqdn": r.FQDN, "username": r.Username, "password": r.Password,
		"ip": "", "ipv4": "", "ipv6": "", "prefix": ""}
	set := func(a netip.Addr) {
		switch a = a.WithZone(""); {
		case a.Unmap().Is4():
			vals["ipv4"] = a.Unmap().String()
		case a.Is6():
			vals["ipv6"] = a.String()
			vals["prefix"] = netip.PrefixFrom(a, 64).Masked().String()
		}
	}
	if a := r.OtherAddress(); a.IsValid() {
		set(a)
	}
	if a := r.Address(); a.IsValid() {
		set(a)
		vals["ip"] = vals["ipv"+strconv.Itoa(int(r.Family))]
	}
	return vals
}

// expand replaces known placeholders with their escaped values and leaves
// anything else (JSON braces, unknown names) alone.
func expand(tmpl string, vals map[string]string, escape func(string) string) string {
	return placeholderPattern.ReplaceAllStringFunc(tmpl, func(m string) string {
		v, ok := vals[m[1:len(m)-1]]
		if !ok {
			return m
		}
		return escape(v)
	})
}

// escapeURLValue percent-encodes every byte but RFC 3986's unreserved
// characters, which is safe in any part of a URL: path, query, userinfo.
func escapeURLValue(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// bodyEscaper picks how values are inserted into a body of this type.
func bodyEscaper(contentType string) func(string) string {
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	switch {
	case ct == formContentType:
		return url.QueryEscape
	case ct == "application/json" || strings.HasSuffix(ct, "+json"):
		return jsonEscape
	}
	return func(v string) string { return v }
}

// jsonEscape is v as the inside of a JSON string.
func jsonEscape(v string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	out := strings.TrimSuffix(buf.String(), "\n")
	return out[1 : len(out)-1]
}

func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func isControl(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }

// checkExpandedURL returns why an expanded URL template is unusable, or "".
func checkExpandedURL(s string) string {
	if msg := egress.CheckURLText(s); msg != "" {
		return msg
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "is not a valid URL once its placeholders are filled in"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an http or https URL"
	case u.Host == "" || u.Hostname() == "":
		return "must name a host"
	}
	return ""
}

// hostTemplated tells whether a URL template has a placeholder in its host
// or port (a user name and password before "@" may be templated).
func hostTemplated(tmpl string) bool {
	_, rest, ok := strings.Cut(tmpl, "://")
	if !ok {
		return false
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	return strings.Contains(rest, "{")
}

// validationValues fill templates during validation; they hold the
// characters that break URLs when not escaped.
var validationValues = map[string]string{
	"fqdn": "host.example.org", "ip": "2001:db8::1", "ipv4": "192.0.2.1", "ipv6": "2001:db8::1",
	"username": "user@example.org", "password": "p@ss:w/rd?&x=#%", "prefix": "2001:db8::/64",
}

// Validate checks the templates: placeholders, hosts spelled out, no
// literal password, headers that can be sent, a success rule that parses.
func (httpTemplate) Validate(s httpSettings, _ Has) []FieldError {
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "settings." + field, Message: msg}) }
	known := map[string]bool{}
	for _, p := range Placeholders() {
		known[p] = true
	}
	usesAddress := false
	checkPlaceholders := func(field, tmpl string) bool {
		ok := true
		for _, m := range placeholderPattern.FindAllString(tmpl, -1) {
			name := m[1 : len(m)-1]
			switch {
			case known[name]:
				if name == "ip" || name == "ipv4" || name == "ipv6" || name == "prefix" {
					usesAddress = true
				}
			case known[strings.ToLower(name)]:
				add(field, "placeholder "+m+" must be written in lowercase")
				ok = false
			default:
				add(field, "unknown placeholder "+m+"; known: {"+strings.Join(Placeholders(), "}, {")+"}")
				ok = false
			}
		}
		return ok
	}
	checkURL := func(field, tmpl string, required bool) {
		if tmpl == "" {
			if required {
				add(field, "is required")
			}
			return
		}
		if len(tmpl) > maxTemplateBytes {
			add(field, "is too long")
			return
		}
		if msg := egress.CheckURLText(tmpl); msg != "" {
			add(field, msg)
			return
		}
		if !checkPlaceholders(field, tmpl) {
			return
		}
		if hostTemplated(tmpl) {
			add(field, "must spell out its host and port: a placeholder there would decide where the record's password goes")
			return
		}
		expanded := expand(tmpl, validationValues, escapeURLValue)
		if msg := checkExpandedURL(expanded); msg != "" {
			add(field, msg)
			return
		}
		u, _ := url.Parse(expanded)
		if pw, ok := u.User.Password(); ok && pw != validationValues["password"] {
			add(field, "must not contain a literal password: it would be stored in clear; use {password} and set it on the records (encrypted)")
		}
		if u.Fragment != "" {
			add(field, "must not have a #fragment")
		}
	}

	method := strings.ToUpper(s.Method)
	switch method {
	case "", http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		add("method", "must be GET, POST, PUT or PATCH")
	}
	checkURL("url", s.URL, true)
	checkURL("url_ipv6", s.URLIPv6, false)
	if len(s.Headers) > maxTemplateHeaders {
		add("headers", "too many headers (at most 32)")
	}
	for _, name := range sortedKeys(s.Headers) {
		field := "headers." + name
		v := s.Headers[name]
		switch {
		case !headerName.MatchString(name):
			add(field, "is not a valid header name")
		case headersNotSettable[strings.ToLower(name)]:
			add(field, "is set by the HTTP client and cannot be set here")
		case strings.ContainsFunc(v, isControl):
			add(field, "must not contain line breaks or control characters")
		case len(v) > maxTemplateBytes:
			add(field, "is too long")
		default:
			checkPlaceholders(field, v)
		}
	}
	if s.Body != "" {
		if method == "" || method == http.MethodGet {
			add("body", "is only sent with POST, PUT or PATCH")
		}
		if len(s.Body) > maxTemplateBytes {
			add("body", "is too long (at most 16 KiB)")
		} else {
			checkPlaceholders("body", s.Body)
		}
	}
	if _, err := (httpSettings{SuccessStatus: s.SuccessStatus}).successRule(); err != nil {
		add("success_status", err.Error())
	}
	if _, err := (httpSettings{SuccessRegexp: s.SuccessRegexp}).successRule(); err != nil {
		add("success_regexp", strings.TrimPrefix(err.Error(), "success_regexp "))
	}
	if !usesAddress && s.URL != "" {
		add("url", "uses no address placeholder ({ip}, {ipv4}, {ipv6} or {prefix}) in the URL, headers or body: the upstream would not learn the address")
	}
	return errs
}
