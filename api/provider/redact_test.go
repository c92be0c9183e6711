package provider

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRedaction: passwords of at least 6 characters are cut out wherever
// they occur, whole; an answer holding a shorter one is not shown, so a
// one-letter password neither garbles a message nor points at its letters.
func TestRedaction(t *testing.T) {
	tests := []struct {
		name, password, answer, want string
	}{
		{"long, absent", "hunter22", "good 198.51.100.7", "good 198.51.100.7"},
		{"long, echoed", "hunter22", "badauth user=home pass hunter22", "badauth user=home pass ***"},
		{"long, twice", "hunter22", "hunter22/hunter22", "***/***"},
		{"long, inside a word", "hunter22", "xhunter22x", "x***x"},
		{"long, a part of it only", "hunter22", "hunter2 is not it", "hunter2 is not it"},
		{"long, query-escaped", "p@ss w/rd", "sent p%40ss+w%2Frd", "sent ***"},
		{"exactly 6", "secret", "wrong secret", "wrong ***"},
		{"6 characters, 7 bytes", "pässwd", "wrong pässwd", "wrong ***"},
		{"short, absent", "abc", "good 198.51.100.7", "good 198.51.100.7"},
		{"short, echoed", "abc", "badauth abc", answerWithCredential},
		{"short, inside a word", "p", "badauth root_password", answerWithCredential},
		{"5 characters", "secre", "no secret here", answerWithCredential},
		{"short, only on a line not shown", "abc", "nohost\nabc", "nohost"},
		{"no password", "", "badauth root_password", "badauth root_password"},
		{"credential query parameter", "", "see /u?token=tok3n&x=1", "see /u?token=***&x=1"},
	}
	for _, tt := range tests {
		red := newRedactor("", "home.example.org", tt.password)
		if got := red.answer(tt.answer); got != tt.want {
			t.Errorf("%s: password %q, answer %q: shown %q, want %q", tt.name, tt.password, tt.answer, got, tt.want)
		}
		if tt.password != "" && strings.Contains(red.detail(tt.answer), tt.password) {
			t.Errorf("%s: the log's copy of the answer holds the password", tt.name)
		}
	}

	// The broker's own words are not garbled by a short password either.
	red := newRedactor("", "home.example.org", "p")
	if got := red.message("dial tcp 192.0.2.1:443: connect: connection refused"); got != "dial tcp 192.0.2.1:443: connect: connection refused" {
		t.Errorf("message garbled: %q", got)
	}
}

// TestShortPasswordAnswer is the case reported: a record password "p"
// turned the answer root_password into root_***assword.
func TestShortPasswordAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("badauth root_password"))
	}))
	t.Cleanup(srv.Close)
	out := newDyndns2Client(nil, UserAgent(testVersion)).Send(context.Background(), dyndns2Settings{URL: srv.URL + "/nic/update"},
		dyndns2Job{FQDN: testFQDN, Username: "alice", Password: "p", IPv4: testV4})
	if out.Result != Failed || out.Message != "HTTP 200: "+answerWithCredential {
		t.Errorf("%v %q, want failed with %q", out.Result, out.Message, answerWithCredential)
	}
}

// TestAnswerShownIsBounded: of an answer, the API sees the first line and
// at most maxAnswerShown bytes of it; a cut never leaves part of a
// password behind.
func TestAnswerShownIsBounded(t *testing.T) {
	const pw = "a-long-record-password"
	red := newRedactor("", "alice", pw)
	line := strings.Repeat("x", maxAnswerShown-10) + pw + strings.Repeat("y", 50)
	got := red.answer("\r\n  \n" + line + "\nsecond line\n")
	if len(got) > maxAnswerShown || strings.Contains(got, "second") || strings.Contains(got, pw[:5]) || !strings.HasSuffix(got, "…") {
		t.Errorf("shown %q (%d bytes)", got, len(got))
	}
	if d := red.detail(line + "\nsecond line"); !strings.Contains(d, "second line") || strings.Contains(d, pw) {
		t.Errorf("detail %q: want every line, redacted", d)
	}
}
