package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/services/specialized/generic"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"

	"github.com/ddnsbroker/ddnsbroker/api/egress"
)

// Destinations are sent through Shoutrrr (github.com/nicholas-fedor/shoutrrr),
// which builds each service's HTTP or SMTP client itself: the egress
// dialer cannot be injected there. So the broker accepts only the schemes
// below and enforces the destination policy in two ways:
//
//   - serverSchemes name a server the admin chooses (ntfy, Gotify, SMTP,
//     Matrix, Mattermost): before each send its name is resolved and every
//     address is checked against the egress policy; a refused one fails the
//     attempt with the policy's reason. (A name that resolves differently
//     between the check and Shoutrrr's own lookup is not caught: DNS
//     rebinding stays possible for these schemes.)
//   - fixedSchemes always talk to their service's public API (Telegram,
//     Discord, Slack, Pushover, Teams): their URL holds tokens, not a
//     server, so it cannot point the broker at an internal address.
//
// generic:// (any JSON webhook) does not go through Shoutrrr's client at
// all: Shoutrrr only turns it into the endpoint's URL and the broker POSTs
// the JSON Payload with its own egress client, like a webhook.
var (
	serverSchemes = []string{"generic", "ntfy", "gotify", "smtp", "matrix", "mattermost"}
	fixedSchemes  = []string{"telegram", "discord", "slack", "pushover", "teams"}
)

// Schemes lists the destination schemes a channel can use.
func Schemes() []string { return slices.Concat(serverSchemes, fixedSchemes) }

// ErrDestination is CheckDestination's answer to a URL it does not take.
// Its text never quotes the URL: it holds the channel's credentials.
var ErrDestination = errors.New("not a destination the broker sends to")

// CheckDestination accepts a Shoutrrr URL of a supported scheme that
// Shoutrrr can configure a service from, and returns what may be shown of
// it: the scheme and, for a server the admin chose, the server's name
// ("ntfy://ntfy.example.net"); only the scheme for the others, whose
// "host" is a token.
func CheckDestination(raw string) (shown string, err error) {
	if len(raw) > 2048 {
		return "", fmt.Errorf("%w: longer than 2048 characters", ErrDestination)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("%w: not a URL of the form scheme://…", ErrDestination)
	}
	scheme := strings.ToLower(strings.SplitN(u.Scheme, "+", 2)[0])
	if !slices.Contains(Schemes(), scheme) {
		return "", fmt.Errorf("%w: the scheme must be one of %s", ErrDestination, strings.Join(Schemes(), ", "))
	}
	r, _ := router.New(nil)
	svc, err := r.Locate(raw)
	if err != nil {
		// Shoutrrr's errors quote the URL; say only which scheme failed.
		return "", fmt.Errorf("%w: Shoutrrr cannot read this %s:// URL (see its documentation for the %s format)", ErrDestination, scheme, scheme)
	}
	if g, ok := svc.(*generic.Service); ok {
		if err := egress.CheckURL(g.Config.WebhookURL().String()); err != nil {
			return "", fmt.Errorf("%w: the endpoint %s", ErrDestination, err.Error())
		}
	}
	if !slices.Contains(serverSchemes, scheme) || u.Hostname() == "" {
		return scheme + "://", nil
	}
	return scheme + "://" + u.Host, nil
}

// Message is what a channel is told: a short title and a text.
type Message struct {
	Title string
	Text  string
}

// Channels sends to Shoutrrr destinations under an egress policy.
type Channels struct {
	policy   egress.Policy
	resolver *net.Resolver
	webhooks *Sender // generic:// endpoints
}

// NewChannels builds the sender of Shoutrrr channels; webhooks (the
// egress client's Sender) POSTs to generic:// endpoints.
func NewChannels(policy egress.Policy, webhooks *Sender) *Channels {
	if webhooks == nil {
		webhooks = NewSender("", nil)
	}
	return &Channels{policy: policy, resolver: net.DefaultResolver, webhooks: webhooks}
}

// Send sends m to the destination raw. body is the JSON Payload a
// generic:// endpoint receives. A failure's Reason never holds the URL nor
// any part of it.
func (c *Channels) Send(ctx context.Context, raw, event, id string, body []byte, m Message) Result {
	start := time.Now()
	res := c.send(ctx, raw, event, id, body, m)
	res.Duration = time.Since(start)
	if !res.Delivered {
		res.Reason, res.Message = redact(res.Reason, raw), redact(res.Message, raw)
	}
	return res
}

func (c *Channels) send(ctx context.Context, raw, event, id string, body []byte, m Message) Result {
	fail := func(reason string) Result { return Result{Reason: reason, Message: reason} }
	u, err := url.Parse(raw)
	if err != nil {
		return fail("the destination URL cannot be read; set it again")
	}
	scheme := strings.ToLower(strings.SplitN(u.Scheme, "+", 2)[0])
	r, _ := router.New(nil)
	r.Timeout = Timeout
	svc, err := r.Locate(raw)
	if err != nil || !slices.Contains(Schemes(), scheme) {
		return fail("the destination URL is not accepted any more; set it again")
	}
	if g, ok := svc.(*generic.Service); ok {
		return c.webhooks.Send(ctx, Request{URL: g.Config.WebhookURL().String(), Event: event, ID: id, Body: body})
	}
	if slices.Contains(serverSchemes, scheme) {
		if reason := c.checkHost(ctx, u.Hostname()); reason != "" {
			return fail(reason)
		}
	}
	if err := r.AddService(raw); err != nil {
		return fail("the destination URL is not accepted any more; set it again")
	}
	errs := r.Send(m.Text, &types.Params{"title": m.Title})
	for _, err := range errs {
		if err != nil {
			return fail(describe(err))
		}
	}
	return Result{Delivered: true}
}

// checkHost resolves a server's name and returns why the policy refuses
// one of its addresses, or "".
func (c *Channels) checkHost(ctx context.Context, host string) string {
	if host == "" {
		return ""
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		lctx, cancel := context.WithTimeout(ctx, egress.DialTimeout)
		defer cancel()
		if addrs, err = c.resolver.LookupNetIP(lctx, "ip", host); err != nil {
			return "cannot resolve the destination's server"
		}
	}
	for _, a := range addrs {
		if err := c.policy.Check(a); err != nil {
			return "cannot connect: " + err.Error()
		}
	}
	return ""
}

// redact removes from s every part of the destination URL that could be
// a credential: user, password, path segments and query values (a
// service's error may quote the URL it posted to, token included).
func redact(s, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the destination could not be reached"
	}
	var parts []string
	if u.User != nil {
		parts = append(parts, u.User.Username())
		if p, ok := u.User.Password(); ok {
			parts = append(parts, p)
		}
	}
	scheme := strings.ToLower(strings.SplitN(u.Scheme, "+", 2)[0])
	if !slices.Contains(serverSchemes, scheme) {
		parts = append(parts, u.Host)
	}
	parts = append(parts, strings.Split(u.Path, "/")...)
	for _, vs := range u.Query() {
		parts = append(parts, vs...)
	}
	slices.SortFunc(parts, func(a, b string) int { return len(b) - len(a) })
	for _, p := range parts {
		if len(p) >= 4 {
			s = strings.ReplaceAll(s, p, "…")
			if e := url.PathEscape(p); e != p {
				s = strings.ReplaceAll(s, e, "…")
			}
		}
	}
	return s
}
