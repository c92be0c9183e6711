package notify

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/egress"
)

// Heartbeat states: what a monitor was told last.
const (
	HeartbeatOK   = "ok"
	HeartbeatFail = "fail"
)

// FailURL is where a heartbeat reports failure when no failure URL was
// given: the ping URL with "/fail" appended to its path, as
// healthchecks.io expects.
func FailURL(ping string) string {
	u, err := url.Parse(ping)
	if err != nil {
		return ping
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/fail"
	u.RawPath = ""
	return u.String()
}

// CheckHeartbeatURL accepts what a heartbeat can call: an absolute http(s)
// URL (egress.CheckURL), and returns what may be shown of it (ShownURL).
func CheckHeartbeatURL(s string) (shown string, err error) {
	if err := egress.CheckURL(s); err != nil {
		return "", err
	}
	return ShownURL(s), nil
}

// ShownURL is what may be shown of an http(s) URL that can hold a token in
// its path or query: its scheme and server.
func ShownURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Heartbeats pings each heartbeat whose monitor should hear from the
// broker now: "ok" when its interval has passed or a delivery succeeded
// since the last ping, "fail" at once when a record (of its host, or any
// for the broker's) is failed or blocked, and again each interval while
// that lasts. It returns how many it pinged.
func (n *Notifier) Heartbeats(ctx context.Context, now time.Time) (int, error) {
	statuses, err := n.store.HeartbeatStatuses(ctx)
	if err != nil {
		return 0, err
	}
	pinged := 0
	for _, s := range statuses {
		state := HeartbeatOK
		if s.Failing {
			state = HeartbeatFail
		}
		due := s.LastPingAt == nil || state != s.LastState || now.Sub(*s.LastPingAt) >= s.Every || (state == HeartbeatOK && s.Delivered)
		if !due {
			continue
		}
		ok, err := n.store.ClaimHeartbeatPing(ctx, s.ID, s.LastPingAt, state)
		if err != nil || !ok {
			if err != nil {
				return pinged, err
			}
			continue // another replica pinged it
		}
		msg := ""
		target, err := n.box.Open(s.URL, s.URLKey)
		if err == nil && state == HeartbeatFail {
			if s.FailURL != nil {
				target, err = n.box.Open(s.FailURL, s.FailURLKey)
			} else {
				target = FailURL(target)
			}
		}
		if err != nil {
			msg = "the heartbeat's URL cannot be decrypted (was the server's secret key changed?); set it again"
		} else if res := n.sender.Send(ctx, Request{Method: "GET", URL: target}); !res.Delivered {
			msg = res.Reason
		}
		if err := n.store.RecordHeartbeatPing(ctx, s.ID, msg); err != nil {
			return pinged, err
		}
		if msg != "" {
			n.log.Info("heartbeat not reached; will retry", "heartbeat", s.ID, "state", state, "message", msg)
		}
		pinged++
	}
	return pinged, nil
}
