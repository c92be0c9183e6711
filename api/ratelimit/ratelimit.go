// Package ratelimit holds what every limit on callers answers with: a
// login, a router's authentication or a service test refused for now
// (auth decides, dyndns2 and rest answer 429 with Retry-After). It has no
// dependencies so that the protocol packages can name it.
package ratelimit

import (
	"fmt"
	"strconv"
	"time"
)

// Error means the caller has used up its allowance; it may try again
// after RetryAfter (answered rounded up to whole seconds).
type Error struct{ RetryAfter time.Duration }

func (e *Error) Error() string {
	return fmt.Sprintf("rate limited: too many attempts, retry after %s", e.RetryAfter.Round(time.Second))
}

// Header is d as a Retry-After value: whole seconds, rounded up, at
// least 1 (a client told 0 would retry at once).
func Header(d time.Duration) string {
	return strconv.FormatInt(int64(max((d+time.Second-1)/time.Second, 1)), 10)
}
