package netcalc

import (
	"testing"
)

// TestPeer reads RemoteAddr spellings into the one form the broker compares:
// unmapped, without zone, the zero Addr for what is no address.
func TestPeer(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:5353":          "192.0.2.1",
		"[::ffff:192.0.2.1]:5353": "192.0.2.1",
		"[2001:db8::1]:80":        "2001:db8::1",
		"[fe80::1%eth0]:80":       "fe80::1",
		"192.0.2.7":               "192.0.2.7",
		"::ffff:192.0.2.8":        "192.0.2.8",
		"":                        "invalid IP",
		"pipe:1":                  "invalid IP",
		"@":                       "invalid IP",
	} {
		if got := Peer(in); got.String() != want {
			t.Errorf("Peer(%q) = %s, want %s", in, got, want)
		}
	}
	if Peer("nonsense").IsValid() {
		t.Error("Peer(nonsense) is valid")
	}
}
