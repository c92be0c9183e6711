package provider

import (
	"net/url"
	"testing"
)

// TestAliSignOfficialVector: signature V1 reproduces the example of
// Alibaba Cloud's documentation (DescribeRegions, id testid, secret
// testsecret; the example spells its timestamp parameter TimeStamp).
func TestAliSignOfficialVector(t *testing.T) {
	params := url.Values{"AccessKeyId": {"testid"}, "Action": {"DescribeRegions"}, "Format": {"XML"}, "SignatureMethod": {"HMAC-SHA1"},
		"SignatureNonce": {"3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"}, "SignatureVersion": {"1.0"}, "TimeStamp": {"2016-02-23T12:46:24Z"},
		"Version": {"2014-05-26"}}
	if got, want := aliSign("GET", params, "testsecret"), "CT9X0VtwR86fNWSnsc6v8YGOjuE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	params.Del("TimeStamp")
	params.Set("Timestamp", "2016-02-23T12:46:24Z")
	if got, want := aliSign("GET", params, "testsecret"), "OLeaidS1JvxuMvnyHOwuJ+uX5qY="; got != want {
		t.Fatalf("signature with Timestamp %s, want %s", got, want)
	}
	if got := aliPercent("a b*c~d/é"); got != "a%20b%2Ac~d%2F%C3%A9" {
		t.Errorf("percent-encoding %s", got)
	}
}
