package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/ddnsbroker/ddnsbroker/api/egress"
)

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
		return FieldError{Field: "settings." + te.Field, Message: "must be a JSON " + jsonKind(te.Type.Kind().String())}
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

// settingsMap reads settings as an object of raw values; nil when they
// are not one.
func settingsMap(raw json.RawMessage) map[string]json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return map[string]json.RawMessage{}
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	return m
}

// withoutKeys is raw without the given keys, for the protocol's own
// decoding; raw as it is when it is not an object.
func withoutKeys(raw json.RawMessage, keys ...string) json.RawMessage {
	m := settingsMap(raw)
	if m == nil {
		return raw
	}
	found := false
	for _, k := range keys {
		if _, ok := m[k]; ok {
			delete(m, k)
			found = true
		}
	}
	if !found {
		return raw
	}
	b, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return b
}

// checkEndpointURL returns why s is not a usable service endpoint, or "".
func checkEndpointURL(s string, required bool) string {
	err := egress.CheckURL(s)
	switch {
	case s == "" && !required:
		return ""
	case s == "":
		return "is required"
	case errors.Is(err, egress.ErrURLUserinfo):
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

// SplitServer checks a host:port server address (a DNS server, a
// resolver) and returns its parts.
func SplitServer(s string) (string, int, error) {
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
