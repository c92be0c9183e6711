// Package config reads DDnsBroker's settings from flags and DDNSBROKER_*
// environment variables and validates them, so that a bad value stops the
// start with one line naming the variable.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/delivery"
	"github.com/ddnsbroker/ddnsbroker/api/housekeeping"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
	"github.com/ddnsbroker/ddnsbroker/api/retry"
	"github.com/ddnsbroker/ddnsbroker/api/routersetup"
)

// Option is one setting: a flag and the environment variable behind it.
type Option struct {
	Name    string // flag name, e.g. "database-url"
	Default string
	Usage   string
	// File allows NAME_FILE / --NAME-file to hold the value (secrets).
	File bool
}

// Env is the environment variable of the option.
func (o Option) Env() string {
	return "DDNSBROKER_" + strings.ToUpper(strings.ReplaceAll(o.Name, "-", "_"))
}

// The options, shared between commands.
var (
	DatabaseURL = Option{Name: "database-url", Usage: "PostgreSQL connection URL (postgres://user:pass@host:port/db)", File: true}
	Listen      = Option{Name: "listen", Default: "127.0.0.1:8080", Usage: "address the HTTP server listens on (host:port)"}
	SecretKey   = Option{Name: "secret-key", Usage: "server secret (≥ 32 characters); encryption and signing keys are derived from it", File: true}
	Proxies     = Option{Name: "trusted-proxies", Usage: "comma-separated CIDRs whose X-Forwarded-For/X-Real-IP headers are believed"}
	LogLevel    = Option{Name: "log-level", Default: "info", Usage: "debug, info, warn or error"}
	LogFormat   = Option{Name: "log-format", Default: "text", Usage: "text or json"}
	AdminPass   = Option{Name: "admin-password", Usage: "password of the user admin created on the first start (random and logged when unset)", File: true}
	NoMigrate   = Option{Name: "no-migrate", Default: "false", Usage: "do not apply database migrations on start"}
	Workers     = Option{Name: "workers", Default: strconv.Itoa(delivery.DefaultWorkers), Usage: "deliveries sent in parallel by this process"}
	PerService  = Option{Name: "service-workers", Default: strconv.Itoa(delivery.DefaultPerService), Usage: "deliveries sent in parallel to one service"}
	RetryBase   = Option{Name: "retry-base", Default: durationText(retry.DefaultBase), Usage: "first delay before a failed delivery is retried; doubles per attempt"}
	RetryMax    = Option{Name: "retry-max", Default: durationText(retry.DefaultMax), Usage: "longest delay between delivery retries"}
	BlockFor    = Option{Name: "block-for", Default: durationText(delivery.DefaultBlockFor), Usage: "pause for a record whose provider answered abuse"}
	Lease       = Option{Name: "lease", Default: durationText(delivery.DefaultLease), Usage: "how long a claimed delivery stays with a process that stopped renewing it"}
	MetricsTok  = Option{Name: "metrics-token", Usage: "bearer token that /metrics requires on the main listener (unset: /metrics is not served there)", File: true}
	MetricsAddr = Option{Name: "metrics-listen", Usage: "separate address (host:port) serving /metrics without a token, e.g. 127.0.0.1:9100"}
	Retention   = Option{Name: "retention", Default: durationText(housekeeping.DefaultRetention), Usage: "how long events and finished deliveries are kept (90 days)"}
	StaleAfter  = Option{Name: "stale-after", Default: durationText(rest.DefaultStaleAfter), Usage: "a host not seen for this long is flagged stale (API, status) and reported to host.stale webhooks, unless the host has its own stale_after"}
	SourceV6    = Option{Name: "ipv6-source-prefix", Default: strconv.Itoa(auth.DefaultIPv6SourcePrefix), Usage: "IPv6 clients within one prefix of this length count as one source for failed-login limits and hashing fairness (32 to 128)"}
	PublicURL   = Option{Name: "public-url", Usage: "URL routers use to reach the broker, written into the router setup (GET /api/v1/hosts/{id}/setup; default: the scheme and host each API request came in on)"}
	HostRecords = Option{Name: "max-records-per-host", Default: strconv.Itoa(rest.DefaultMaxRecordsPerHost), Usage: "most records one host may have (more are refused with 409)"}
	SvcRecords  = Option{Name: "max-records-per-service", Default: strconv.Itoa(rest.DefaultMaxRecordsPerService), Usage: "most records one service may have (more are refused with 409)"}
)

// Single sign-on through an OpenID Connect provider: on when the issuer is set.
var (
	OIDCIssuer     = Option{Name: "oidc-issuer", Usage: "OpenID Connect issuer URL for single sign-on (unset: no single sign-on); register <public URL>/api/v1/auth/oidc/callback as the redirect URI"}
	OIDCClientID   = Option{Name: "oidc-client-id", Usage: "client ID of the broker at the OpenID Connect provider"}
	OIDCSecret     = Option{Name: "oidc-client-secret", Usage: "client secret of the broker at the OpenID Connect provider", File: true}
	OIDCAdminGroup = Option{Name: "oidc-admin-group", Usage: "members of this group (the ID token's groups claim) are admins, everybody else signing in is a user (unset: all are users)"}
	OIDCName       = Option{Name: "oidc-name", Default: "single sign-on", Usage: `what the login page's button names: "Sign in with <name>"`}
)

// AllowTargets lifts the outbound destination policy (api/egress) for the
// networks it names.
var AllowTargets = Option{Name: "allow-targets", Usage: "comma-separated CIDRs that services and webhooks may reach although they are link-local (169.254.0.0/16, fe80::/10) or cloud metadata addresses, which are refused otherwise"}

// Set is a command's options bound to a flag set.
type Set struct {
	fs      *flag.FlagSet
	opts    []Option
	values  map[string]*string
	getenv  func(string) string
	args    []string
	command string
	summary string
}

// NewSet builds a flag set for command whose --help lists every option with
// its environment variable and default.
func NewSet(command, summary string, getenv func(string) string, opts ...Option) *Set {
	s := &Set{fs: flag.NewFlagSet(command, flag.ContinueOnError), opts: opts,
		values: map[string]*string{}, getenv: getenv, command: command, summary: summary}
	s.fs.SetOutput(io.Discard)
	for _, o := range opts {
		v := &optionValue{isBool: o.Default == "false" || o.Default == "true"}
		s.fs.Var(v, o.Name, o.Usage)
		s.values[o.Name] = &v.s
		if o.File {
			s.values[o.Name+"-file"] = s.fs.String(o.Name+"-file", "", "file holding "+o.Name)
		}
	}
	return s
}

// optionValue holds a flag's text; boolean options may be given bare (--no-migrate).
type optionValue struct {
	s      string
	isBool bool
}

func (v *optionValue) String() string     { return v.s }
func (v *optionValue) Set(s string) error { v.s = s; return nil }
func (v *optionValue) IsBoolFlag() bool   { return v.isBool }

// FlagSet exposes the underlying flag set for command-specific flags.
func (s *Set) FlagSet() *flag.FlagSet { return s.fs }

// ErrHelp is returned by Parse when --help was asked for; the usage has been written.
var ErrHelp = flag.ErrHelp

// Parse parses args, flags and positional arguments in any order (as in
// `user add --username alice`); on --help it writes the usage to w and
// returns ErrHelp.
func (s *Set) Parse(args []string, w io.Writer) error {
	s.args = nil
	for {
		if err := s.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				s.Usage(w)
				return ErrHelp
			}
			return err
		}
		rest := s.fs.Args()
		if len(rest) == 0 {
			return nil
		}
		if rest[0] == "--" {
			s.args = append(s.args, rest[1:]...)
			return nil
		}
		s.args = append(s.args, rest[0])
		args = rest[1:]
	}
}

// Args are the positional arguments left after Parse.
func (s *Set) Args() []string { return s.args }

// Usage writes the command's help: every flag, its variable and default.
func (s *Set) Usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: ddnsbroker %s\n\n%s\n", s.command, s.summary)
	if len(s.opts) == 0 && countFlags(s.fs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nFlags (each can also be set by its environment variable):\n")
	shown := map[string]bool{}
	for _, o := range s.opts {
		shown[o.Name] = true
		def := ""
		if o.Default != "" {
			def = fmt.Sprintf(" (default %s)", o.Default)
		}
		fmt.Fprintf(w, "  --%s  $%s%s\n      %s\n", o.Name, o.Env(), def, o.Usage)
		if o.File {
			shown[o.Name+"-file"] = true
			fmt.Fprintf(w, "  --%s-file  $%s_FILE\n      read %s from this file\n", o.Name, o.Env(), o.Name)
		}
	}
	s.fs.VisitAll(func(f *flag.Flag) {
		if shown[f.Name] {
			return
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  --%s%s\n      %s\n", f.Name, def, f.Usage)
	})
	fmt.Fprintf(w, "  --help\n      show this help\n")
}

func countFlags(fs *flag.FlagSet) int {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n
}

// Error names the variable whose value is wrong.
type Error struct {
	Env    string
	Reason string
}

func (e *Error) Error() string { return e.Env + ": " + e.Reason }

// String returns the option's value: flag, then variable, then NAME_FILE, then default.
func (s *Set) String(o Option) (string, error) {
	if v := *s.values[o.Name]; v != "" {
		return v, nil
	}
	if v := s.getenv(o.Env()); v != "" {
		return v, nil
	}
	if o.File {
		path := *s.values[o.Name+"-file"]
		env := o.Env() + "_FILE"
		if path == "" {
			path = s.getenv(env)
		}
		if path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return "", &Error{Env: env, Reason: fmt.Sprintf("cannot read %s: %v", path, errors.Unwrap(err))}
			}
			return strings.TrimRight(string(b), "\r\n"), nil
		}
	}
	return o.Default, nil
}

// Serve is the configuration of `ddnsbroker serve`.
type Serve struct {
	DatabaseURL    string
	Listen         string
	SecretKey      []byte
	TrustedProxies []netip.Prefix
	LogLevel       slog.Level
	LogFormat      string
	AdminPassword  string
	NoMigrate      bool
	Workers        int
	ServiceWorkers int
	RetryBase      time.Duration
	RetryMax       time.Duration
	BlockFor       time.Duration
	Lease          time.Duration
	MetricsToken   string
	MetricsListen  string
	Retention      time.Duration
	StaleAfter     time.Duration
	PublicURL      string
	// AllowTargets are the networks outbound requests may reach whatever
	// the destination policy says (egress.Policy.Allow).
	AllowTargets []netip.Prefix
	// MaxRecordsPerHost and MaxRecordsPerService bound how much work one
	// router update and one provider can bring.
	MaxRecordsPerHost    int
	MaxRecordsPerService int
	// IPv6SourcePrefix is how many bits of an IPv6 client address name
	// its source (auth.SourceGroups).
	IPv6SourcePrefix int
	// OIDC configures single sign-on; Issuer is "" when it is off.
	OIDC OIDC
}

// OIDC is the single sign-on provider's configuration.
type OIDC struct {
	Issuer, ClientID, ClientSecret, AdminGroup, Name string
}

// ServeOptions are the options `serve` takes.
var ServeOptions = []Option{DatabaseURL, Listen, SecretKey, Proxies, LogLevel, LogFormat, AdminPass, NoMigrate,
	Workers, PerService, RetryBase, RetryMax, BlockFor, Lease, MetricsTok, MetricsAddr, Retention, StaleAfter, PublicURL,
	AllowTargets, HostRecords, SvcRecords, SourceV6, OIDCIssuer, OIDCClientID, OIDCSecret, OIDCAdminGroup, OIDCName}

// LoadServe validates every serve option.
func (s *Set) LoadServe() (*Serve, error) {
	c := &Serve{}
	var err error
	if c.DatabaseURL, err = s.Database(); err != nil {
		return nil, err
	}
	if c.Listen, err = s.String(Listen); err != nil {
		return nil, err
	}
	if err := checkListen(c.Listen); err != nil {
		return nil, &Error{Env: Listen.Env(), Reason: err.Error()}
	}
	if c.SecretKey, err = s.SecretKey(); err != nil {
		return nil, err
	}
	proxies, err := s.String(Proxies)
	if err != nil {
		return nil, err
	}
	if c.TrustedProxies, err = ParsePrefixes(proxies); err != nil {
		return nil, &Error{Env: Proxies.Env(), Reason: err.Error()}
	}
	if c.LogLevel, c.LogFormat, err = s.Logging(); err != nil {
		return nil, err
	}
	if c.AdminPassword, err = s.String(AdminPass); err != nil {
		return nil, err
	}
	if c.NoMigrate, err = s.Bool(NoMigrate); err != nil {
		return nil, err
	}
	if c.Workers, err = s.Int(Workers, 1, 1024); err != nil {
		return nil, err
	}
	if c.ServiceWorkers, err = s.Int(PerService, 1, 1024); err != nil {
		return nil, err
	}
	if c.MaxRecordsPerHost, err = s.Int(HostRecords, 1, 1_000_000); err != nil {
		return nil, err
	}
	if c.MaxRecordsPerService, err = s.Int(SvcRecords, 1, 10_000_000); err != nil {
		return nil, err
	}
	if c.IPv6SourcePrefix, err = s.Int(SourceV6, 32, 128); err != nil {
		return nil, err
	}
	for _, d := range []struct {
		o   Option
		dst *time.Duration
	}{{RetryBase, &c.RetryBase}, {RetryMax, &c.RetryMax}, {BlockFor, &c.BlockFor}, {Lease, &c.Lease},
		{Retention, &c.Retention}, {StaleAfter, &c.StaleAfter}} {
		if *d.dst, err = s.Duration(d.o); err != nil {
			return nil, err
		}
	}
	if c.RetryMax < c.RetryBase {
		return nil, &Error{Env: RetryMax.Env(), Reason: fmt.Sprintf("%s is shorter than %s (%s)", c.RetryMax, RetryBase.Env(), c.RetryBase)}
	}
	if c.MetricsToken, err = s.String(MetricsTok); err != nil {
		return nil, err
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		return nil, &Error{Env: MetricsTok.Env(), Reason: "too short: use at least 16 random characters"}
	}
	if c.MetricsListen, err = s.String(MetricsAddr); err != nil {
		return nil, err
	}
	if c.MetricsListen != "" {
		if err := checkListen(c.MetricsListen); err != nil {
			return nil, &Error{Env: MetricsAddr.Env(), Reason: err.Error()}
		}
	}
	if c.PublicURL, err = s.String(PublicURL); err != nil {
		return nil, err
	}
	if c.PublicURL != "" {
		// The router setup writes it into every client's configuration.
		if _, err := routersetup.ParseBroker(c.PublicURL); err != nil {
			return nil, &Error{Env: PublicURL.Env(), Reason: fmt.Sprintf("%q: %s", c.PublicURL, err)}
		}
	}
	targets, err := s.String(AllowTargets)
	if err != nil {
		return nil, err
	}
	if c.AllowTargets, err = ParsePrefixes(targets); err != nil {
		return nil, &Error{Env: AllowTargets.Env(), Reason: err.Error()}
	}
	if c.OIDC, err = s.oidc(); err != nil {
		return nil, err
	}
	return c, nil
}

// oidc reads the single sign-on options: all or nothing of issuer,
// client ID and secret.
func (s *Set) oidc() (OIDC, error) {
	var o OIDC
	for _, v := range []struct {
		opt Option
		dst *string
	}{{OIDCIssuer, &o.Issuer}, {OIDCClientID, &o.ClientID}, {OIDCSecret, &o.ClientSecret}, {OIDCAdminGroup, &o.AdminGroup}, {OIDCName, &o.Name}} {
		var err error
		if *v.dst, err = s.String(v.opt); err != nil {
			return o, err
		}
	}
	if o.Issuer == "" {
		if o.ClientID != "" || o.ClientSecret != "" {
			return o, &Error{Env: OIDCIssuer.Env(), Reason: "required when " + OIDCClientID.Env() + " or " + OIDCSecret.Env() + " is set"}
		}
		return o, nil
	}
	u, err := url.Parse(o.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return o, &Error{Env: OIDCIssuer.Env(), Reason: fmt.Sprintf("%q is not an http(s) URL", o.Issuer)}
	}
	if o.ClientID == "" {
		return o, &Error{Env: OIDCClientID.Env(), Reason: "required with " + OIDCIssuer.Env()}
	}
	if o.ClientSecret == "" {
		return o, &Error{Env: OIDCSecret.Env(), Reason: "required with " + OIDCIssuer.Env() + " (or " + OIDCSecret.Env() + "_FILE)"}
	}
	return o, nil
}

// SecretKey returns the required server secret (≥ 32 characters).
func (s *Set) SecretKey() ([]byte, error) {
	key, err := s.String(SecretKey)
	if err != nil {
		return nil, err
	}
	switch {
	case key == "":
		return nil, &Error{Env: SecretKey.Env(), Reason: "required (or " + SecretKey.Env() + "_FILE); generate one with: head -c 32 /dev/urandom | base64"}
	case len(key) < 32:
		return nil, &Error{Env: SecretKey.Env(), Reason: fmt.Sprintf("too short: %d characters, need at least 32", len(key))}
	}
	return []byte(key), nil
}

// Database returns the required database URL.
func (s *Set) Database() (string, error) {
	u, err := s.String(DatabaseURL)
	if err != nil {
		return "", err
	}
	if u == "" {
		return "", &Error{Env: DatabaseURL.Env(), Reason: "required, e.g. postgres://ddnsbroker:secret@127.0.0.1:5432/ddnsbroker"}
	}
	if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		return "", &Error{Env: DatabaseURL.Env(), Reason: "must start with postgres:// or postgresql://"}
	}
	return u, nil
}

// Logging returns the log level and format.
func (s *Set) Logging() (slog.Level, string, error) {
	lv, err := s.String(LogLevel)
	if err != nil {
		return 0, "", err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(lv)); err != nil {
		return 0, "", &Error{Env: LogLevel.Env(), Reason: fmt.Sprintf("%q is not one of debug, info, warn, error", lv)}
	}
	format, err := s.String(LogFormat)
	if err != nil {
		return 0, "", err
	}
	if format != "text" && format != "json" {
		return 0, "", &Error{Env: LogFormat.Env(), Reason: fmt.Sprintf("%q is not text or json", format)}
	}
	return level, format, nil
}

// Bool parses a boolean option.
func (s *Set) Bool(o Option) (bool, error) {
	v, err := s.String(o)
	if err != nil {
		return false, err
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &Error{Env: o.Env(), Reason: fmt.Sprintf("%q is not true or false", v)}
	}
	return b, nil
}

// Int parses an integer option within [lo, hi].
func (s *Set) Int(o Option, lo, hi int) (int, error) {
	v, err := s.String(o)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, &Error{Env: o.Env(), Reason: fmt.Sprintf("%q is not a whole number from %d to %d", v, lo, hi)}
	}
	return n, nil
}

// Duration parses a duration option that must be positive.
func (s *Set) Duration(o Option) (time.Duration, error) {
	v, err := s.String(o)
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, &Error{Env: o.Env(), Reason: fmt.Sprintf("%q is not a positive duration such as 90s or 24h", v)}
	}
	return d, nil
}

func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil && host != "localhost" {
			return fmt.Errorf("%q: host must be an IP address, localhost or empty", addr)
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port must be a number from 0 to 65535", addr)
	}
	return nil
}

// ParsePrefixes parses a comma-separated list of CIDRs or single addresses.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR or address", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR or address", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// durationText writes a default duration the way an admin would: 1h, not
// 1h0m0s.
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ServeDefaults is serve's configuration with every option at its default
// and secretKey, loaded the way serve loads it (no database URL): what tests
// build the application from, so that they run with serve's defaults.
func ServeDefaults(secretKey []byte) (*Serve, error) {
	env := map[string]string{DatabaseURL.Env(): "postgres://unused.invalid/ddnsbroker", SecretKey.Env(): string(secretKey)}
	set := NewSet("serve", "", func(k string) string { return env[k] }, ServeOptions...)
	if err := set.Parse(nil, io.Discard); err != nil {
		return nil, err
	}
	cfg, err := set.LoadServe()
	if err != nil {
		return nil, err
	}
	cfg.DatabaseURL = ""
	return cfg, nil
}
