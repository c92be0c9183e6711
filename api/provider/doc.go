// Package provider talks to the DNS services records are published at:
// one file per protocol (dyndns2.go, rfc2136.go, httptemplate.go,
// cloudflare.go), the registry that holds them (registry.go), the
// catalogue of ready-made services (presets.go), and what every protocol
// shares: settings decoding and the checks Describe drives (adapt.go,
// settings.go), the HTTP client pieces and the answer tables (http.go),
// outcomes and the redaction of secrets (outcome.go), the drift check's
// settings (drift.go), and what the record APIs share (rrset.go): zone
// lookup, the checked addresses of a delivery, what an RRset holds after
// it (keep_other_addresses), and for the APIs that keep one record per
// address the plan of records to create, update or delete (markers).
//
// The dispatcher (api/delivery) decides when to send: it claims due jobs,
// holds leases, retries with backoff and supersedes old addresses. It
// reaches a protocol only through the registry: Registry.Provider(name),
// then Provider.Send with one Request, which is one attempt. The REST API
// validates and describes services through the same registry, and the
// drift check reads its settings with ParseDrift.
//
// # Adding a provider
//
// A provider is one file, one test file and one line in New (registry.go).
// In openapi.yaml its name joins the Protocol enum (the API refuses other
// names before they reach the registry) and a <Name>Settings schema
// documents its settings for scripts (api/rest's
// TestSettingsSchemasMatchPresets holds the spec to it). The database keeps
// only the form of a protocol's name (migration 000011): no migration.
//
// The file, say example.go in this package for a JSON API with a bearer
// token: the settings are a struct with json tags, and the base URL is
// always a setting, api_url, whose default is the public endpoint, so tests
// point it at a local server.
//
//	const ProtocolExample = "example"
//	const exampleAPIURL = "https://api.example.net/v1"
//
//	type exampleSettings struct {
//		Zone   string `json:"zone"`
//		APIURL string `json:"api_url"` // "": exampleAPIURL
//	}
//
//	type example struct{ deps Deps }
//
//	func NewExample(d Deps) Provider {
//		return Adapt[exampleSettings](&example{deps: d.withDefaults()})
//	}
//
// and example implements Protocol[exampleSettings]:
//
//   - Describe: the protocol's name, title, one-sentence summary, each
//     setting (Field: key, type, label, help, default, required, choices,
//     min/max; api_url as a FieldURL with Default exampleAPIURL and
//     Destination true), the service credential's Prompt (nil when records
//     carry a username and password instead: RecordUsername,
//     RecordPassword), Families, Together (TogetherNever unless one request
//     carries both families) and DocsURL. The adapter checks what Describe
//     declares (required, choices, ranges, credential present or not), and
//     the API serves it so the web app can render the form.
//   - Validate: only what Describe cannot say (a zone that is not a name).
//     Messages never quote a value.
//   - Send: one attempt. Build the calls with newAPI(p.deps, base,
//     "example: ", header, credential): it sends with the injected
//     Deps.HTTP (egress: checked destinations, no redirects, timeouts) and
//     the User-Agent, reads answers bounded and redacts the credential.
//     Never create an *http.Client. One table maps the provider's answers
//     (status, error code) to a Meaning: Result (Delivered, Retry, Failed,
//     Blocked) and Advice in plain words, the Advice* constants where they
//     fit; HTTPStatus is the fallback, applied by API.Judge and API.Decode.
//     Send returns no error: a request that cannot be built is a Failed
//     Outcome.
//   - Check: steps such as "credentials accepted", "zone found", "may edit
//     records", each StepPassed, StepFailed or StepUnchecked with a Detail,
//     made with requests that change nothing (GET). What cannot be checked
//     without changing DNS is a StepUnchecked step saying so.
//
// Request carries the record's FQDN, its Family, Addresses (what the name
// must hold for Family), Delivered (what the broker last delivered for it),
// KeepOthers, Other (the other family's wanted addresses), the record's
// Username and Password and the service's Credential, decrypted, and the
// decoded Settings. With KeepOthers (a record's keep_other_addresses) a
// provider that edits an RRset removes only Delivered and adds Addresses,
// leaving other addresses of Family alone; without it the RRset becomes
// Addresses. A provider reads these two fields and nothing else for it.
// Where the provider has record comments or tags, records the broker
// creates carry ManagedMarker, and a record without it is never deleted.
//
// Optional interfaces: Combiner (both families in one request, decided by
// the settings), Batcher (several records in one request, one Outcome
// each, as dyndns2's hostname=a,b,c), CredentialChecker (a credential with a form to check
// before it is sealed; without it, one word of printable ASCII), Destiner
// (secrets go somewhere the Destination settings do not simply name),
// Presetter (the provider's own entries in the "new service" catalogue).
//
// The test file, example_test.go, uses api/provider/providertest:
//
//   - Run runs the answer table (Case: settings, request, the fake
//     provider's Serve handler, the expected result, message, advice,
//     Retry-After and number of requests) against a fake API on 127.0.0.1,
//     and checks that no Outcome shows a secret;
//   - RunChecks does the same for Check and fails on any request that
//     could change DNS;
//   - OneRequestPerAttempt proves an attempt puts exactly one request on
//     the wire however the provider misbehaves;
//   - NewFake is a recording fake API for stateful tests; Answer and JSON
//     are one-line handlers;
//   - Validate and Describe check settings errors and the description.
//
// kit_test.go shows them on cloudflare.
//
// # Outcomes
//
// An Outcome's Message is what an admin reads next to the record: one line,
// at most 512 bytes, of the provider's answer at most its first line (200
// bytes), secrets replaced by *** (or the answer withheld when a secret is
// too short to cut out). Whoever may point a service at an address must not
// read what answers there, hence the bounds. Answer holds more of the
// answer, redacted, for the log only. Advice says what the user can do.
// RetryAfter is the provider's Retry-After, capped at 24 hours.
//
// Results: Delivered when the provider accepted the address (for dyndns2
// "good" and "nochg"); Retry for what may pass (network errors, timeouts,
// HTTP 5xx and 429, dyndns2 "911" and "dnserr"); Blocked when the provider
// says the client sends too much (dyndns2 "abuse"): the dispatcher pauses
// for hours; Failed for everything resending cannot fix until someone
// changes the record or the service (refused credentials, unknown names,
// redirects, answers not understood).
package provider
