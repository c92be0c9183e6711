package provider

import (
	"encoding/json"
	"errors"
	"time"
)

// The settings keys every protocol accepts: the drift check's, which
// compares what DNS publishes with what was delivered (api/drift). The
// registry takes them out before a protocol decodes its settings and
// checks them itself.
const (
	// DriftResolverKey is the host:port of a DNS resolver (or of the zone's
	// authoritative server) to ask for each record's A/AAAA. Empty: the
	// drift check is off.
	DriftResolverKey = "drift_resolver"
	// DriftIntervalKey is how often to check, a Go duration such as "15m",
	// 1m..24h; default 1h.
	DriftIntervalKey = "drift_interval"
)

// driftSettings are the drift keys, decoded.
type driftSettings struct {
	Resolver string `json:"drift_resolver,omitempty"`
	Interval string `json:"drift_interval,omitempty"`
}

// Drift check intervals.
const (
	DefaultDriftInterval = time.Hour
	MinDriftInterval     = time.Minute
	MaxDriftInterval     = 24 * time.Hour
)

// driftFields describe the drift keys; every Description ends with them.
func driftFields() []Field {
	return []Field{
		{Key: DriftResolverKey, Type: FieldHostPort, Label: "Drift check resolver",
			Help: "host:port of a DNS resolver or of the zone's authoritative server, asked for each delivered record's A/AAAA; " +
				"when it publishes another address, the delivery is queued again. Empty: no drift check."},
		{Key: DriftIntervalKey, Type: FieldDuration, Label: "Drift check interval", Default: "1h",
			Help: "How often the drift check runs, a duration such as 15m or 1h, 1m..24h."},
	}
}

// Drift is a service's drift check, parsed.
type Drift struct {
	Resolver string        // host:port; empty: off
	Interval time.Duration // set when Resolver is
}

// ParseDrift reads the drift check from stored settings, whatever the
// protocol. A service without a resolver has it off (zero Drift, nil
// error); an error means the settings are unreadable or the values wrong.
func ParseDrift(settings json.RawMessage) (Drift, error) {
	var s driftSettings
	if err := readSettings(settings, &s); err != nil {
		return Drift{}, err
	}
	if s.Resolver == "" {
		return Drift{}, nil
	}
	if _, _, err := SplitServer(s.Resolver); err != nil {
		return Drift{}, errors.New("drift_resolver " + err.Error())
	}
	iv, msg := parseDriftInterval(s.Interval)
	if msg != "" {
		return Drift{}, errors.New("drift_interval " + msg)
	}
	return Drift{Resolver: s.Resolver, Interval: iv}, nil
}

func parseDriftInterval(s string) (time.Duration, string) {
	if s == "" {
		return DefaultDriftInterval, ""
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, "must be a duration such as 15m or 1h"
	case d < MinDriftInterval || d > MaxDriftInterval:
		return 0, "must be between 1m and 24h"
	}
	return d, ""
}

// validateDrift checks the drift keys of settings that are an object:
// their types, then their values.
func validateDrift(m map[string]json.RawMessage) []FieldError {
	var out []FieldError
	var s driftSettings
	for _, k := range []struct {
		key string
		dst *string
	}{{DriftResolverKey, &s.Resolver}, {DriftIntervalKey, &s.Interval}} {
		if v, ok := m[k.key]; ok && json.Unmarshal(v, k.dst) != nil {
			out = append(out, FieldError{Field: "settings." + k.key, Message: "must be a JSON string"})
		}
	}
	if len(out) > 0 {
		return out
	}
	if s.Resolver != "" {
		if _, _, err := SplitServer(s.Resolver); err != nil {
			out = append(out, FieldError{Field: "settings." + DriftResolverKey, Message: err.Error()})
		}
	}
	if s.Interval != "" {
		if _, msg := parseDriftInterval(s.Interval); msg != "" {
			out = append(out, FieldError{Field: "settings." + DriftIntervalKey, Message: msg})
		}
	}
	return out
}

// driftCheckOn tells whether settings set a drift resolver.
func driftCheckOn(m map[string]json.RawMessage) bool {
	var r string
	return json.Unmarshal(m[DriftResolverKey], &r) == nil && r != ""
}
