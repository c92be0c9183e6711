package delivery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ddnsbroker/ddnsbroker/api/egress"
)

// Protocol names as stored in services.protocol.
const (
	ProtocolDyndns2    = "dyndns2"
	ProtocolRFC2136    = "rfc2136"
	ProtocolHTTP       = "http"
	ProtocolCloudflare = "cloudflare"
)

// ProtocolNames lists every protocol this version can deliver through, in
// the order a form offers them.
func ProtocolNames() []string {
	return []string{ProtocolDyndns2, ProtocolRFC2136, ProtocolHTTP, ProtocolCloudflare}
}

// Protocols is the dispatcher's protocol table, all announcing
// `ddnsbroker/<version>` where the protocol has a user agent. The HTTP
// protocols share hc (serve's: egress.NewClient with the configured
// destination policy; nil: newUpstreamHTTPClient).
func Protocols(version string, hc *http.Client) map[string]Protocol {
	if hc == nil {
		hc = newUpstreamHTTPClient()
	}
	return map[string]Protocol{
		ProtocolDyndns2:    Dyndns2{Client: NewDyndns2ClientWith(hc, version)},
		ProtocolRFC2136:    &RFC2136{},
		ProtocolHTTP:       NewHTTPTemplate(hc, version),
		ProtocolCloudflare: NewCloudflare(hc, version),
	}
}

// FieldError is one problem with a service's settings or credential, for
// a field-level 422 answer. Field is a JSON path into the request:
// "protocol", "settings" (the object as a whole), "settings.<key>" or
// "credential".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// ValidateSettings checks a service's settings before they are stored, so
// a typo is answered at once instead of by a failed delivery later.
// hasCredential says whether the service has (or is being given) its own
// secret: rfc2136 needs its TSIG secret there, cloudflare its API token,
// and dyndns2 and http use none (their secrets belong to the records). No
// message quotes a value: settings may carry tokens in URLs.
func ValidateSettings(protocol string, settings json.RawMessage, hasCredential bool) []FieldError {
	var check func(json.RawMessage) []FieldError
	credential := ""
	switch protocol {
	case ProtocolDyndns2:
		check = validateDyndns2
	case ProtocolRFC2136:
		check, credential = validateRFC2136, "the TSIG secret (base64)"
	case ProtocolHTTP:
		check = validateHTTPTemplate
	case ProtocolCloudflare:
		check, credential = validateCloudflare, "the API token"
	default:
		return []FieldError{{Field: "protocol", Message: "must be one of " + strings.Join(ProtocolNames(), ", ")}}
	}
	errs := check(settings)
	errs = append(errs, validateDrift(settings, errs)...)
	switch {
	case credential != "" && !hasCredential:
		errs = append(errs, FieldError{Field: "credential", Message: "is required: " + credential})
	case credential == "" && hasCredential:
		errs = append(errs, FieldError{Field: "credential", Message: protocol +
			" services have no credential of their own; each record carries its username and password"})
	}
	return errs
}

// ValidateCredential checks the form of a service credential before it is
// sealed: a TSIG secret must be base64, an API token one printable word.
// The message never repeats the credential.
func ValidateCredential(protocol, credential string) []FieldError {
	var err error
	switch protocol {
	case ProtocolRFC2136:
		_, err = decodeTSIGSecret(credential)
	case ProtocolCloudflare:
		err = checkAPIToken(credential)
	case ProtocolDyndns2, ProtocolHTTP:
		err = errors.New(protocol + " services have no credential of their own")
	default:
		return []FieldError{{Field: "protocol", Message: "must be one of " + strings.Join(ProtocolNames(), ", ")}}
	}
	if err != nil {
		return []FieldError{{Field: "credential", Message: err.Error()}}
	}
	return nil
}

// decodeSettings reads settings into v, rejecting unknown keys (a typo
// would otherwise be silently ignored) and a body that is not one object.
// A missing or null body counts as {}.
func decodeSettings(raw json.RawMessage, v any) []FieldError {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	if raw[0] != '{' {
		return []FieldError{{Field: "settings", Message: "must be a JSON object"}}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return []FieldError{settingsDecodeError(err)}
	}
	return nil
}

// settingsDecodeError names the key a decoding error is about.
func settingsDecodeError(err error) FieldError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		// Keys of the embedded DriftSettings come with its Go name.
		return FieldError{Field: "settings." + strings.TrimPrefix(te.Field, "DriftSettings."), Message: "must be a JSON " + jsonKind(te.Type.Kind().String())}
	}
	const unknown = "json: unknown field "
	if msg := err.Error(); strings.HasPrefix(msg, unknown) {
		return FieldError{Field: "settings." + strings.Trim(strings.TrimPrefix(msg, unknown), `"`), Message: "is not a setting of this protocol"}
	}
	return FieldError{Field: "settings", Message: "is not valid JSON"}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	case "ptr":
		return "value"
	}
	return "number"
}

// readSettings decodes stored settings for Send: lenient about unknown
// keys (a newer version may have written them) but not about types.
func readSettings(raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("service settings are unreadable: %w", err)
	}
	return nil
}

// validateDyndns2 mirrors what Dyndns2 reads: an absolute http(s) URL
// without credentials (they belong to the records, encrypted).
func validateDyndns2(raw json.RawMessage) []FieldError {
	var s dyndns2Service
	if errs := decodeSettings(raw, &s); errs != nil {
		return errs
	}
	if msg := checkEndpointURL(s.URL, true); msg != "" {
		return []FieldError{{Field: "settings.url", Message: msg}}
	}
	return nil
}

// ErrURLUserinfo is CheckHTTPURL's answer to a URL with a user name or
// password in it; callers add where those belong instead.
var ErrURLUserinfo = errors.New("must not contain a user name or password")

// CheckHTTPURL accepts an absolute http(s) URL that names a host, without a
// user name, password or fragment, and without any space or control
// character anywhere (Go's parser lets some through, and they would be sent
// as they are): what every URL the broker calls (service endpoints,
// webhooks) must be. Its errors never quote the URL, whose query may hold a
// token; callers name the field.
func CheckHTTPURL(s string) error {
	if msg := checkURLText(s); msg != "" {
		return errors.New(msg)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("must be an http or https URL")
	case u.Opaque != "":
		return errors.New("must be an absolute URL such as https://host/path")
	case u.User != nil:
		return ErrURLUserinfo
	case u.Host == "" || u.Hostname() == "":
		return errors.New("must name a host")
	case !validURLHost(u.Hostname()):
		return errors.New("must name a host by a DNS name or an IP address")
	case u.Port() != "" && !validPort(u.Port()):
		return errors.New("has a port outside 1..65535")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return errors.New("must not have a #fragment")
	}
	return nil
}

// checkURLText returns why s cannot be a URL the broker sends, by its
// characters alone, or "".
func checkURLText(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "must not contain spaces, line breaks or control characters (percent-encode them)"
	}
	return ""
}

// validURLHost accepts an IP address (IPv6 without a zone) or a DNS name
// of letters, digits, hyphens and underscores.
func validURLHost(h string) bool {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Zone() == ""
	}
	return isHostName(strings.TrimSuffix(h, "."))
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// checkEndpointURL returns why s is not a usable service endpoint, or "".
func checkEndpointURL(s string, required bool) string {
	err := CheckHTTPURL(s)
	switch {
	case s == "" && !required:
		return ""
	case s == "":
		return "is required"
	case errors.Is(err, ErrURLUserinfo):
		return "must not contain a username or password: they are stored in clear; set them on the records (encrypted)"
	case err != nil:
		return err.Error()
	}
	return ""
}

// checkAPIToken accepts one word of printable ASCII: what providers issue,
// and nothing that could break a header.
func checkAPIToken(tok string) error {
	if tok == "" {
		return errors.New("is empty")
	}
	if len(tok) > 1024 {
		return errors.New("is too long (at most 1024 characters)")
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] >= 0x7f {
			return errors.New("must be one word of printable ASCII, without spaces")
		}
	}
	return nil
}

func userAgent(version string) string {
	if version == "" {
		version = "dev"
	}
	return "ddnsbroker/" + version
}

// newUpstreamHTTPClient is the outbound client of every protocol that a
// test or serve did not give one: the default destination policy, one
// request per attempt, no redirects, 30 s per request (egress.NewClient).
func newUpstreamHTTPClient() *http.Client {
	return egress.NewClient(egress.DefaultPolicy(), RequestTimeout)
}

// sortedKeys returns m's keys in order, so validation errors and requests
// come out the same every time.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
