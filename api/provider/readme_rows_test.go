package provider_test

import (
	"os"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
)

// TestREADMEListsEveryPreset keeps README's provider table true: one row
// per preset of the registry (the built-in catalogue and each protocol's
// own), and no row for a preset that does not exist.
func TestREADMEListsEveryPreset(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if id, ok := strings.CutPrefix(line, "| `"); ok {
			if i := strings.Index(id, "` | ["); i > 0 {
				rows[id[:i]] = true
			}
		}
	}
	presets := provider.New(provider.Deps{}).Presets()
	for _, p := range presets {
		if !rows[p.ID] {
			t.Errorf("README's provider table has no row for preset %q", p.ID)
		}
		delete(rows, p.ID)
	}
	for id := range rows {
		t.Errorf("README's provider table lists %q, which is no preset", id)
	}
}
