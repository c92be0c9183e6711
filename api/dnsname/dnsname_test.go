package dnsname

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	// 4 labels of 63 + 3 dots = 255; trim to 253 with a shorter last label.
	name253 := label63 + "." + label63 + "." + label63 + "." + strings.Repeat("b", 61)
	tests := []struct {
		in   string
		want string // "" means an error is expected
	}{
		{"host.example.com", "host.example.com"},
		{"Host.Example.COM", "host.example.com"},
		{"host.example.com.", "host.example.com"},
		{"a.b", "a.b"},
		{"_acme-challenge.example.com", "_acme-challenge.example.com"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"1.2.3.example", "1.2.3.example"},
		{"host.123example", "host.123example"},
		{"a-b.c-d.example", "a-b.c-d.example"},
		{label63 + ".example.com", label63 + ".example.com"},
		{name253, name253},
		{name253 + ".", name253},

		{"", ""},
		{".", ""},
		{"host", ""},
		{"host.", ""},
		{"host.example.com..", ""},
		{".host.example.com", ""},
		{"host..example.com", ""},
		{"-host.example.com", ""},
		{"host-.example.com", ""},
		{"host.example.-com", ""},
		{"ho st.example.com", ""},
		{"host.exa*mple.com", ""},
		{"host/.example.com", ""},
		{"1.2.3.4", ""},
		{"host.example.123", ""},
		{strings.Repeat("a", 64) + ".example.com", ""},
		{name253 + "b", ""},
		{"bücher.example", ""},
		{"\u212Aey.example.com", ""}, // Kelvin sign must not lowercase to "k"
		{"host.example.com\x00", ""},
		{"host.example.com\n", ""},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("Normalize(%q) = %q, want error", tt.in, got)
			} else if err.Error() == "" {
				t.Errorf("Normalize(%q): empty error message", tt.in)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
