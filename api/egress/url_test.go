package egress

import "testing"

func TestCheckURLIsStrict(t *testing.T) {
	for _, ok := range []string{"https://dyn.example/nic/update?a=%20b", "http://192.0.2.1:8080/", "http://[2001:db8::1]/x",
		"https://under_score.example/"} {
		if err := CheckURL(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"https://dyn.example/a b", "https://dyn.example/?a=b c", "https://dyn.example/\t",
		"https://dyn.example/\r\nHost: evil", "https://dyn.example/\x00", "https://dyn.example/\u2028", "https://dyn.example/\u00a0",
		"https://u:p@dyn.example/", "https://@dyn.example/", "https:///x", "ftp://dyn.example/", "/x", "https:dyn.example",
		"https://dyn.example:0/", "https://dyn.example:65536/", "https://dy$n.example/", "https://[fe80::1%25eth0]/",
		"https://dyn.example/#", "https://dyn.example/\xff"} {
		if err := CheckURL(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
