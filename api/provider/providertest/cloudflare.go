package providertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Tokens the fake Cloudflare knows, by what they may do: CloudflareToken
// everything, CloudflareReadToken find zones and read records but not edit
// them, CloudflareZoneToken find zones only. Any other token is refused as
// Cloudflare refuses an unknown one.
const (
	CloudflareToken     = "cf-fake-token_0123456789abcdef"
	CloudflareReadToken = "cf-fake-readonly_0123456789abcdef"
	CloudflareZoneToken = "cf-fake-zoneonly_0123456789abcdef"
	CloudflareZoneID    = "023e105f4ecef8ad9ca31a8372d0c353"
)

// CloudflareRecord is a DNS record as the fake API v4 holds it.
type CloudflareRecord struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Content string `json:"content"`
	TTL     int    `json:"ttl"`
	Proxied bool   `json:"proxied"`
	Comment string `json:"comment"`
}

// Cloudflare is a local API v4 shaped like Cloudflare's for tests outside
// the provider package (dispatcher, REST): token verification, one zone
// (example.com, CloudflareZoneID) found by name, its DNS records listed by
// type and name, created, patched and deleted, and each token's
// permissions answered with Cloudflare's error codes (1000 invalid token,
// 10000 not permitted).
type Cloudflare struct {
	*httptest.Server
	mu      sync.Mutex
	records map[string]*CloudflareRecord
	nextID  int
}

// NewCloudflare starts the fake and closes it when the test ends.
func NewCloudflare(t testing.TB) *Cloudflare {
	f := &Cloudflare{records: map[string]*CloudflareRecord{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// API is the base URL to put in a service's api_url.
func (f *Cloudflare) API() string { return f.URL + "/client/v4" }

// Add stores a record of example.com and returns its id.
func (f *Cloudflare) Add(r CloudflareRecord) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	r.ID = fmt.Sprintf("rec%029d", f.nextID)
	f.records[r.ID] = &r
	return r.ID
}

// Find returns the records of a type and name.
func (f *Cloudflare) Find(typ, name string) []CloudflareRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []CloudflareRecord
	for _, r := range f.records {
		if r.Type == typ && r.Name == name {
			out = append(out, *r)
		}
	}
	return out
}

func cfAnswer(w http.ResponseWriter, status int, result any, code int, message string) {
	env := map[string]any{"success": code == 0, "errors": []any{}, "messages": []any{}, "result": result}
	if code != 0 {
		env["errors"] = []map[string]any{{"code": code, "message": message}}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(env)
}

func (f *Cloudflare) serve(w http.ResponseWriter, r *http.Request) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	level := map[string]int{CloudflareZoneToken: 1, CloudflareReadToken: 2, CloudflareToken: 3}[token]
	if level == 0 {
		cfAnswer(w, http.StatusUnauthorized, nil, 1000, "Invalid API Token")
		return
	}
	path := strings.Trim(strings.TrimPrefix(r.URL.Path, "/client/v4"), "/")
	parts := strings.Split(path, "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case path == "user/tokens/verify" && r.Method == http.MethodGet:
		cfAnswer(w, http.StatusOK, map[string]string{"id": "tok", "status": "active"}, 0, "")
	case path == "zones" && r.Method == http.MethodGet:
		zones := []map[string]string{}
		if r.URL.Query().Get("name") == "example.com" {
			zones = append(zones, map[string]string{"id": CloudflareZoneID, "name": "example.com", "status": "active"})
		}
		cfAnswer(w, http.StatusOK, zones, 0, "")
	case len(parts) >= 3 && parts[0] == "zones" && parts[2] == "dns_records":
		if parts[1] != CloudflareZoneID {
			cfAnswer(w, http.StatusNotFound, nil, 7003, "Could not route to /zones/"+parts[1]+"/dns_records, perhaps your object identifier is invalid?")
			return
		}
		if need := map[bool]int{true: 2, false: 3}[r.Method == http.MethodGet]; level < need {
			cfAnswer(w, http.StatusForbidden, nil, 10000, "Authentication error")
			return
		}
		f.serveRecords(w, r, parts[3:])
	default:
		cfAnswer(w, http.StatusNotFound, nil, 7000, "No route for that URI")
	}
}

// serveRecords runs with f.mu held.
func (f *Cloudflare) serveRecords(w http.ResponseWriter, r *http.Request, rest []string) {
	var in struct {
		Type    string  `json:"type"`
		Name    string  `json:"name"`
		Content *string `json:"content"`
		TTL     *int    `json:"ttl"`
		Proxied *bool   `json:"proxied"`
		Comment *string `json:"comment"`
	}
	if b, _ := io.ReadAll(r.Body); len(b) > 0 && json.Unmarshal(b, &in) != nil {
		cfAnswer(w, http.StatusBadRequest, nil, 9207, "Request body is invalid.")
		return
	}
	apply := func(rec *CloudflareRecord) {
		if in.Content != nil {
			rec.Content = *in.Content
		}
		if in.TTL != nil {
			rec.TTL = *in.TTL
		}
		if in.Proxied != nil {
			rec.Proxied = *in.Proxied
		}
		if in.Comment != nil {
			rec.Comment = *in.Comment
		}
	}
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		q := r.URL.Query()
		out := []CloudflareRecord{}
		for _, rec := range f.records {
			if (q.Get("type") == "" || rec.Type == q.Get("type")) && (q.Get("name") == "" || rec.Name == q.Get("name")) {
				out = append(out, *rec)
			}
		}
		cfAnswer(w, http.StatusOK, out, 0, "")
	case len(rest) == 0 && r.Method == http.MethodPost:
		rec := &CloudflareRecord{Type: in.Type, Name: in.Name, TTL: 1}
		apply(rec)
		f.nextID++
		rec.ID = fmt.Sprintf("rec%029d", f.nextID)
		f.records[rec.ID] = rec
		cfAnswer(w, http.StatusOK, rec, 0, "")
	case len(rest) == 1:
		rec, ok := f.records[rest[0]]
		switch {
		case !ok:
			cfAnswer(w, http.StatusNotFound, nil, 81044, "Record does not exist.")
		case r.Method == http.MethodPatch:
			apply(rec)
			cfAnswer(w, http.StatusOK, rec, 0, "")
		case r.Method == http.MethodDelete:
			delete(f.records, rec.ID)
			cfAnswer(w, http.StatusOK, map[string]string{"id": rec.ID}, 0, "")
		default:
			cfAnswer(w, http.StatusMethodNotAllowed, nil, 10000, "method not allowed")
		}
	default:
		cfAnswer(w, http.StatusNotFound, nil, 7000, "No route for that URI")
	}
}
