// Package retry holds the schedule by which failed work is tried again:
// deliveries to DNS services (delivery) and webhook notifications
// (notify) both wait by it, so a reader learns one rule.
package retry

import (
	"math"
	mrand "math/rand/v2"
	"time"
)

// DefaultBase and DefaultMax are the schedule's defaults: a first retry
// after half a minute, at most an hour between two attempts. Deliveries take
// them from DDNSBROKER_RETRY_BASE and DDNSBROKER_RETRY_MAX, whose defaults
// are these.
const (
	DefaultBase = 30 * time.Second
	DefaultMax  = time.Hour
)

// Backoff is the delay before retry number attempt+1: base doubling per
// attempt up to ceiling, with ±20 % jitter so that many jobs failing
// together do not retry in lockstep. Attempts below 1 wait base.
func Backoff(attempt int, base, ceiling time.Duration) time.Duration {
	exp := math.Pow(2, float64(max(attempt-1, 0)))
	delay := min(float64(base)*exp, float64(ceiling))
	return time.Duration(delay * (0.8 + 0.4*mrand.Float64()))
}
