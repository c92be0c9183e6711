package djangoimport

import (
	"bytes"
	"os"
	"testing"
)

// FuzzParse feeds arbitrary exports to the parser: it must return an export
// or an error, never panic. The seed corpus (the real fixture and some
// damaged copies) runs in every go test.
func FuzzParse(f *testing.F) {
	fixture, err := os.ReadFile("testdata/ddnsbroker-dumpdata.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fixture)
	f.Add(fixture[:len(fixture)/2])
	f.Add(bytes.ReplaceAll(fixture, []byte(`"ipv4_netmask": 24`), []byte(`"ipv4_netmask": 99`)))
	f.Add(bytes.ReplaceAll(fixture, []byte(`"pk": 1`), []byte(`"pk": "x"`)))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"model": "ddnsbroker.record", "pk": 1, "fields": {"host": 7}}]`))
	f.Add([]byte(`{"not": "a list"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		exp, err := Parse(bytes.NewReader(data))
		if err == nil && exp == nil {
			t.Fatal("Parse returned neither an export nor an error")
		}
	})
}
