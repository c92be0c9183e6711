package notify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/egress"
	"github.com/ddnsbroker/ddnsbroker/api/egress/egresstest"
	"github.com/ddnsbroker/ddnsbroker/api/notify"
)

// TestSenderOneRequestPerAttempt: a receiver that closes, resets, answers
// half or not at all gets one POST per attempt.
func TestSenderOneRequestPerAttempt(t *testing.T) {
	for _, mode := range egresstest.Modes() {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			p := egresstest.New(t)
			p.SetAnswer(http.StatusOK, "")
			s := notify.NewSender("test", nil)
			req := notify.Request{URL: p.URL + "/hook", Event: notify.Test, ID: "1", Body: []byte(`{"event":"webhook.test"}`)}
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() { defer wg.Done(); s.Send(context.Background(), req) }()
			}
			wg.Wait()
			before := p.Requests()
			p.SetMode(mode)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if res := s.Send(ctx, req); res.Delivered && mode != egresstest.Half {
				t.Errorf("delivered to a receiver that did not answer")
			}
			if n := p.Requests() - before; n != 1 {
				t.Errorf("%d requests on the wire, want 1", n)
			}
		})
	}
}

// TestSenderReason: the reason is the broker's words only; the message
// adds the first line of the receiver's answer, cut at 200 characters.
func TestSenderReason(t *testing.T) {
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("upstream says " + strings.Repeat("z", 300) + "\nsecond line"))
	}))
	t.Cleanup(rcv.Close)
	res := notify.NewSender("test", nil).Send(context.Background(), notify.Request{URL: rcv.URL, Event: notify.Test, Body: []byte("{}")})
	if res.Delivered || res.Status != 502 || res.Reason != "HTTP 502 Bad Gateway" {
		t.Errorf("result %+v", res)
	}
	if !strings.HasPrefix(res.Message, "HTTP 502: upstream says zzz") || len([]rune(res.Message)) > 220 || strings.Contains(res.Message, "second") {
		t.Errorf("message %q", res.Message)
	}
}

// TestSenderRefusesMetadata: a webhook at a metadata address is refused
// before any connection, with a reason naming the setting.
func TestSenderRefusesMetadata(t *testing.T) {
	hc := egress.Dialer{Policy: egress.DefaultPolicy(), Control: func(network, address string, c syscall.RawConn) error {
		t.Errorf("the policy let the sender connect to %s", address)
		return errors.New("test: not connecting beyond loopback")
	}}.Client(notify.Timeout)
	for _, url := range []string{"http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://[fe80::1%25lo]:9000/hook"} {
		res := notify.NewSender("test", hc).Send(context.Background(), notify.Request{URL: url, Event: notify.Test, Body: []byte("{}")})
		if res.Delivered || !strings.Contains(res.Reason, "DDNSBROKER_ALLOW_TARGETS") || res.Reason != res.Message {
			t.Errorf("%s: %+v, want refused naming DDNSBROKER_ALLOW_TARGETS", url, res)
		}
	}
}
