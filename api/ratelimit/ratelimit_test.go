package ratelimit

import (
	"testing"
	"time"
)

func TestHeaderRoundsUpToWholeSecondsAtLeastOne(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "1", 0: "1", time.Millisecond: "1", time.Second: "1",
		1500 * time.Millisecond: "2", 2 * time.Second: "2", time.Hour: "3600",
	} {
		if got := Header(d); got != want {
			t.Errorf("Header(%s) = %q, want %q", d, got, want)
		}
	}
}
