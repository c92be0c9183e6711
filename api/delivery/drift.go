package delivery

import (
	"encoding/json"
	"errors"
	"time"
)

// DriftSettings are the settings keys every protocol accepts: the drift
// check, which compares what DNS publishes with what was delivered. They
// are embedded in each protocol's settings struct, so that unknown-key
// checking knows them.
type DriftSettings struct {
	// DriftResolver is the host:port of a DNS resolver (or of the zone's
	// authoritative server) to ask for each record's A/AAAA. Empty: the
	// drift check is off.
	DriftResolver string `json:"drift_resolver,omitempty"`
	// DriftInterval is how often to check, a Go duration such as "15m",
	// 1m..24h; default 1h.
	DriftInterval string `json:"drift_interval,omitempty"`
}

// Drift check intervals.
const (
	DefaultDriftInterval = time.Hour
	MinDriftInterval     = time.Minute
	MaxDriftInterval     = 24 * time.Hour
)

// Drift is a service's drift check, parsed.
type Drift struct {
	Resolver string        // host:port; empty: off
	Interval time.Duration // set when Resolver is
}

// ParseDrift reads the drift check from stored settings, whatever the
// protocol. A service without a resolver has it off (zero Drift, nil
// error); an error means the settings are unreadable or the values wrong.
func ParseDrift(settings json.RawMessage) (Drift, error) {
	var s DriftSettings
	if err := readSettings(settings, &s); err != nil {
		return Drift{}, err
	}
	if s.DriftResolver == "" {
		return Drift{}, nil
	}
	if _, _, err := splitServer(s.DriftResolver); err != nil {
		return Drift{}, errors.New("drift_resolver " + err.Error())
	}
	iv, msg := parseDriftInterval(s.DriftInterval)
	if msg != "" {
		return Drift{}, errors.New("drift_interval " + msg)
	}
	return Drift{Resolver: s.DriftResolver, Interval: iv}, nil
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

// validateDrift checks the drift keys for ValidateSettings. It stays
// quiet when the settings could not be decoded at all (errs already says
// why, e.g. a drift key of the wrong type) and about a key errs already
// names.
func validateDrift(raw json.RawMessage, errs []FieldError) []FieldError {
	seen := map[string]bool{}
	for _, e := range errs {
		seen[e.Field] = true
	}
	var s DriftSettings
	if seen["settings"] || readSettings(raw, &s) != nil {
		return nil
	}
	var out []FieldError
	if s.DriftResolver != "" && !seen["settings.drift_resolver"] {
		if _, _, err := splitServer(s.DriftResolver); err != nil {
			out = append(out, FieldError{Field: "settings.drift_resolver", Message: err.Error()})
		}
	}
	if s.DriftInterval != "" && !seen["settings.drift_interval"] {
		if _, msg := parseDriftInterval(s.DriftInterval); msg != "" {
			out = append(out, FieldError{Field: "settings.drift_interval", Message: msg})
		}
	}
	return out
}
