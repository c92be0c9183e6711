// Package djangoimport moves an installation of the original Django
// DDnsBroker into this one: it reads a `manage.py dumpdata ddnsbroker`
// export, checks it, plans what to create against what the database already
// holds, and applies the plan in one transaction. Routers keep working
// unchanged (their Django password hashes are kept and upgraded on their
// first update) and upstreams see no update storm (the addresses the
// original last published are recorded as delivered).
package djangoimport

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/egress"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// The models of the Django app this package understands.
const (
	modelHost    = "ddnsbroker.host"
	modelService = "ddnsbroker.updateservice"
	modelRecord  = "ddnsbroker.record"
)

// Export is a checked dumpdata export, every object in primary key order.
type Export struct {
	Services []Service
	Hosts    []Host
	Records  []Record
	// Notes tell what was read but will not be imported (other apps'
	// models, fields this importer does not know).
	Notes []string
}

// Service is a ddnsbroker.updateservice: a dyndns2 endpoint.
type Service struct {
	PK             int64
	Name           string
	URL            string
	UsernameIsFQDN bool
	canonical      []byte
}

// Host is a ddnsbroker.host: a router with its secret's Django hash and the
// addresses it last reported.
type Host struct {
	PK          int64
	FQDN        string
	SecretHash  string
	IPv4Enabled bool
	IPv6Enabled bool
	IPv4        netip.Addr
	IPv6        netip.Addr
	IPv4Updated *time.Time
	IPv6Updated *time.Time
	IPv4Changed *time.Time
	IPv6Changed *time.Time
	Created     time.Time
	canonical   []byte
}

// Record is a ddnsbroker.record with the effective addresses the original
// computed (and, as far as it knew, published).
type Record struct {
	PK            int64
	HostPK        int64
	ServicePK     int64
	FQDN          string
	IPv4Enabled   bool
	IPv6Enabled   bool
	IPv4Netmask   int
	IPv6Netmask   int
	IPv4HostID    netip.Addr
	IPv6HostID    netip.Addr
	EffectiveIPv4 netip.Addr
	EffectiveIPv6 netip.Addr
	Username      string
	Password      string
	IPv4Updated   *time.Time
	IPv6Updated   *time.Time
	Created       time.Time
	canonical     []byte
}

// Problem is one thing wrong with the input, named by object and field.
type Problem struct {
	Object string // e.g. "ddnsbroker.host pk 2", or "object #3" when it has no model or pk
	Field  string
	Reason string
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Object + ": " + p.Reason
	}
	return p.Object + ", field " + p.Field + ": " + p.Reason
}

// InvalidError lists everything wrong with an export; nothing was imported.
type InvalidError struct {
	Problems []Problem
}

func (e *InvalidError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("invalid export (%d problems, nothing was imported):\n  %s", len(e.Problems), strings.Join(lines, "\n  "))
}

// maxInput bounds what Parse reads; a real export is a few hundred bytes per object.
const maxInput = 256 << 20

// Parse reads and checks a dumpdata export of the ddnsbroker app. It returns
// an *InvalidError naming every problem it found (model, pk and field), or
// a plain error when the input is not JSON at all.
func Parse(r io.Reader) (*Export, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, fmt.Errorf("read export: %w", err)
	}
	if len(data) > maxInput {
		return nil, fmt.Errorf("export is larger than %d MiB", maxInput>>20)
	}
	var objects []json.RawMessage
	if err := json.Unmarshal(data, &objects); err != nil {
		return nil, jsonError(data, err)
	}
	p := parseObjects(objects)
	p.crossCheck()
	p.notes()
	if len(p.problems) > 0 {
		return nil, &InvalidError{Problems: p.problems}
	}
	return p.exp, nil
}

// readAll reads at most maxInput+1 bytes; from a file, into a buffer of
// the file's size, which spares an export of a few hundred megabytes the
// copies of a growing one.
func readAll(r io.Reader) ([]byte, error) {
	size := 512
	if f, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = int(min(fi.Size(), maxInput)) + bytes.MinRead + 1
		}
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	_, err := buf.ReadFrom(io.LimitReader(r, maxInput+1))
	return buf.Bytes(), err
}

// parseObjects reads the objects on every core: each reads a contiguous
// part of them, and the parts are joined in order, so that objects and
// problems come out as one reader would list them.
func parseObjects(objects []json.RawMessage) *parser {
	parts := make([]*parser, max(1, min(runtime.GOMAXPROCS(0), len(objects)/1000)))
	per := (len(objects) + len(parts) - 1) / len(parts)
	var wg sync.WaitGroup
	for w := range parts {
		parts[w] = &parser{exp: &Export{}, unknownFields: map[string]map[string]bool{}, otherModels: map[string]int{}}
		lo, hi := min(w*per, len(objects)), min((w+1)*per, len(objects))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				parts[w].object(i, objects[i])
			}
		})
	}
	wg.Wait()
	p := parts[0]
	for _, o := range parts[1:] {
		p.exp.Services = append(p.exp.Services, o.exp.Services...)
		p.exp.Hosts = append(p.exp.Hosts, o.exp.Hosts...)
		p.exp.Records = append(p.exp.Records, o.exp.Records...)
		p.problems = append(p.problems, o.problems...)
		for model, names := range o.unknownFields {
			if p.unknownFields[model] == nil {
				p.unknownFields[model] = map[string]bool{}
			}
			for name := range names {
				p.unknownFields[model][name] = true
			}
		}
		for model, n := range o.otherModels {
			p.otherModels[model] += n
		}
		p.naiveTimes = p.naiveTimes || o.naiveTimes
	}
	return p
}

// jsonError turns a decoding error into one line with the place it happened.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &syn) && syn.Offset >= int64(len(data)):
		return errors.New("export is not valid JSON: it ends too early (truncated file?)")
	case errors.As(err, &syn):
		line, col := position(data, syn.Offset)
		return fmt.Errorf("export is not valid JSON: line %d, column %d: %v", line, col, syn)
	case errors.As(err, &typ):
		return errors.New("export is not a dumpdata export: want a JSON array of objects like {\"model\": ..., \"pk\": ..., \"fields\": {...}}")
	}
	return fmt.Errorf("export is not valid JSON: %w", err)
}

func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}

type parser struct {
	exp           *Export
	problems      []Problem
	unknownFields map[string]map[string]bool // model → field names not imported
	otherModels   map[string]int
	naiveTimes    bool
}

func (p *parser) problem(object, field, format string, args ...any) {
	p.problems = append(p.problems, Problem{Object: object, Field: field, Reason: fmt.Sprintf(format, args...)})
}

// envelope is one serialized Django object.
type envelope struct {
	Model  *string                    `json:"model"`
	PK     json.RawMessage            `json:"pk"`
	Fields map[string]json.RawMessage `json:"fields"`
}

func (p *parser) object(i int, raw json.RawMessage) {
	where := fmt.Sprintf("object #%d", i+1)
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		p.problem(where, "", "not an object like {\"model\": ..., \"pk\": ..., \"fields\": {...}}")
		return
	}
	if env.Model == nil || *env.Model == "" {
		p.problem(where, "model", "missing")
		return
	}
	model := strings.ToLower(*env.Model)
	app, _, _ := strings.Cut(model, ".")
	if app != "ddnsbroker" {
		p.otherModels[model]++
		return
	}
	var pk int64
	pkErr := json.Unmarshal(env.PK, &pk)
	if pkErr != nil || len(env.PK) == 0 || pk < 1 {
		p.problem(where+" ("+model+")", "pk", "missing or not a positive integer")
		return
	}
	if model != modelHost && model != modelService && model != modelRecord {
		p.problem(fmt.Sprintf("%s pk %d", model, pk), "model", "unknown model of the ddnsbroker app: this importer reads %s, %s and %s; was the export made by another version?",
			modelHost, modelService, modelRecord)
		return
	}
	f := &fields{p: p, model: model, object: fmt.Sprintf("%s pk %d", model, pk), values: env.Fields, used: map[string]bool{}}
	if env.Fields == nil {
		p.problem(f.object, "fields", "missing")
		return
	}
	canonical, err := canonicalJSON(raw)
	if err != nil {
		p.problem(f.object, "", "cannot be re-encoded: %v", err)
		return
	}
	switch model {
	case modelService:
		s := Service{PK: pk, canonical: canonical}
		s.Name = f.str("name", 1, 100)
		s.URL = f.str("url", 1, 2048)
		if s.URL != "" {
			if err := checkServiceURL(s.URL); err != nil {
				p.problem(f.object, "url", "%v", err)
			}
		}
		s.UsernameIsFQDN = f.boolean("username_is_fqdn")
		p.exp.Services = append(p.exp.Services, s)
	case modelHost:
		h := Host{PK: pk, canonical: canonical}
		h.FQDN = f.fqdn("fqdn", false)
		h.SecretHash = f.secretHash("secret")
		h.IPv4Enabled = f.boolean("ipv4_enabled")
		h.IPv6Enabled = f.boolean("ipv6_enabled")
		h.IPv4 = f.hostAddr("ipv4", 4)
		h.IPv6 = f.hostAddr("ipv6", 6)
		h.IPv4Updated = f.time("last_ipv4_update", true)
		h.IPv6Updated = f.time("last_ipv6_update", true)
		h.IPv4Changed = f.time("last_ipv4_change", true)
		h.IPv6Changed = f.time("last_ipv6_change", true)
		if t := f.time("created", false); t != nil {
			h.Created = *t
		}
		p.exp.Hosts = append(p.exp.Hosts, h)
	case modelRecord:
		r := Record{PK: pk, canonical: canonical}
		r.HostPK = f.ref("host", modelHost)
		r.ServicePK = f.ref("service", modelService)
		r.FQDN = f.fqdn("fqdn", true) // blank: Django uses the host's FQDN
		r.IPv4Enabled = f.boolean("ipv4_enabled")
		r.IPv6Enabled = f.boolean("ipv6_enabled")
		r.IPv4Netmask = f.integer("ipv4_netmask", 0, 32)
		r.IPv6Netmask = f.integer("ipv6_netmask", 0, 128)
		r.IPv4HostID = f.addr("ipv4_host_id", 4, false)
		r.IPv6HostID = f.addr("ipv6_host_id", 6, false)
		r.EffectiveIPv4 = f.addr("effective_ipv4", 4, true)
		r.EffectiveIPv6 = f.addr("effective_ipv6", 6, true)
		r.Username = f.str("username", 0, 255)
		r.Password = f.str("password", 0, 1024)
		r.IPv4Updated = f.time("last_ipv4_update", true)
		r.IPv6Updated = f.time("last_ipv6_update", true)
		f.time("last_ipv4_change", true)
		f.time("last_ipv6_change", true)
		if t := f.time("created", false); t != nil {
			r.Created = *t
		}
		p.exp.Records = append(p.exp.Records, r)
	}
	for name := range env.Fields {
		if !f.used[name] {
			if p.unknownFields[model] == nil {
				p.unknownFields[model] = map[string]bool{}
			}
			p.unknownFields[model][name] = true
		}
	}
}

// canonicalJSON re-encodes an object with sorted keys and exact numbers, so
// that two exports of the same object compare equal whatever their layout.
func canonicalJSON(raw json.RawMessage) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// crossCheck finds what single objects cannot show: duplicate keys and
// references to objects that are not in the export.
func (p *parser) crossCheck() {
	sort.Slice(p.exp.Services, func(i, j int) bool { return p.exp.Services[i].PK < p.exp.Services[j].PK })
	sort.Slice(p.exp.Hosts, func(i, j int) bool { return p.exp.Hosts[i].PK < p.exp.Hosts[j].PK })
	sort.Slice(p.exp.Records, func(i, j int) bool { return p.exp.Records[i].PK < p.exp.Records[j].PK })

	services := map[int64]bool{}
	names := map[string]int64{}
	for _, s := range p.exp.Services {
		obj := fmt.Sprintf("%s pk %d", modelService, s.PK)
		if services[s.PK] {
			p.problem(obj, "pk", "appears twice")
		}
		services[s.PK] = true
		if other, ok := names[strings.ToLower(s.Name)]; ok && s.Name != "" {
			p.problem(obj, "name", "%q is also the name of %s pk %d (names are compared without case here)", s.Name, modelService, other)
		} else {
			names[strings.ToLower(s.Name)] = s.PK
		}
	}
	hosts := map[int64]string{}
	fqdns := map[string]int64{}
	for _, h := range p.exp.Hosts {
		obj := fmt.Sprintf("%s pk %d", modelHost, h.PK)
		if _, dup := hosts[h.PK]; dup {
			p.problem(obj, "pk", "appears twice")
		}
		hosts[h.PK] = h.FQDN
		if other, ok := fqdns[h.FQDN]; ok && h.FQDN != "" {
			p.problem(obj, "fqdn", "%q is also the FQDN of %s pk %d", h.FQDN, modelHost, other)
		} else {
			fqdns[h.FQDN] = h.PK
		}
	}
	records := map[int64]bool{}
	type key struct {
		service int64
		fqdn    string
	}
	published := map[key]int64{}
	for i := range p.exp.Records {
		r := &p.exp.Records[i]
		obj := fmt.Sprintf("%s pk %d", modelRecord, r.PK)
		if records[r.PK] {
			p.problem(obj, "pk", "appears twice")
		}
		records[r.PK] = true
		hostFQDN, ok := hosts[r.HostPK]
		if r.HostPK != 0 && !ok {
			p.problem(obj, "host", "%s pk %d is not in the export (dump the whole ddnsbroker app)", modelHost, r.HostPK)
		}
		if r.ServicePK != 0 && !services[r.ServicePK] {
			p.problem(obj, "service", "%s pk %d is not in the export (dump the whole ddnsbroker app)", modelService, r.ServicePK)
		}
		if r.FQDN == "" {
			r.FQDN = hostFQDN
		}
		if r.FQDN == "" || r.ServicePK == 0 {
			continue
		}
		k := key{r.ServicePK, r.FQDN}
		if other, dup := published[k]; dup {
			p.problem(obj, "fqdn", "%q is published through the same service by %s pk %d; here a name is published once per service",
				r.FQDN, modelRecord, other)
		} else {
			published[k] = r.PK
		}
	}
}

func (p *parser) notes() {
	var models []string
	for m := range p.otherModels {
		models = append(models, m)
	}
	sort.Strings(models)
	for _, m := range models {
		p.exp.Notes = append(p.exp.Notes, fmt.Sprintf("ignored %d %s object(s): not part of the ddnsbroker app", p.otherModels[m], m))
	}
	for _, m := range []string{modelService, modelHost, modelRecord} {
		var names []string
		for f := range p.unknownFields[m] {
			names = append(names, f)
		}
		if len(names) == 0 {
			continue
		}
		sort.Strings(names)
		p.exp.Notes = append(p.exp.Notes, fmt.Sprintf("%s fields not imported (unknown to this importer): %s", m, strings.Join(names, ", ")))
	}
	if p.naiveTimes {
		p.exp.Notes = append(p.exp.Notes, "some times have no time zone (Django ran with USE_TZ = False); they were read as UTC")
	}
}

// fields reads the fields of one object, recording a problem for each
// missing or malformed one and which fields were used.
type fields struct {
	p      *parser
	model  string
	object string
	values map[string]json.RawMessage
	used   map[string]bool
}

func (f *fields) bad(field, format string, args ...any) {
	f.p.problem(f.object, field, format, args...)
}

// raw returns a field's JSON, or nil (and a problem) when it is missing; a
// JSON null is returned as nil with isNull set.
func (f *fields) raw(name string) (v json.RawMessage, isNull bool) {
	f.used[name] = true
	v, ok := f.values[name]
	if !ok {
		f.bad(name, "missing")
		return nil, false
	}
	if string(bytes.TrimSpace(v)) == "null" {
		return nil, true
	}
	return v, false
}

func (f *fields) str(name string, minLen, maxLen int) string {
	v, isNull := f.raw(name)
	if isNull {
		f.bad(name, "must not be null")
	}
	if v == nil {
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		f.bad(name, "must be a string")
		return ""
	}
	switch n := len([]rune(s)); {
	case n < minLen && n == 0:
		f.bad(name, "must not be empty")
	case n < minLen:
		f.bad(name, "is %d characters long, at least %d needed", n, minLen)
	case n > maxLen:
		f.bad(name, "is %d characters long, at most %d allowed", n, maxLen)
	}
	return s
}

func (f *fields) boolean(name string) bool {
	v, isNull := f.raw(name)
	if isNull {
		f.bad(name, "must not be null")
	}
	if v == nil {
		return false
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		f.bad(name, "must be true or false")
	}
	return b
}

func (f *fields) integer(name string, lo, hi int) int {
	v, isNull := f.raw(name)
	if isNull {
		f.bad(name, "must not be null")
	}
	if v == nil {
		return 0
	}
	var n int
	if err := json.Unmarshal(v, &n); err != nil || n < lo || n > hi {
		f.bad(name, "must be a whole number from %d to %d, got %s", lo, hi, truncate(string(v), 40))
		return 0
	}
	return n
}

// ref reads a foreign key: the primary key of the referenced object.
func (f *fields) ref(name, model string) int64 {
	v, isNull := f.raw(name)
	if isNull {
		f.bad(name, "must not be null")
	}
	if v == nil {
		return 0
	}
	var pk int64
	if err := json.Unmarshal(v, &pk); err != nil || pk < 1 {
		f.bad(name, "must be the pk of a %s (export without --natural-foreign)", model)
		return 0
	}
	return pk
}

// fqdn reads a DNS name; blank allows the empty string (returned as "").
func (f *fields) fqdn(name string, blank bool) string {
	minLen := 1
	if blank {
		minLen = 0
	}
	s := f.str(name, minLen, 255)
	if s == "" {
		return ""
	}
	n, err := dnsname.Normalize(s)
	if err != nil {
		f.bad(name, "%q is not a valid DNS name: %v", truncate(s, 80), err)
		return ""
	}
	return n
}

// djangoHashPrefix is the only Django hasher whose hashes auth verifies.
const djangoHashPrefix = "pbkdf2_sha256$"

// secretHash checks the shape of a Django pbkdf2_sha256 hash (the same
// bounds auth.VerifyPassword applies) without spending the ~60 ms a
// verification costs. Messages never quote the hash.
func (f *fields) secretHash(name string) string {
	s := f.str(name, 1, 1024)
	if s == "" {
		return ""
	}
	if !strings.HasPrefix(s, djangoHashPrefix) {
		algo, _, _ := strings.Cut(s, "$")
		if strings.HasPrefix(s, "!") {
			f.bad(name, "the host has an unusable password (Django's \"!\" marker); set a secret for it in Django and export again")
		} else {
			f.bad(name, "hash algorithm %q is not supported: only Django's default pbkdf2_sha256 hashes can be verified", truncate(algo, 20))
		}
		return ""
	}
	parts := strings.Split(s, "$")
	if len(parts) != 4 {
		f.bad(name, "malformed pbkdf2_sha256 hash: want pbkdf2_sha256$<iterations>$<salt>$<hash>")
		return ""
	}
	if n, err := strconv.Atoi(parts[1]); err != nil || n < 1 || n > 10_000_000 {
		f.bad(name, "malformed pbkdf2_sha256 hash: iterations must be a number from 1 to 10000000")
		return ""
	}
	if parts[2] == "" {
		f.bad(name, "malformed pbkdf2_sha256 hash: empty salt")
		return ""
	}
	if key, err := base64.StdEncoding.Strict().DecodeString(parts[3]); err != nil || len(key) != sha256.Size {
		f.bad(name, "malformed pbkdf2_sha256 hash: the hash part must be 32 bytes in base64")
		return ""
	}
	return s
}

// hostAddr reads an address a router reported, held to the rules routers
// are held to today (no zone, not unspecified or multicast); null is none.
func (f *fields) hostAddr(name string, family netcalc.Family) netip.Addr {
	s, isNull, ok := f.optString(name)
	if !ok || isNull {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		f.bad(name, "%q is not an IP address", truncate(s, 60))
		return netip.Addr{}
	}
	u, err := netcalc.CheckHostAddress(a)
	if err != nil {
		f.bad(name, "%v", err)
		return netip.Addr{}
	}
	if (family == 4) != u.Is4() {
		f.bad(name, "%q is not an IPv%d address", s, family)
		return netip.Addr{}
	}
	return u
}

// addr reads an address of one family without zone: a host identifier or
// an effective address.
func (f *fields) addr(name string, family netcalc.Family, nullable bool) netip.Addr {
	s, isNull, ok := f.optString(name)
	if !ok {
		return netip.Addr{}
	}
	if isNull {
		if !nullable {
			f.bad(name, "must not be null")
		}
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		f.bad(name, "%q is not an IP address", truncate(s, 60))
	case a.Zone() != "":
		f.bad(name, "%q has a zone identifier", s)
	case family == 4 && !a.Is4(), family == 6 && (!a.Is6() || a.Is4In6()):
		f.bad(name, "%q is not an IPv%d address", s, family)
	default:
		return a
	}
	return netip.Addr{}
}

// optString reads a string that may be null; ok is false after a problem.
func (f *fields) optString(name string) (s string, isNull, ok bool) {
	v, isNull := f.raw(name)
	if isNull {
		return "", true, true
	}
	if v == nil {
		return "", false, false
	}
	if err := json.Unmarshal(v, &s); err != nil {
		f.bad(name, "must be a string or null")
		return "", false, false
	}
	return s, false, true
}

// time reads a Django timestamp: RFC 3339 (what Django writes with
// USE_TZ = True), or without a zone, read as UTC.
func (f *fields) time(name string, nullable bool) *time.Time {
	s, isNull, ok := f.optString(name)
	if !ok {
		return nil
	}
	if isNull {
		if !nullable {
			f.bad(name, "must not be null")
		}
		return nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		t = t.UTC()
		return &t
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC); err == nil {
		f.p.naiveTimes = true
		return &t
	}
	f.bad(name, "%q is not a time like 2026-11-26T20:14:40.021Z", truncate(s, 60))
	return nil
}

// checkServiceURL applies the API's rules for service URLs
// (egress.CheckURL).
func checkServiceURL(s string) error {
	err := egress.CheckURL(s)
	if errors.Is(err, egress.ErrURLUserinfo) {
		return errors.New("contains a user name or password: move them to the records, where they are stored encrypted, and export again")
	}
	return err
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
