package provider

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolAzure is the azure protocol's name.
const ProtocolAzure = "azure"

const (
	azureAPIURL     = "https://management.azure.com"
	azureLoginURL   = "https://login.microsoftonline.com"
	azureAPIVersion = "2018-05-01"
	// azurePermissionsVersion is the api-version of the caller's
	// permissions (Microsoft.Authorization), which a check reads.
	azurePermissionsVersion = "2022-04-01"
	azureTTL                = 300
	// azureMarkerKey is the metadata key of record sets the broker
	// created; its value is ManagedMarker.
	azureMarkerKey = "managedby"
)

var (
	azureGUID      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	azureTenant    = regexp.MustCompile(`^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$`)
	azureGroupName = regexp.MustCompile(`^[-\w._()]{1,90}$`)
)

// azureSettings are the options of an azure service; the app
// registration's client secret is the credential.
type azureSettings struct {
	TenantID       string `json:"tenant_id"`
	ClientID       string `json:"client_id"`
	SubscriptionID string `json:"subscription_id"`
	ResourceGroup  string `json:"resource_group"`
	Zone           string `json:"zone"`
	TTL            *int   `json:"ttl"`
	APIURL         string `json:"api_url"`
	LoginURL       string `json:"login_url"`
}

// azure is Azure DNS through Azure Resource Manager (api-version
// 2018-05-01): a client-credentials token from Microsoft Entra ID (cached
// until shortly before it expires) for the app registration, then the
// zone's A or AAAA record set read and replaced (PUT, guarded by its etag)
// when it differs. Record sets the broker creates carry the metadata
// managedby = "managed by ddnsbroker"; it deletes none.
type azure struct {
	deps   Deps
	tokens *tokenCache
}

// NewAzure is the azure protocol.
func NewAzure(d Deps) Provider {
	return Adapt[azureSettings](&azure{deps: d.withDefaults(), tokens: newTokenCache()})
}

func (*azure) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolAzure, Title: "Azure DNS",
		Summary: "Signs in as an app registration (client credentials) and creates or replaces the name's A or AAAA record set in an Azure DNS zone.",
		Settings: []Field{
			{Key: "tenant_id", Type: FieldString, Label: "Tenant ID", Required: true,
				Help: "The directory (tenant) id of the app registration, a GUID (or its contoso.onmicrosoft.com name)."},
			{Key: "client_id", Type: FieldString, Label: "Client ID", Required: true, Help: "The app registration's application (client) id, a GUID."},
			{Key: "subscription_id", Type: FieldString, Label: "Subscription ID", Required: true, Help: "The subscription holding the DNS zone, a GUID."},
			{Key: "resource_group", Type: FieldString, Label: "Resource group", Required: true, Help: "The resource group holding the DNS zone."},
			{Key: "zone", Type: FieldString, Label: "Zone", Required: true, Help: "The DNS zone's name, e.g. example.com."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: azureTTL, Min: ptrTo(1), Max: ptrTo(maxTTL), Help: "TTL of the record set in seconds."},
			{Key: "api_url", Type: FieldURL, Label: "Resource Manager URL", Default: azureAPIURL, Destination: true,
				Help: "Replaces Azure Resource Manager (https://management.chinacloudapi.cn for Azure China, or tests); leave it empty otherwise."},
			{Key: "login_url", Type: FieldURL, Label: "Sign-in URL", Default: azureLoginURL, Destination: true,
				Help: "Replaces Microsoft Entra ID's sign-in host (https://login.chinacloudapi.cn for Azure China, or tests); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "Client secret",
			Help: "A client secret of the app registration (its value, not its id). The app needs the DNS Zone Contributor role on the zone."},
		Families: netcalc.Families(),
		Together: TogetherNever,
		DocsURL:  "https://learn.microsoft.com/en-us/rest/api/dns/record-sets/create-or-update",
	}
}

func (*azure) Presets() []Preset {
	return []Preset{{
		ID: "azure", Name: "Azure DNS", Protocol: ProtocolAzure,
		Settings: raw(`{"tenant_id": "00000000-0000-0000-0000-000000000000", "client_id": "00000000-0000-0000-0000-000000000000",
			"subscription_id": "00000000-0000-0000-0000-000000000000", "resource_group": "dns", "zone": "example.com", "ttl": 300}`),
		Edit: []PresetSetting{
			{Key: "tenant_id", Help: "The app registration's directory (tenant) id."},
			{Key: "client_id", Help: "The app registration's application (client) id."},
			{Key: "subscription_id", Help: "The subscription of the DNS zone."},
			{Key: "resource_group", Help: "The resource group of the DNS zone."},
			{Key: "zone", Help: "The DNS zone, e.g. example.com."},
		},
		Credential: &Prompt{Label: "Client secret", Help: "A client secret of the app registration (Certificates & secrets → New client secret; copy its value)."},
		Families:   netcalc.Families(),
		Notes: "Register an app in Microsoft Entra ID, create a client secret, and give the app the DNS Zone Contributor role on the " +
			"zone (Access control (IAM) of the zone). Client secrets expire: renew the credential before. Record sets the broker " +
			"creates carry the metadata managedby: \"" + ManagedMarker + "\". Throttled requests (429) are retried after their Retry-After.",
		DocsURL: "https://learn.microsoft.com/en-us/rest/api/dns/record-sets/create-or-update",
	}}
}

func (*azure) Validate(s azureSettings, _ Has) []FieldError {
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "settings." + field, Message: msg}) }
	if s.TenantID != "" && !azureTenant.MatchString(s.TenantID) {
		add("tenant_id", "must be the tenant's id (a GUID) or its domain name")
	}
	if s.ClientID != "" && !azureGUID.MatchString(s.ClientID) {
		add("client_id", "must be the application (client) id, a GUID")
	}
	if s.SubscriptionID != "" && !azureGUID.MatchString(s.SubscriptionID) {
		add("subscription_id", "must be a subscription id, a GUID")
	}
	if s.ResourceGroup != "" && (!azureGroupName.MatchString(s.ResourceGroup) || strings.HasSuffix(s.ResourceGroup, ".")) {
		add("resource_group", "must be a resource group's name: letters, digits, - _ . ( ), at most 90")
	}
	if s.Zone != "" && !validZone(s.Zone) {
		add("zone", "must be a domain name, e.g. example.com")
	}
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		add("api_url", msg)
	}
	if msg := checkEndpointURL(s.LoginURL, false); msg != "" {
		add("login_url", msg)
	}
	return errs
}

// azCall is one delivery's view of the API, signed in.
type azCall struct {
	p      *azure
	api    *API
	zone   string // the zone's path below the API
	tokKey string
	cached bool
}

// signIn gets a client-credentials token (cached or new) for the
// Resource Manager of api_url.
func (p *azure) signIn(ctx context.Context, s azureSettings, secret string) (azCall, *Outcome) {
	if err := checkAPIToken(secret); err != nil {
		return azCall{}, &Outcome{Result: Failed, Message: "the service's client secret " + err.Error() + ": set its credential", Advice: AdviceServiceCredential}
	}
	if !azureTenant.MatchString(s.TenantID) || !azureGUID.MatchString(s.ClientID) || !azureGUID.MatchString(s.SubscriptionID) ||
		!azureGroupName.MatchString(s.ResourceGroup) || !validZone(s.Zone) {
		return azCall{}, &Outcome{Result: Failed, Message: "the service's tenant_id, client_id, subscription_id, resource_group or zone is not set right",
			Advice: "check the service's settings"}
	}
	base := strings.TrimRight(cmp.Or(s.APIURL, azureAPIURL), "/")
	login := strings.TrimRight(cmp.Or(s.LoginURL, azureLoginURL), "/")
	for _, u := range []string{base, login} {
		if msg := checkEndpointURL(u, true); msg != "" {
			return azCall{}, &Outcome{Result: Failed, Message: "service api_url or login_url " + msg}
		}
	}
	red := newRedactor("", "", "")
	red.addSecret(secret)
	tokenURL := login + "/" + url.PathEscape(s.TenantID) + "/oauth2/v2.0/token"
	sum := sha256.Sum256([]byte(secret))
	call := azCall{p: p, tokKey: hex.EncodeToString(sum[:]) + "|" + s.ClientID + "|" + tokenURL + "|" + base,
		zone: "/subscriptions/" + url.PathEscape(s.SubscriptionID) + "/resourceGroups/" + url.PathEscape(s.ResourceGroup) +
			"/providers/Microsoft.Network/dnsZones/" + url.PathEscape(strings.ToLower(strings.TrimSuffix(s.Zone, ".")))}
	token, ok := p.tokens.get(call.tokKey)
	if !ok {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "client_secret": {secret},
			"scope": {azureScope(base)}}
		var out *Outcome
		var life time.Duration
		token, life, out = requestToken(ctx, p.deps, tokenURL, form, "azure: ", red, azureAdviceSignIn)
		if out != nil {
			return azCall{}, out
		}
		p.tokens.put(call.tokKey, token, life)
	}
	call.cached = ok
	call.api = newAPI(p.deps, base, "azure: ", http.Header{"Authorization": {"Bearer " + token}}, token, secret)
	return call, nil
}

// Advice of Azure's answers.
const (
	azureAdviceSignIn = "Microsoft Entra ID refused the sign-in: check tenant_id, client_id and the client secret (secrets expire: " +
		"create a new one under Certificates & secrets)"
	azureAdviceRole = "the app registration may not do this: give it the DNS Zone Contributor role on the zone (the zone's Access control (IAM))"
	azureAdviceZone = "Azure has no such DNS zone: check the service's subscription_id, resource_group and zone"
)

// azureAnswers is what Resource Manager's error codes mean; other codes
// mean what their HTTP status does.
var azureAnswers = map[string]Meaning{
	"AuthenticationFailed":               {Result: Failed, Advice: azureAdviceSignIn},
	"InvalidAuthenticationToken":         {Result: Failed, Advice: azureAdviceSignIn},
	"ExpiredAuthenticationToken":         {Result: Failed, Advice: azureAdviceSignIn},
	"InvalidAuthenticationTokenAudience": {Result: Failed, Advice: "the token is not for this Resource Manager: api_url and login_url must belong to the same cloud"},
	"AuthorizationFailed":                {Result: Failed, Advice: azureAdviceRole},
	"LinkedAuthorizationFailed":          {Result: Failed, Advice: azureAdviceRole},
	"SubscriptionNotFound":               {Result: Failed, Advice: "Azure does not know the subscription, or the app may not see it: check the service's subscription_id"},
	"InvalidSubscriptionId":              {Result: Failed, Advice: "check the service's subscription_id"},
	"ResourceGroupNotFound":              {Result: Failed, Advice: "Azure has no such resource group in the subscription: check the service's resource_group"},
	"ResourceNotFound":                   {Result: Failed, Advice: azureAdviceZone},
	"ParentResourceNotFound":             {Result: Failed, Advice: azureAdviceZone},
	"PreconditionFailed":                 {Result: Retry, Advice: "the record set changed meanwhile; the broker reads it again"},
	"TooManyRequests":                    {Result: Retry, Advice: AdviceRateLimited},
	"SubscriptionRequestsThrottled":      {Result: Retry, Advice: AdviceRateLimited},
}

// do makes one Resource Manager request (api-version added) and judges
// the answer with azureAnswers. code is Azure's error code, if any.
func (call azCall) do(ctx context.Context, method, path, version string, header http.Header, in, out any, op string) (code string, _ *Outcome) {
	api := *call.api
	if header != nil {
		api.header = http.Header{}
		for k, v := range call.api.header {
			api.header[k] = v
		}
		for k, v := range header {
			api.header[k] = v
		}
	}
	resp, o := api.Call(ctx, method, path, url.Values{"api-version": {version}}, in, op)
	if o != nil {
		return "", o
	}
	if resp.Status >= 200 && resp.Status < 300 {
		if out != nil {
			return "", api.Decode(resp, op, out)
		}
		return "", nil
	}
	// ARM wraps errors in "error"; the DNS provider sometimes does not.
	var env struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Error   *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	errorBody(resp, &env)
	if env.Error != nil {
		env.Code, env.Message = env.Error.Code, env.Error.Message
	}
	m, ok := azureAnswers[env.Code]
	switch {
	case resp.Status >= 500:
		m = Meaning{Result: Retry}
	case resp.Status == http.StatusTooManyRequests:
		m = Meaning{Result: Retry, Advice: AdviceRateLimited}
	case resp.Status == http.StatusUnauthorized:
		call.p.tokens.forget(call.tokKey)
		if call.cached {
			m = Meaning{Result: Retry, Advice: "Azure no longer accepts the access token; the broker signs in again"}
		} else if !ok {
			m = Meaning{Result: Failed, Advice: azureAdviceSignIn}
		}
	case !ok:
		m = HTTPStatus(resp.Status, AdviceServiceCredential)
	}
	words := strings.TrimSpace(env.Code + " " + env.Message)
	if resp.Status >= 300 && resp.Status < 400 {
		words = "redirect not followed"
	}
	return env.Code, api.fail(op, resp, m, api.detail(resp, words))
}

type azRecordSet struct {
	Etag       string `json:"etag,omitempty"`
	Properties struct {
		Metadata map[string]string `json:"metadata,omitempty"`
		TTL      int               `json:"TTL"`
		A        []azA             `json:"ARecords,omitempty"`
		AAAA     []azAAAA          `json:"AAAARecords,omitempty"`
		FQDN     string            `json:"fqdn,omitempty"`
	} `json:"properties"`
}

type azA struct {
	IPv4 string `json:"ipv4Address"`
}

type azAAAA struct {
	IPv6 string `json:"ipv6Address"`
}

func (p *azure) Send(ctx context.Context, r Request[azureSettings]) Outcome {
	s := r.Settings
	ttl := azureTTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	if ttl < 1 || ttl > maxTTL {
		return Outcome{Result: Failed, Message: "service ttl must be 1..86400"}
	}
	if _, out := publishable(r.Family, r.Addresses); out != nil {
		return *out
	}
	name := strings.ToLower(strings.TrimSuffix(r.FQDN, "."))
	zone := strings.ToLower(strings.TrimSuffix(s.Zone, "."))
	rel := "@"
	switch {
	case name == "":
		return Outcome{Result: Failed, Message: "no record name"}
	case name == zone:
	case strings.HasSuffix(name, "."+zone):
		rel = strings.TrimSuffix(name, "."+zone)
	default:
		return Outcome{Result: Failed, Message: fmt.Sprintf("record %s is not in zone %s", name, zone), Advice: "check the service's zone and the record's name"}
	}
	call, out := p.signIn(ctx, s, r.Credential)
	if out != nil {
		return *out
	}
	red := call.api.red
	rtype := r.Family.RecordType()
	path := call.zone + "/" + rtype + "/" + url.PathEscape(rel)
	var set azRecordSet
	found := true
	if code, out := call.do(ctx, http.MethodGet, path, azureAPIVersion, nil, nil, &set, "reading "+rtype+" "+name); out != nil {
		if code != "NotFound" {
			return *out
		}
		found = false
	}
	var current []netip.Addr
	for _, v := range set.Properties.A {
		if a, err := netip.ParseAddr(v.IPv4); err == nil {
			current = append(current, a.Unmap())
		}
	}
	for _, v := range set.Properties.AAAA {
		if a, err := netip.ParseAddr(v.IPv6); err == nil {
			current = append(current, a)
		}
	}
	want := rrsetAfter(current, r.Addresses, r.Delivered, r.KeepOthers)
	what := fmt.Sprintf("%s %s → %s", rtype, name, joinAddrs(want))
	flags := " (ttl " + strconv.Itoa(ttl) + ")"
	if found && sameAddresses(current, want) && set.Properties.TTL == ttl {
		return Outcome{Result: Delivered, Message: red.message(what + " unchanged" + flags)}
	}
	var put azRecordSet
	put.Properties.TTL = ttl
	put.Properties.Metadata = set.Properties.Metadata
	header := http.Header{"If-Match": {set.Etag}}
	verb := "updated"
	if !found {
		put.Properties.Metadata = map[string]string{azureMarkerKey: ManagedMarker}
		header, verb = http.Header{"If-None-Match": {"*"}}, "created"
	} else if set.Etag == "" {
		header = nil
	}
	for _, a := range want {
		if rtype == "A" {
			put.Properties.A = append(put.Properties.A, azA{IPv4: a.String()})
		} else {
			put.Properties.AAAA = append(put.Properties.AAAA, azAAAA{IPv6: a.String()})
		}
	}
	if _, out := call.do(ctx, http.MethodPut, path, azureAPIVersion, header, put, nil, verb[:len(verb)-1]+"ing "+what); out != nil {
		return *out
	}
	return Outcome{Result: Delivered, Message: red.message(what + " " + verb + flags)}
}

// Check signs in (tenant, client id and secret), reads the zone, and
// reads the app's permissions on it (Microsoft.Authorization, read-only)
// to tell whether it may write A and AAAA record sets.
func (p *azure) Check(ctx context.Context, r CheckRequest[azureSettings]) []Step {
	call, out := p.signIn(ctx, r.Settings, r.Credential)
	if out != nil {
		status := StepFailed
		if out.Result == Retry {
			status = StepUnchecked
		}
		return []Step{{Name: "credentials accepted", Status: status, Detail: stepDetail(*out)}}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "Microsoft Entra ID issued an access token for the app"}}
	if _, out := call.do(ctx, http.MethodGet, call.zone, azureAPIVersion, nil, nil, nil, "reading zone "+r.Settings.Zone); out != nil {
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: stepDetail(*out)})
	}
	steps = append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "DNS zone " + r.Settings.Zone})
	var perms struct {
		Value []struct {
			Actions    []string `json:"actions"`
			NotActions []string `json:"notActions"`
		} `json:"value"`
	}
	if _, out := call.do(ctx, http.MethodGet, call.zone+"/providers/Microsoft.Authorization/permissions", azurePermissionsVersion, nil, nil, &perms,
		"reading the app's permissions"); out != nil {
		return append(steps, Step{Name: "may edit records", Status: StepUnchecked, Detail: "the app may not read its permissions: " + out.Message})
	}
	var missing []string
	for _, action := range []string{"Microsoft.Network/dnsZones/A/write", "Microsoft.Network/dnsZones/AAAA/write"} {
		allowed := false
		for _, p := range perms.Value {
			if azureActionIn(action, p.Actions) && !azureActionIn(action, p.NotActions) {
				allowed = true
			}
		}
		if !allowed {
			missing = append(missing, action)
		}
	}
	if len(missing) > 0 {
		return append(steps, Step{Name: "may edit records", Status: StepFailed,
			Detail: "the app lacks " + strings.Join(missing, " and ") + ": " + azureAdviceRole})
	}
	return append(steps, Step{Name: "may edit records", Status: StepPassed, Detail: "the app may write A and AAAA record sets of the zone"})
}

// azureActionIn tells whether action matches one of the patterns of a
// role's actions ("*" matches any run of characters, case-insensitively).
func azureActionIn(action string, patterns []string) bool {
	for _, p := range patterns {
		parts := strings.Split(p, "*")
		for i, part := range parts {
			parts[i] = regexp.QuoteMeta(part)
		}
		if re, err := regexp.Compile("(?i)^" + strings.Join(parts, ".*") + "$"); err == nil && re.MatchString(action) {
			return true
		}
	}
	return false
}

// azureScope is the token scope of a Resource Manager: its scheme and
// host, then /.default (https://management.azure.com/.default).
func azureScope(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base + "/.default"
	}
	return u.Scheme + "://" + u.Host + "/.default"
}
