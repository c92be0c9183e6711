package provider

import (
	"cmp"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolGoogleCloudDNS is the googleclouddns protocol's name.
const ProtocolGoogleCloudDNS = "googleclouddns"

const (
	googleDNSAPIURL   = "https://dns.googleapis.com/dns/v1"
	googleTokenURL    = "https://oauth2.googleapis.com/token"
	googleDNSScope    = "https://www.googleapis.com/auth/ndev.clouddns.readwrite"
	googleJWTBearer   = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	googleDNSTTL      = 300
	maxGoogleKeyBytes = 4096
)

// googleZoneName matches a managed zone's name (example-com), which the
// API takes in paths: not the zone's DNS name.
var googleZoneName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// googleProject matches a project id.
var googleProject = regexp.MustCompile(`^[a-z0-9][a-z0-9.:-]{0,99}$`)

// googleCloudDNSSettings are the options of a googleclouddns service; the
// service account's JSON key is the credential.
type googleCloudDNSSettings struct {
	// Project is the project id; "": the key's project_id.
	Project string `json:"project"`
	// Zone is the managed zone's name (example-com); "": found by the
	// record's name among the project's public zones.
	Zone     string `json:"zone"`
	TTL      *int   `json:"ttl"`
	APIURL   string `json:"api_url"`
	TokenURL string `json:"token_url"`
}

// googleKey is what the broker reads of a service account's JSON key.
type googleKey struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
}

// parseGoogleKey reads a service-account JSON key. Errors never quote it.
func parseGoogleKey(credential string) (googleKey, *rsa.PrivateKey, error) {
	var k googleKey
	if len(credential) > maxGoogleKeyBytes {
		return k, nil, errors.New("is too long for a service account key")
	}
	if err := json.Unmarshal([]byte(credential), &k); err != nil {
		return k, nil, errors.New("must be a service account's JSON key file, as the Cloud console downloads it")
	}
	if k.Type != "service_account" || k.ClientEmail == "" || k.PrivateKey == "" {
		return k, nil, errors.New(`must be a service account key: "type": "service_account" with client_email and private_key`)
	}
	block, _ := pem.Decode([]byte(k.PrivateKey))
	if block == nil {
		return k, nil, errors.New("holds a private_key that is not PEM")
	}
	var key *rsa.PrivateKey
	if parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rk, ok := parsed.(*rsa.PrivateKey)
		if !ok {
			return k, nil, errors.New("holds a private_key that is not RSA")
		}
		key = rk
	} else if rk, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		key = rk
	} else {
		return k, nil, errors.New("holds a private_key that cannot be read")
	}
	return k, key, nil
}

// googleCloudDNS is Google Cloud DNS API v1: a service account's key
// signs a JWT (RS256) that Google's token endpoint exchanges for an access
// token (cached until shortly before it expires), which the DNS API takes
// as a bearer token. A delivery reads the name's record set and creates
// it (POST) or replaces it (PATCH) when it differs. Record sets carry no
// comments, so there is no marker; the broker never deletes one.
type googleCloudDNS struct {
	deps   Deps
	tokens *tokenCache

	mu    sync.Mutex
	zones map[string]string // key hash|api|project|dns name → managed zone name
}

// NewGoogleCloudDNS is the googleclouddns protocol.
func NewGoogleCloudDNS(d Deps) Provider {
	return Adapt[googleCloudDNSSettings](&googleCloudDNS{deps: d.withDefaults(), tokens: newTokenCache(), zones: map[string]string{}})
}

func (*googleCloudDNS) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolGoogleCloudDNS, Title: "Google Cloud DNS",
		Summary: "Signs in with a service account's key, finds the public managed zone, and creates or replaces the name's A or AAAA record set.",
		Settings: []Field{
			{Key: "project", Type: FieldString, Label: "Project ID", Help: "The Google Cloud project holding the zone; when empty, the key's project_id."},
			{Key: "zone", Type: FieldString, Label: "Managed zone name",
				Help: "The managed zone's name as Cloud DNS lists it (e.g. example-com, not example.com); when empty, the public zone is found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: googleDNSTTL, Min: ptrTo(1), Max: ptrTo(maxTTL), Help: "TTL of the record set in seconds."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: googleDNSAPIURL, Destination: true,
				Help: "Replaces Cloud DNS's API (for tests and proxies); leave it empty otherwise."},
			{Key: "token_url", Type: FieldURL, Label: "Token URL", Default: googleTokenURL, Destination: true,
				Help: "Replaces Google's OAuth token endpoint (for tests and proxies); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "Service account key (JSON)",
			Help: "The JSON key file of a service account with the DNS Administrator role (roles/dns.admin) on the project: paste the whole file."},
		Families: netcalc.Families(),
		Together: TogetherNever,
		DocsURL:  "https://cloud.google.com/dns/docs/reference/rest/v1",
	}
}

func (*googleCloudDNS) Presets() []Preset {
	return []Preset{{
		ID: "googleclouddns", Name: "Google Cloud DNS", Protocol: ProtocolGoogleCloudDNS,
		Settings: raw(`{"ttl": 300}`),
		Credential: &Prompt{Label: "Service account key (JSON)",
			Help: "Create a service account with the DNS Administrator role on the project, add a JSON key and paste the whole file."},
		Families: netcalc.Families(),
		Notes: "The project comes from the key (set project to use another); the public managed zone is found from each record's " +
			"name unless zone (the managed zone's name, e.g. example-com) is set. Record sets are created when missing and " +
			"replaced when they differ; Cloud DNS keeps no comments, so the broker marks nothing and deletes nothing.",
		DocsURL: "https://cloud.google.com/dns/docs/reference/rest/v1",
	}}
}

func (*googleCloudDNS) CheckCredential(credential string) error {
	_, _, err := parseGoogleKey(credential)
	return err
}

func (*googleCloudDNS) Validate(s googleCloudDNSSettings, _ Has) []FieldError {
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "settings." + field, Message: msg}) }
	if s.Project != "" && !googleProject.MatchString(s.Project) {
		add("project", "must be a project id: lowercase letters, digits and hyphens")
	}
	if s.Zone != "" && !googleZoneName.MatchString(s.Zone) {
		add("zone", "must be the managed zone's name (lowercase letters, digits, hyphens, e.g. example-com), not its DNS name")
	}
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		add("api_url", msg)
	}
	if msg := checkEndpointURL(s.TokenURL, false); msg != "" {
		add("token_url", msg)
	}
	return errs
}

// gcCall is one delivery's view of the API, signed in.
type gcCall struct {
	p       *googleCloudDNS
	api     *API
	project string
	key     string // cache key: the credential's hash, API and project
	tokKey  string
	cached  bool // the token came from the cache
}

// signIn reads the key and gets an access token (cached or new).
func (p *googleCloudDNS) signIn(ctx context.Context, s googleCloudDNSSettings, credential string) (gcCall, *Outcome) {
	key, rsaKey, err := parseGoogleKey(credential)
	if err != nil {
		return gcCall{}, &Outcome{Result: Failed, Message: "the service's key " + err.Error(), Advice: AdviceServiceCredential}
	}
	base := cmp.Or(strings.TrimRight(s.APIURL, "/"), googleDNSAPIURL)
	tokenURL := cmp.Or(s.TokenURL, googleTokenURL)
	for _, u := range []string{base, tokenURL} {
		if msg := checkEndpointURL(u, true); msg != "" {
			return gcCall{}, &Outcome{Result: Failed, Message: "service api_url or token_url " + msg}
		}
	}
	project := cmp.Or(s.Project, key.ProjectID)
	if project == "" {
		return gcCall{}, &Outcome{Result: Failed, Message: "no project: the key has no project_id", Advice: "set the service's project"}
	}
	sum := sha256.Sum256([]byte(credential))
	red := newRedactor("", "", "")
	red.addSecret(credential)
	red.addSecret(key.PrivateKey)
	call := gcCall{p: p, project: project, tokKey: hex.EncodeToString(sum[:]) + "|" + tokenURL}
	call.key = hex.EncodeToString(sum[:8]) + "|" + base + "|" + project + "|"
	token, ok := p.tokens.get(call.tokKey)
	if !ok {
		now := time.Now()
		jwtKey := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"iss": key.ClientEmail, "scope": googleDNSScope, "aud": tokenURL,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		})
		jwtKey.Header["kid"] = key.PrivateKeyID
		assertion, err := jwtKey.SignedString(rsaKey)
		if err != nil {
			return gcCall{}, &Outcome{Result: Failed, Message: "googleclouddns: signing the token request: " + err.Error(), Advice: AdviceServiceCredential}
		}
		red.addSecret(assertion)
		var life time.Duration
		var out *Outcome
		token, life, out = requestToken(ctx, p.deps, tokenURL, url.Values{"grant_type": {googleJWTBearer}, "assertion": {assertion}},
			"googleclouddns: ", red, googleAdviceKey)
		if out != nil {
			return gcCall{}, out
		}
		p.tokens.put(call.tokKey, token, life)
	}
	call.cached = ok
	call.api = newAPI(p.deps, base, "googleclouddns: ", http.Header{"Authorization": {"Bearer " + token}}, token)
	call.api.red.long = append(call.api.red.long, red.long...)
	call.api.red.short = append(call.api.red.short, red.short...)
	return call, nil
}

// Advice of Google's answers.
const (
	googleAdviceKey = "Google refused the service account key (deleted or rotated key, disabled account, or this server's clock is off): " +
		"create a new JSON key and set it as the service's credential"
	googleAdvicePermission = "the service account may not do this: grant it the DNS Administrator role (roles/dns.admin) on the project"
	googleAdviceZone       = "Cloud DNS has no such managed zone in the project: check the service's project and zone (the zone's name, e.g. example-com)"
)

// googleAnswers is what Cloud DNS's error reasons mean; other answers
// mean what their HTTP status does.
var googleAnswers = map[string]Meaning{
	"authError":               {Result: Failed, Advice: googleAdviceKey},
	"forbidden":               {Result: Failed, Advice: googleAdvicePermission},
	"insufficientPermissions": {Result: Failed, Advice: googleAdvicePermission},
	"accessNotConfigured":     {Result: Failed, Advice: "the Cloud DNS API is not enabled for the project: enable it in the Cloud console (APIs & Services)"},
	"inactiveBillingState":    {Result: Failed, Advice: "the project's billing is disabled: enable billing for the project"},
	"notFound":                {Result: Failed, Advice: googleAdviceZone},
	"rateLimitExceeded":       {Result: Retry, Advice: AdviceRateLimited},
	"userRateLimitExceeded":   {Result: Retry, Advice: AdviceRateLimited},
	"quotaExceeded":           {Result: Failed, Advice: "the project's Cloud DNS quota is used up: raise it or remove records"},
	"alreadyExists":           {Result: Retry, Advice: "the record set appeared meanwhile; the broker reads it again"},
	"conditionNotMet":         {Result: Retry, Advice: "the record set changed meanwhile; the broker reads it again"},
	"backendError":            {Result: Retry},
	"invalid":                 {Result: Failed, Advice: AdviceRefused},
	"invalidFieldValue":       {Result: Failed, Advice: AdviceRefused},
}

// do makes one API request and judges the answer with googleAnswers.
func (call gcCall) do(ctx context.Context, method, path string, query url.Values, in, out any, op string) *Outcome {
	resp, o := call.api.Call(ctx, method, path, query, in, op)
	if o != nil {
		return o
	}
	if resp.Status >= 200 && resp.Status < 300 {
		if out != nil {
			return call.api.Decode(resp, op, out)
		}
		return nil
	}
	var env struct {
		Error struct {
			Message string `json:"message"`
			Status  string `json:"status"`
			Errors  []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
		} `json:"error"`
	}
	errorBody(resp, &env)
	reason := env.Error.Status
	if len(env.Error.Errors) > 0 {
		reason = env.Error.Errors[0].Reason
	}
	m, ok := googleAnswers[reason]
	switch {
	case resp.Status >= 500:
		m = Meaning{Result: Retry}
	case resp.Status == http.StatusTooManyRequests || env.Error.Status == "RESOURCE_EXHAUSTED" && reason != "quotaExceeded":
		m = Meaning{Result: Retry, Advice: AdviceRateLimited}
	case resp.Status == http.StatusUnauthorized:
		m = Meaning{Result: Failed, Advice: googleAdviceKey}
		call.p.tokens.forget(call.tokKey)
		if call.cached {
			// A cached token that stopped working: the next attempt
			// signs in again.
			m = Meaning{Result: Retry, Advice: "Google no longer accepts the access token; the broker signs in again"}
		}
	case !ok:
		m = HTTPStatus(resp.Status, AdviceServiceCredential)
	}
	words := strings.TrimSpace(reason + " " + env.Error.Message)
	if resp.Status >= 300 && resp.Status < 400 {
		words = "redirect not followed"
	}
	return call.api.fail(op, resp, m, call.api.detail(resp, words))
}

type gcRRSet struct {
	Kind    string   `json:"kind,omitempty"`
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	TTL     int      `json:"ttl"`
	RRDatas []string `json:"rrdatas"`
}

func (p *googleCloudDNS) Send(ctx context.Context, r Request[googleCloudDNSSettings]) Outcome {
	s := r.Settings
	ttl := googleDNSTTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	if ttl < 1 || ttl > maxTTL {
		return Outcome{Result: Failed, Message: "service ttl must be 1..86400"}
	}
	if _, out := publishable(r.Family, r.Addresses); out != nil {
		return *out
	}
	name, out := recordName(r.FQDN)
	if out != nil {
		return *out
	}
	call, out := p.signIn(ctx, s, r.Credential)
	if out != nil {
		return *out
	}
	red := call.api.red
	zone, out := call.zone(ctx, s, name, true)
	if out != nil {
		return *out
	}
	rtype := r.Family.RecordType()
	rrsets := "/projects/" + url.PathEscape(call.project) + "/managedZones/" + url.PathEscape(zone) + "/rrsets"
	var list struct {
		RRSets []gcRRSet `json:"rrsets"`
	}
	if out := call.do(ctx, http.MethodGet, rrsets, url.Values{"name": {name + "."}, "type": {rtype}}, nil, &list, "reading "+rtype+" "+name); out != nil {
		return *out
	}
	var current []netip.Addr
	found, curTTL := false, 0
	for _, set := range list.RRSets {
		if strings.EqualFold(strings.TrimSuffix(set.Name, "."), name) && set.Type == rtype {
			found, curTTL = true, set.TTL
			for _, v := range set.RRDatas {
				if a, err := netip.ParseAddr(v); err == nil {
					current = append(current, a.Unmap())
				}
			}
		}
	}
	want := rrsetAfter(current, r.Addresses, r.Delivered, r.KeepOthers)
	what := fmt.Sprintf("%s %s → %s", rtype, name, joinAddrs(want))
	flags := " (ttl " + strconv.Itoa(ttl) + ")"
	if found && sameAddresses(current, want) && curTTL == ttl {
		return Outcome{Result: Delivered, Message: red.message(what + " unchanged" + flags)}
	}
	set := gcRRSet{Kind: "dns#resourceRecordSet", Name: name + ".", Type: rtype, TTL: ttl, RRDatas: addrStrings(want)}
	if !found {
		if out := call.do(ctx, http.MethodPost, rrsets, nil, set, nil, "creating "+what); out != nil {
			return *out
		}
		return Outcome{Result: Delivered, Message: red.message(what + " created" + flags)}
	}
	if out := call.do(ctx, http.MethodPatch, rrsets+"/"+url.PathEscape(name+".")+"/"+rtype, nil, set, nil, "updating "+what); out != nil {
		return *out
	}
	return Outcome{Result: Delivered, Message: red.message(what + " updated" + flags)}
}

// zone is the configured managed zone, a cached one (cache set), or the
// public zone whose DNS name is the longest suffix of name.
func (call gcCall) zone(ctx context.Context, s googleCloudDNSSettings, name string, cache bool) (string, *Outcome) {
	if s.Zone != "" {
		if !googleZoneName.MatchString(s.Zone) {
			return "", &Outcome{Result: Failed, Message: "service zone is not a managed zone's name", Advice: "check the service's zone"}
		}
		return s.Zone, nil
	}
	candidates, _ := zoneCandidates(name, "") // without a zone setting there is no error
	if cache {
		for _, cand := range candidates {
			if z, ok := call.p.cached(call.key + cand); ok {
				return z, nil
			}
		}
	}
	for _, cand := range candidates {
		var list struct {
			Zones []struct {
				Name       string `json:"name"`
				DNSName    string `json:"dnsName"`
				Visibility string `json:"visibility"`
			} `json:"managedZones"`
		}
		if out := call.do(ctx, http.MethodGet, "/projects/"+url.PathEscape(call.project)+"/managedZones", url.Values{"dnsName": {cand + "."}},
			nil, &list, "finding zone "+cand); out != nil {
			return "", out
		}
		for _, z := range list.Zones {
			if strings.EqualFold(strings.TrimSuffix(z.DNSName, "."), cand) && z.Visibility != "private" && googleZoneName.MatchString(z.Name) {
				call.p.remember(call.key+cand, z.Name)
				return z.Name, nil
			}
		}
	}
	return "", &Outcome{Result: Failed, Message: "googleclouddns: no public managed zone of project " + call.project + " holds " + name +
		" (asked for " + strings.Join(candidates, ", ") + ")", Advice: "create the zone in Cloud DNS, or set the service's project and zone"}
}

// Check signs in (the key), finds the zone (read permission); whether the
// account may change record sets only a change tells.
func (p *googleCloudDNS) Check(ctx context.Context, r CheckRequest[googleCloudDNSSettings]) []Step {
	call, out := p.signIn(ctx, r.Settings, r.Credential)
	if out != nil {
		status := StepFailed
		if out.Result == Retry {
			status = StepUnchecked
		}
		return []Step{{Name: "credentials accepted", Status: status, Detail: stepDetail(*out)}}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "Google issued an access token for the service account"}}
	name := strings.ToLower(strings.TrimSuffix(r.FQDN, "."))
	var zone string
	switch {
	case r.Settings.Zone != "":
		zone = r.Settings.Zone
		out = call.do(ctx, http.MethodGet, "/projects/"+url.PathEscape(call.project)+"/managedZones/"+url.PathEscape(zone), nil, nil, nil, "reading zone "+zone)
	case name != "":
		zone, out = call.zone(ctx, r.Settings, name, false)
	default:
		return append(steps, Step{Name: "zone found", Status: StepUnchecked, Detail: "no zone and no record name to look for"})
	}
	if out != nil {
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: stepDetail(*out)})
	}
	return append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "managed zone " + zone + " of project " + call.project},
		Step{Name: "may edit records", Status: StepUnchecked,
			Detail: "Cloud DNS has no dry run: only a change tells whether the account may change record sets (roles/dns.admin)"})
}

// stepDetail is an outcome's message and advice, for a check's detail.
func stepDetail(o Outcome) string { return joinAdvice(o.Message, o.Advice) }

func (p *googleCloudDNS) cached(key string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.zones[key]
	return v, ok
}

func (p *googleCloudDNS) remember(key, zone string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.zones) >= maxRoute53Cache {
		clear(p.zones)
	}
	p.zones[key] = zone
}

// OAuth 2.0 access tokens, shared by the providers that sign in first.

// tokenCache keeps access tokens until shortly before they expire, by a
// key that includes the credential's hash (a new credential signs in
// again).
type tokenCache struct {
	mu sync.Mutex
	m  map[string]cachedToken
}

type cachedToken struct {
	token   string
	expires time.Time
}

// tokenMargin is how long before its expiry a token is no longer used.
const tokenMargin = 2 * time.Minute

func newTokenCache() *tokenCache { return &tokenCache{m: map[string]cachedToken{}} }

func (c *tokenCache) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[key]
	if !ok || time.Now().After(t.expires) {
		return "", false
	}
	return t.token, true
}

func (c *tokenCache) put(key, token string, life time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxRoute53Cache {
		clear(c.m)
	}
	if life -= tokenMargin; life > 0 {
		c.m[key] = cachedToken{token: token, expires: time.Now().Add(life)}
	}
}

func (c *tokenCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// requestToken posts an OAuth 2.0 token request (form) and returns the
// access token and how long it lives. Refusals (400/401 with an OAuth
// error) fail with credentialAdvice and the endpoint's own description;
// 429 and 5xx are retried.
func requestToken(ctx context.Context, d Deps, tokenURL string, form url.Values, prefix string, red redactor, credentialAdvice string) (string, time.Duration, *Outcome) {
	const op = "getting an access token"
	api := &API{client: d.HTTP, base: tokenURL, userAgent: d.UserAgent, prefix: prefix, red: red, limit: maxAPIAnswer}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, api.fail(op, Response{}, Meaning{Result: Failed}, "invalid request: "+errText(err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", d.UserAgent)
	resp, body, out := exchange(ctx, d.HTTP, req, maxAPIAnswer, prefix+op+": ", red)
	if out != nil {
		return "", 0, out
	}
	r := Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	var answer struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.Number     `json:"expires_in"`
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
		Codes       json.RawMessage `json:"error_codes"`
	}
	jsonErr := json.Unmarshal(body, &answer)
	words := strings.TrimSpace(answer.Error + " " + answer.Description)
	switch {
	case r.Status >= 500:
		return "", 0, api.fail(op, r, Meaning{Result: Retry}, api.detail(r, words))
	case r.Status == http.StatusTooManyRequests:
		return "", 0, api.fail(op, r, Meaning{Result: Retry, Advice: AdviceRateLimited}, api.detail(r, words))
	case r.Status >= 300 && r.Status < 400:
		return "", 0, api.fail(op, r, Meaning{Result: Failed, Advice: AdviceMoved}, "redirect not followed")
	case r.Status >= 400 && answer.Error != "":
		return "", 0, api.fail(op, r, Meaning{Result: Failed, Advice: credentialAdvice}, api.detail(r, words))
	case r.Status >= 400:
		return "", 0, api.fail(op, r, HTTPStatus(r.Status, credentialAdvice), api.detail(r, ""))
	case jsonErr != nil || answer.AccessToken == "" || checkAPIToken(answer.AccessToken) != nil:
		return "", 0, api.fail(op, r, Meaning{Result: Failed, Advice: AdviceRefused}, "the answer holds no access token: "+api.detail(r, ""))
	}
	secs, _ := answer.ExpiresIn.Int64()
	return answer.AccessToken, time.Duration(min(max(secs, 0), 86400)) * time.Second, nil
}
