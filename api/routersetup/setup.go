package routersetup

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// SecretPlaceholder stands for the update secret in snippets shown when the
// secret is not known (it is stored only as a hash).
const SecretPlaceholder = "YOUR-UPDATE-SECRET"

// Host is what the snippets say about the router.
type Host struct {
	FQDN string
	// IPv4 and IPv6 are the families the host reports; a snippet configures
	// only those.
	IPv4, IPv6 bool
}

// Item is the setup of one client.
type Item struct {
	// Client is one of ddclient, inadyn, openwrt, fritzbox, pfsense,
	// opnsense, mikrotik, unifi, curl.
	Client string
	Title  string
	// Format says what Text is: ddclient.conf, inadyn.conf, uci (OpenWrt's
	// /etc/config/ddns), fields (what to fill in a router's web form),
	// routeros (a script), sh (shell commands).
	Format string
	Text   string
	// Warning says why Text is incomplete ("" when it is not): a value the
	// format cannot carry, or a family the client cannot reach the broker
	// over. Text says the same where it applies.
	Warning string
}

// Items returns the setup of every client, in a fixed order. secret "" puts
// SecretPlaceholder in its place.
func Items(b Broker, h Host, secret string) []Item {
	s := newSetup(b, h, secret)
	return []Item{s.ddclient(), s.inadyn(), s.openwrt(), s.fritzbox(), s.pfsense(), s.opnsense(), s.mikrotik(), s.unifi(), s.curl()}
}

// setup is what every client's snippet is made of.
type setup struct {
	b      Broker
	fqdn   string
	secret string
	// fams are the families the host reports and the broker's URL reaches;
	// lost are those it reports but the URL cannot reach.
	fams, lost []netcalc.Family
}

func newSetup(b Broker, h Host, secret string) *setup {
	if secret == "" {
		secret = SecretPlaceholder
	}
	s := &setup{b: b, fqdn: h.FQDN, secret: secret}
	want := []netcalc.Family{}
	if h.IPv4 {
		want = append(want, v4)
	}
	if h.IPv6 {
		want = append(want, v6)
	}
	if len(want) == 0 { // both off: the router may still report, say how
		want = []netcalc.Family{v4, v6}
	}
	for _, f := range want {
		if b.reaches(f) {
			s.fams = append(s.fams, f)
		} else {
			s.lost = append(s.lost, f)
		}
	}
	return s
}

// lostNote explains a family the broker's URL cannot be reached over.
func (s *setup) lostNote(f netcalc.Family) string {
	return fmt.Sprintf("%s is not configured: the broker's URL is an %s address, which routers cannot reach over %s; "+
		"serve the broker under a name (with ipv4. and ipv6. names, see the README) and set DDNSBROKER_PUBLIC_URL to it.",
		f.String(), s.b.addrFamily().String(), f.String())
}

func (b Broker) addrFamily() netcalc.Family {
	if b.addr.Is4() {
		return v4
	}
	return v6
}

// item assembles an Item: text, or when a reason says the format cannot
// carry what it needs, the reasons in place of the text. notes are comments
// that keep the text usable (a family it leaves out).
type item struct {
	Item
	comment string // the format's comment marker, "" for fields
	cannot  []string
	notes   []string
}

func (s *setup) newItem(client, title, format, comment string) *item {
	it := &item{Item: Item{Client: client, Title: title, Format: format}, comment: comment}
	for _, f := range s.lost {
		it.notes = append(it.notes, s.lostNote(f))
	}
	if hasControl(s.secret) {
		it.cannot = append(it.cannot, "The secret contains a control character (such as a line break), which "+title+
			" cannot take; rotate the secret to a generated one.")
	}
	if len(s.fams) == 0 {
		it.cannot = append(it.cannot, "No address family of this host can reach the broker's URL.")
	}
	return it
}

// done renders the item: lines as given unless something cannot be
// carried, then only the reasons, commented out.
func (it *item) done(lines ...string) Item {
	out := it.Item
	reasons := append(append([]string{}, it.cannot...), it.notes...)
	out.Warning = strings.Join(reasons, " ")
	var b strings.Builder
	write := func(l string) { b.WriteString(l); b.WriteByte('\n') }
	comment := func(l string) {
		if it.comment == "" {
			write(l)
		} else {
			write(it.comment + " " + l)
		}
	}
	if len(it.cannot) > 0 {
		comment("Cannot be configured for " + it.Title + ":")
		for _, r := range it.cannot {
			comment(r)
		}
		out.Text = b.String()
		return out
	}
	for _, l := range lines {
		write(l)
	}
	for _, n := range it.notes {
		comment(n)
	}
	out.Text = b.String()
	return out
}

// hasControl reports whether s holds a control character: no client format
// carries one as a password, and no router's form takes it.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// ddclient configures ddclient 3.10 (Debian 12) and 4.x with one entry per
// family. ddclient 3.10's dyndns2 sends one address per host entry, and
// keeps one entry per host name, so the second family goes in a second
// entry for the name with a trailing dot (the broker takes both spellings).
// Each entry learns its address from the broker's name for its family.
func (s *setup) ddclient() Item {
	it := s.newItem("ddclient", "ddclient 3.10 / 4.x", "ddclient.conf", "#")
	lines := []string{
		"# /etc/ddclient.conf for ddclient 3.10 (Debian 12) and 4.x",
		"# try it: ddclient -daemon=0 -verbose -noquiet",
		"daemon=300",
		"protocol=dyndns2",
		"ssl=" + yesNo(s.b.https),
	}
	if s.has(v6) {
		lines = append(lines,
			"# ddclient 3.10 reaches IPv6 only through curl: apt install libwww-curl-perl",
			"# (ddclient 4.x always uses curl and ignores this line)",
			"curl=yes")
	}
	lines = append(lines, "login="+s.fqdn,
		// ddclient reads a single-quoted password literally, up to the
		// last quote on the line: no escaping, and none possible.
		"password='"+s.secret+"'")
	if s.b.prefix != "" {
		lines = append(lines, "script="+s.b.prefix+"/nic/update")
	}
	for i, f := range s.fams {
		name := s.fqdn
		if i > 0 {
			name += "."
			lines = append(lines, "# "+f.String()+": a second entry (the trailing dot keeps it apart from the first)")
		} else {
			lines = append(lines, "# "+f.String())
		}
		lines = append(lines, fmt.Sprintf("use=web, web=%s, server=%s %s", s.b.familyURL(f, "/myip"), s.ddclientServer(f), name))
	}
	return it.done(lines...)
}

// ddclientServer is the server= value for a family. ddclient takes only a
// value with a dot in it, so an IPv6 address is written with its last 32
// bits in dotted form ([2001:db8::1] as [2001:db8:0:0:0:0:0.0.0.1]), which
// names the same address.
func (s *setup) ddclientServer(f netcalc.Family) string {
	if !s.b.addr.Is6() {
		return s.b.hostPortOf(s.b.familyHost(f))
	}
	a := s.b.addr.As16()
	var parts []string
	for i := 0; i < 12; i += 2 {
		parts = append(parts, fmt.Sprintf("%x", uint16(a[i])<<8|uint16(a[i+1])))
	}
	host := "[" + strings.Join(parts, ":") + ":" + netip.AddrFrom4([4]byte{a[12], a[13], a[14], a[15]}).String() + "]"
	if s.b.port != "" {
		host += ":" + s.b.port
	}
	return host
}

// inadyn configures inadyn 2.x with one custom section per family, each
// asking the broker's name for its family for the address. The second
// section's host name has a trailing dot: inadyn keeps its cache per host
// name, and two sections sharing one would overwrite each other's address.
func (s *setup) inadyn() Item {
	it := s.newItem("inadyn", "inadyn 2.x", "inadyn.conf", "#")
	if s.b.addr.Is6() {
		it.cannot = append(it.cannot, "inadyn splits a server setting at its first colon, so it cannot reach a broker addressed by an IPv6 address; "+
			"serve the broker under a name and set DDNSBROKER_PUBLIC_URL to it.")
	}
	lines := []string{
		"# /etc/inadyn.conf for inadyn 2.x",
		"# check it: inadyn --check-config -f /etc/inadyn.conf; try it: inadyn --once --foreground -f /etc/inadyn.conf",
		"period = 300",
	}
	if s.has(v6) {
		lines = append(lines, "allow-ipv6 = true")
	}
	for i, f := range s.fams {
		name := s.fqdn
		lines = append(lines, "")
		if i > 0 {
			name += "."
			lines = append(lines, "# "+f.String()+": a section of its own (the trailing dot gives it its own cache)")
		} else {
			lines = append(lines, "# "+f.String())
		}
		server := confuseQuote(s.b.hostPortOf(s.b.familyHost(f)))
		lines = append(lines,
			"custom ddnsbroker-"+label(f)+" {",
			"    ssl            = "+trueFalse(s.b.https),
			"    username       = "+confuseQuote(s.fqdn),
			"    password       = "+confuseQuote(s.secret),
			"    checkip-server = "+server,
			"    checkip-path   = "+confuseQuote(s.b.prefix+"/myip"),
			"    checkip-ssl    = "+trueFalse(s.b.https),
			"    ddns-server    = "+server,
			"    ddns-path      = "+confuseQuote(s.b.prefix+"/nic/update?hostname=%h&myip=%i"),
			"    hostname       = "+confuseQuote(name),
			"}")
	}
	return it.done(lines...)
}

// confuseQuote double-quotes a value for libConfuse (inadyn's
// configuration): backslash escapes, and $ escaped because "${NAME}" is
// replaced by an environment variable.
func confuseQuote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range []byte(v) {
		if c == '\\' || c == '"' || c == '$' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

// openwrt configures OpenWrt's ddns-scripts, one service per family. The
// scripts URL-encode the password into [PASSWORD] with awk, whose -v
// assignment turns \\ into \ and knows only printable ASCII; so backslashes
// are doubled here, and other characters cannot be carried.
func (s *setup) openwrt() Item {
	it := s.newItem("openwrt", "OpenWrt (ddns-scripts)", "uci", "#")
	for _, c := range []byte(s.secret) {
		if c < 0x20 || c > 0x7e {
			it.cannot = append(it.cannot, "The secret contains a character outside printable ASCII, which ddns-scripts cannot URL-encode; rotate the secret to a generated one.")
			break
		}
	}
	lines := []string{
		"# /etc/config/ddns (opkg install ddns-scripts; luci-app-ddns for the web UI), then: /etc/init.d/ddns restart",
	}
	if s.b.https {
		lines = append(lines, "# HTTPS needs a TLS-capable fetcher on the router: opkg install wget-ssl ca-bundle (or curl)")
	}
	password := strings.ReplaceAll(s.secret, `\`, `\\`)
	url := "http://[USERNAME]:[PASSWORD]@" + s.b.hostPort() + s.b.prefix + "/nic/update?hostname=[DOMAIN]&myip=[IP]"
	for _, f := range s.fams {
		network := "wan"
		if f == v6 {
			network = "wan6"
		}
		lines = append(lines, "",
			"config service 'ddnsbroker_"+label(f)+"'",
			"\toption enabled '1'",
			"\toption lookup_host "+shellQuote(s.fqdn),
			"\toption domain "+shellQuote(s.fqdn),
			"\toption username "+shellQuote(s.fqdn),
			"\toption password "+shellQuote(password),
			// ddns-scripts turns http:// into https:// when use_https is set.
			"\toption update_url "+shellQuote(url),
			"\toption use_https '"+oneZero(s.b.https)+"'")
		if s.b.https {
			lines = append(lines, "\toption cacert '/etc/ssl/certs'")
		}
		lines = append(lines,
			"\toption use_ipv6 '"+oneZero(f == v6)+"'",
			"\toption ip_source 'network'",
			"\toption ip_network '"+network+"'",
			"\toption interface '"+network+"'",
			"\toption check_interval '5'",
			"\toption check_unit 'minutes'")
	}
	return it.done(lines...)
}

// shellQuote single-quotes a value for a POSIX shell, which OpenWrt's UCI
// files quote alike.
func shellQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// fritzbox fills in the FRITZ!Box's user-defined DynDNS provider. It sends
// both families and its delegated IPv6 prefix in one request.
func (s *setup) fritzbox() Item {
	it := s.newItem("fritzbox", "FRITZ!Box", "fields", "")
	var myip []string
	if s.has(v4) {
		myip = append(myip, "<ipaddr>")
	}
	if s.has(v6) {
		myip = append(myip, "<ip6addr>")
	}
	url := s.b.url("/nic/update") + "?hostname=<domain>&myip=" + strings.Join(myip, ",")
	if s.has(v6) {
		url += "&ip6lanprefix=<ip6lanprefix>"
	}
	return it.done(
		"Internet > Permit Access > DynDNS: tick Use DynDNS, choose the provider User-defined, fill in:",
		"Update URL: "+url,
		"Domain name: "+s.fqdn,
		"User name: "+s.fqdn,
		"Password: "+s.secret,
		"The FRITZ!Box fills in <ipaddr>, <ip6addr> and <ip6lanprefix> itself; keep them as they are.")
}

// pfsense fills in pfSense's custom Dynamic DNS client, one per family.
func (s *setup) pfsense() Item {
	it := s.newItem("pfsense", "pfSense", "fields", "")
	lines := []string{}
	for _, f := range s.fams {
		kind := "Custom"
		if f == v6 {
			kind = "Custom (v6)"
		}
		if len(lines) > 0 {
			lines = append(lines, "")
		}
		lines = append(lines,
			"Services > Dynamic DNS > Dynamic DNS Clients > Add, for "+f.String()+":",
			"Service Type: "+kind,
			"Interface to monitor: WAN",
			"Username: "+s.fqdn,
			"Password: "+s.secret,
			"Update URL: "+s.b.url("/nic/update")+"?hostname="+s.fqdn+"&myip=%IP%",
			"Result Match: good %IP%|nochg %IP%")
	}
	return it.done(lines...)
}

// opnsense fills in OPNsense's dynamic DNS account (os-ddclient), which
// takes a server name without a path.
func (s *setup) opnsense() Item {
	it := s.newItem("opnsense", "OPNsense", "fields", "")
	if s.b.prefix != "" {
		it.cannot = append(it.cannot, "OPNsense takes a server name without a path, so it cannot reach a broker served below "+s.b.prefix+".")
	}
	return it.done(
		"Services > Dynamic DNS > Settings > Accounts > Add:",
		"Service: Custom",
		"Protocol: DynDNS2",
		"Server: "+s.b.hostPort(),
		"Username: "+s.fqdn,
		"Password: "+s.secret,
		"Hostname(s): "+s.fqdn,
		"Check ip method: Interface (your WAN)",
		"Force SSL: "+map[bool]string{true: "ticked", false: "not ticked"}[s.b.https])
}

// mikrotik is a RouterOS 7 script. IPv4 is the address the broker sees the
// router come from; IPv6 is the LAN address with its length, from which the
// broker takes the address and the delegated prefix.
func (s *setup) mikrotik() Item {
	it := s.newItem("mikrotik", "MikroTik (RouterOS script)", "routeros", "#")
	lines := []string{
		"# RouterOS 7: System > Scripts > Add (policy read, write, test), paste this as its source;",
		"# then System > Scheduler > Add: interval 00:05:00, on event: /system script run <the script's name>",
		":local user " + routerosQuote(s.fqdn),
		":local secret " + routerosQuote(s.secret),
	}
	for _, f := range s.fams {
		if f == v4 {
			lines = append(lines,
				"# IPv4: the address the broker sees this router coming from",
				"/tool fetch url="+routerosQuote(s.b.familyURL(v4, "/nic/update")+"?hostname="+s.fqdn)+" user=$user password=$secret output=none")
			continue
		}
		lines = append(lines,
			"# IPv6: the global address of the LAN bridge with its length (address and prefix); change \"bridge\" if your LAN is elsewhere",
			`:local lan6 [/ipv6 address get [:pick [find where interface="bridge" and global] 0] address]`,
			"/tool fetch url=("+routerosQuote(s.b.url("/nic/update")+"?hostname="+s.fqdn+"&myip=")+" . $lan6) user=$user password=$secret output=none")
	}
	return it.done(lines...)
}

// routerosQuote double-quotes a value for RouterOS scripts: \ " $ ? are
// escaped with a backslash (? would otherwise ask for help when pasted into
// a terminal).
func routerosQuote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range []byte(v) {
		if c == '\\' || c == '"' || c == '$' || c == '?' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

// unifi fills in a UniFi gateway's custom Dynamic DNS, which UniFi hands to
// inadyn: one server field holding host, path and query.
func (s *setup) unifi() Item {
	it := s.newItem("unifi", "UniFi", "fields", "")
	if s.b.addr.Is6() {
		it.cannot = append(it.cannot, "UniFi's inadyn splits the server at its first colon, so it cannot reach a broker addressed by an IPv6 address; "+
			"serve the broker under a name and set DDNSBROKER_PUBLIC_URL to it.")
	}
	return it.done(
		"Settings > Internet > your WAN > Dynamic DNS > Create New:",
		"Service: custom",
		"Hostname: "+s.fqdn,
		"Username: "+s.fqdn,
		"Password: "+s.secret,
		"Server: "+s.b.hostPort()+s.b.prefix+"/nic/update?hostname=%h&myip=%i")
}

// curl is a shell command per family: without an address the broker takes
// the one it sees, and -4 / -6 choose the family.
func (s *setup) curl() Item {
	it := s.newItem("curl", "curl", "sh", "#")
	lines := []string{"# run from a machine in the network, e.g. from cron every 5 minutes"}
	cred := shellQuote(s.fqdn + ":" + s.secret)
	update := s.b.url("/nic/update") + "?hostname=" + s.fqdn
	for _, f := range s.fams {
		// -g: curl would read the brackets of an IPv6 address as a glob.
		lines = append(lines, fmt.Sprintf("curl -fsS -g -%d -u %s %s", f, cred, shellQuote(update)))
	}
	lines = append(lines,
		"# or name the addresses (and the delegated IPv6 prefix) yourself:",
		"# curl -fsS -g -u "+cred+" "+shellQuote(update+"&myip=203.0.113.7,2001:db8:77:1::7&ip6lanprefix=2001:db8:77:1::/64"))
	return it.done(lines...)
}

func (s *setup) has(f netcalc.Family) bool {
	for _, x := range s.fams {
		if x == f {
			return true
		}
	}
	return false
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func trueFalse(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func oneZero(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
