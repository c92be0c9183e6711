package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// TestWordsMatchTheSpec: the typed words are the enums openapi.yaml gives
// the web app and scripts, value for value.
func TestWordsMatchTheSpec(t *testing.T) {
	spec, err := openapi3.NewLoader().LoadFromFile("../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	enum := func(s *openapi3.Schema) []string {
		var out []string
		for _, v := range s.Enum {
			out = append(out, v.(string))
		}
		return out
	}
	strs := func(vs ...[]string) []string { return slices.Concat(vs...) }
	schemas := spec.Components.Schemas
	delivery := schemas["Delivery"].Value.Properties
	for name, c := range map[string]struct{ spec, code []string }{
		"EventKind":       {enum(schemas["EventKind"].Value), words(store.EventKinds())},
		"SyncState":       {enum(schemas["SyncState"].Value), words(store.SyncStates())},
		"Delivery.state":  {enum(delivery["state"].Value), words(store.DeliveryStates())},
		"Delivery.reason": {enum(delivery["reason"].Value), words(store.Reasons())},
		"WebhookEvent": {enum(schemas["WebhookEvent"].Value), strs(words([]store.EventKind{store.EventDeliveryFailed,
			store.EventDeliveryBlocked, store.EventDeliveryRecovered, store.EventHostStale, store.EventHostBack,
			store.EventAddressChanged, store.EventDriftDetected, store.EventAuthLoginFailed}))},
	} {
		if !slices.Equal(c.spec, c.code) {
			t.Errorf("%s: the spec lists %v, the code declares %v", name, c.spec, c.code)
		}
	}
}

func words[T ~string](ws []T) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = string(w)
	}
	return out
}

// TestWordsAreDeclaredOnce: no Go file of api/ but words.go (and the
// generated API) spells an event kind, a delivery or sync state or a
// delivery reason as a string literal; they use the constants. The
// provider package has its own vocabulary (results, step statuses), and a
// few literals mean something else that happens to be spelled alike.
func TestWordsAreDeclaredOnce(t *testing.T) {
	kinds := words(store.EventKinds())
	states := slices.Concat(words(store.DeliveryStates()), words(store.SyncStates()), words(store.Reasons()))
	other := map[string][]string{ // file → literals that are not these words
		"metrics/metrics.go":     {"idle"},   // idle pool connections
		"drift/drift.go":         {"failed"}, // a count in an event's data
		"djangoimport/apply.go":  {"import"}, // the import's actor
		"cmd/ddnsbroker/main.go": {"import"}, // the command
	}
	root := ".."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			strings.HasSuffix(path, ".gen.go") || strings.HasSuffix(path, filepath.Join("store", "words.go")) {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			switch {
			case slices.Contains(kinds, s):
				t.Errorf("%s: event kind %q as a literal; use its store.Event constant", rel, s)
			case slices.Contains(states, s) && !strings.HasPrefix(rel, "provider/") && !slices.Contains(other[rel], s):
				t.Errorf("%s: %q as a literal; use the store constant", rel, s)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
