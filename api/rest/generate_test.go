package rest_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestGeneratedCodeIsCurrent runs the generator as `make generate` does and
// compares its output with the committed openapi.gen.go.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go command is not on PATH (put /usr/local/go/bin there)")
	}
	// The committed config, writing to standard output instead of the file.
	cfg, err := os.ReadFile("oapi-codegen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(cfg), "\n") {
		if !strings.HasPrefix(l, "output:") {
			lines = append(lines, l)
		}
	}
	tmp := filepath.Join(t.TempDir(), "oapi-codegen.yaml")
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gobin, "tool", "oapi-codegen", "-config", tmp, "../../openapi.yaml")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, stderr.String())
	}
	want, err := os.ReadFile("openapi.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("api/rest/openapi.gen.go is not what openapi.yaml generates: run `make generate` and commit the result")
	}
}

// TestSpecIsValid checks openapi.yaml as OpenAPI 3.0.
func TestSpecIsValid(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile("../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi %s, want 3.0.x", doc.OpenAPI)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", method, path)
			}
			if op.Responses.Default() == nil {
				t.Errorf("%s %s has no default problem response", method, path)
			}
		}
	}
}
