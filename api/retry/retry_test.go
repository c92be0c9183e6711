package retry

import (
	"testing"
	"time"
)

// TestBackoffDoublesToCeilingWithJitter checks each attempt's delay stays
// within ±20 % of base·2^(attempt-1) capped at ceiling, and that the jitter
// actually varies the delay.
func TestBackoffDoublesToCeilingWithJitter(t *testing.T) {
	base, ceiling := 30*time.Second, time.Hour
	for attempt, want := range map[int]time.Duration{
		0: 30 * time.Second, 1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute,
		7: 32 * time.Minute, 8: time.Hour, 20: time.Hour, 2000: time.Hour,
	} {
		lo, hi := time.Duration(float64(want)*0.8), time.Duration(float64(want)*1.2)
		seen := map[time.Duration]bool{}
		for range 50 {
			d := Backoff(attempt, base, ceiling)
			if d < lo || d > hi {
				t.Fatalf("Backoff(%d) = %s, want within [%s, %s]", attempt, d, lo, hi)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("Backoff(%d) gave the same delay 50 times: no jitter", attempt)
		}
	}
}
