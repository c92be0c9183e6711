package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Adapt turns a Protocol into the Provider the registry holds: it decodes
// the stored settings into S for every call, and gives every protocol the
// same checks of what Describe declares (required settings, choices,
// ranges, the credential), of the drift check's keys, and the same
// destinations of its Destination settings.
func Adapt[S any](p Protocol[S]) Provider {
	d := p.Describe()
	d.Settings = append(slices.Clone(d.Settings), driftFields()...)
	return &adapter[S]{p: p, desc: d}
}

type adapter[S any] struct {
	p    Protocol[S]
	desc Description
}

func (a *adapter[S]) Name() string { return a.desc.Protocol }

// Describe returns a copy: callers may change it.
func (a *adapter[S]) Describe() Description {
	d := a.desc
	d.Settings = slices.Clone(d.Settings)
	d.Families = slices.Clone(d.Families)
	return d
}

// read decodes stored settings leniently (see readSettings), without the
// keys every protocol shares.
func (a *adapter[S]) read(raw json.RawMessage) (S, error) {
	var s S
	err := readSettings(withoutKeys(raw, DriftResolverKey, DriftIntervalKey), &s)
	return s, err
}

func (a *adapter[S]) Validate(raw json.RawMessage, has Has) []FieldError {
	m := settingsMap(raw)
	var s S
	errs := decodeSettings(withoutKeys(raw, DriftResolverKey, DriftIntervalKey), &s)
	if errs == nil {
		has.DriftCheck = driftCheckOn(m)
		errs = a.p.Validate(s, has)
		errs = append(errs, notNamed(errs, a.declared(m))...)
	}
	if m != nil {
		errs = append(errs, notNamed(errs, validateDrift(m))...)
	}
	switch c := a.desc.Credential; {
	case c != nil && !has.Credential:
		errs = append(errs, FieldError{Field: "credential", Message: "is required: the " + lowerFirst(c.Label)})
	case c == nil && has.Credential:
		errs = append(errs, FieldError{Field: "credential", Message: a.desc.Protocol +
			" services have no credential of their own; each record carries its username and password"})
	}
	return errs
}

// declared checks settings against what Describe says of them. A protocol's
// own message about a field wins (notNamed), so these are what a new
// protocol gets without writing them.
func (a *adapter[S]) declared(m map[string]json.RawMessage) []FieldError {
	var errs []FieldError
	for _, f := range a.desc.Settings {
		v, ok := m[f.Key]
		set := ok && string(v) != "null" && string(v) != `""`
		field := "settings." + f.Key
		switch {
		case !set:
			if f.Required {
				errs = append(errs, FieldError{Field: field, Message: "is required"})
			}
		case f.Type == FieldChoice:
			var s string
			if json.Unmarshal(v, &s) == nil && !slices.ContainsFunc(f.Choices, func(c string) bool { return strings.EqualFold(c, s) }) {
				errs = append(errs, FieldError{Field: field, Message: "must be one of " + strings.Join(f.Choices, ", ")})
			}
		case f.Type == FieldInteger && (f.Min != nil || f.Max != nil):
			var n int
			if json.Unmarshal(v, &n) == nil && (f.Min != nil && n < *f.Min || f.Max != nil && n > *f.Max) {
				errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf("must be %s..%s", bound(f.Min), bound(f.Max))})
			}
		}
	}
	return errs
}

func bound(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

// notNamed keeps the errors of more whose field errs does not name yet.
func notNamed(errs, more []FieldError) []FieldError {
	var out []FieldError
	for _, e := range more {
		if !slices.ContainsFunc(errs, func(x FieldError) bool { return x.Field == e.Field }) {
			out = append(out, e)
		}
	}
	return out
}

// lowerFirst lowercases a label's first letter unless it starts an
// acronym ("API token" stays, "Secret key" becomes "secret key").
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	if next, _ := utf8.DecodeRuneInString(s[n:]); unicode.IsUpper(next) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

func (a *adapter[S]) ValidateCredential(credential string) []FieldError {
	var err error
	switch c, ok := a.p.(CredentialChecker); {
	case a.desc.Credential == nil:
		err = errors.New(a.desc.Protocol + " services have no credential of their own")
	case ok:
		err = c.CheckCredential(credential)
	default:
		err = checkAPIToken(credential)
	}
	if err != nil {
		return []FieldError{{Field: "credential", Message: err.Error()}}
	}
	return nil
}

func (a *adapter[S]) Send(ctx context.Context, r Request[json.RawMessage]) Outcome {
	s, err := a.read(r.Settings)
	if err != nil {
		red := newRedactor("", r.Username, r.Password)
		red.addSecret(r.Credential)
		return Outcome{Result: Failed, Message: red.message(err.Error())}
	}
	return a.p.Send(ctx, withSettings(r, s))
}

func (a *adapter[S]) Check(ctx context.Context, r CheckRequest[json.RawMessage]) []Step {
	s, err := a.read(r.Settings)
	if err != nil {
		return []Step{{Name: "settings readable", Status: StepFailed, Detail: err.Error()}}
	}
	return a.p.Check(ctx, CheckRequest[S]{FQDN: r.FQDN, Username: r.Username, Password: r.Password, Credential: r.Credential, Settings: s})
}

func (a *adapter[S]) Combines(raw json.RawMessage) bool {
	c, ok := a.p.(Combiner[S])
	if !ok {
		return a.desc.Together == TogetherAlways
	}
	s, err := a.read(raw)
	return err == nil && c.Combines(s)
}

func (a *adapter[S]) BatchSize(raw json.RawMessage) int {
	b, ok := a.p.(Batcher[S])
	if !ok {
		return 1
	}
	s, err := a.read(raw)
	if err != nil {
		return 1
	}
	return max(b.BatchSize(s), 1)
}

// SendBatch sends rs through the protocol's Batcher; a protocol without
// one, or a single request, goes through Send.
func (a *adapter[S]) SendBatch(ctx context.Context, rs []Request[json.RawMessage]) []Outcome {
	b, ok := a.p.(Batcher[S])
	if !ok || len(rs) == 1 {
		outs := make([]Outcome, len(rs))
		for i, r := range rs {
			outs[i] = a.Send(ctx, r)
		}
		return outs
	}
	s, err := a.read(rs[0].Settings)
	if err != nil {
		outs := make([]Outcome, len(rs))
		for i, r := range rs {
			red := newRedactor("", r.Username, r.Password)
			outs[i] = Outcome{Result: Failed, Message: red.message(err.Error())}
		}
		return outs
	}
	decoded := make([]Request[S], len(rs))
	for i, r := range rs {
		decoded[i] = withSettings(r, s)
	}
	return b.SendBatch(ctx, decoded)
}

func (a *adapter[S]) Destinations(raw json.RawMessage) []string {
	s, err := a.read(raw)
	if err != nil {
		return nil
	}
	var out []string
	if d, ok := a.p.(Destiner[S]); ok {
		out = d.Destinations(s)
	} else {
		m := settingsMap(raw)
		for _, f := range a.desc.Settings {
			if f.Destination {
				if dest := fieldDestination(f, m[f.Key]); dest != "" {
					out = append(out, dest)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// fieldDestination is where a Destination setting sends secrets: its
// value, or its default when absent.
func fieldDestination(f Field, raw json.RawMessage) string {
	v, _ := f.Default.(string)
	var set string
	if json.Unmarshal(raw, &set) == nil && set != "" {
		v = set
	}
	switch f.Type {
	case FieldURL:
		return origin(v)
	case FieldHostPort:
		if host, port, err := SplitServer(v); err == nil {
			return "dns://" + net.JoinHostPort(strings.ToLower(strings.TrimSuffix(host, ".")), strconv.Itoa(port))
		}
	}
	return ""
}

func (a *adapter[S]) DestinationKeys() []string {
	var keys []string
	for _, f := range a.desc.Settings {
		if f.Destination {
			keys = append(keys, f.Key)
		}
	}
	return keys
}

func (a *adapter[S]) Presets() []Preset {
	if p, ok := a.p.(Presetter); ok {
		return p.Presets()
	}
	return nil
}

// withSettings is r with its settings decoded.
func withSettings[S any](r Request[json.RawMessage], s S) Request[S] {
	return Request[S]{FQDN: r.FQDN, Family: r.Family, Addresses: r.Addresses, Delivered: r.Delivered, KeepOthers: r.KeepOthers,
		Other: r.Other, Username: r.Username, Password: r.Password, Credential: r.Credential, Settings: s}
}
