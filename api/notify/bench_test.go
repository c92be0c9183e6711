package notify_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/notify"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// BenchmarkUpdateLatency measures how long a router's new address takes to
// be delivered for 6 records, with no notification channel, and with every
// channel kind failing at once: a webhook and an ntfy server that hang, an
// ntfy server that is down, all subscribed to everything. It reports the
// milliseconds per update (polled every 20 ms); the two should be equal
// within that noise.
func BenchmarkUpdateLatency(b *testing.B) {
	for _, withChannels := range []bool{false, true} {
		name := "no-channels"
		if withChannels {
			name = "failing-channels"
		}
		b.Run(name, func(b *testing.B) {
			f := newFixture(b, fastConfig())
			if withChannels {
				hang := newReceiver(b, 200)
				hang.hold = make(chan struct{})
				f.webhook(b, "hangs", hang.URL, "", true, notify.Events()...)
				slow, slowHost := fakeNtfy(b, "slow", "", "")
				slow.hold = make(chan struct{})
				b.Cleanup(func() { slow.mu.Lock(); close(slow.hold); slow.hold = nil; slow.mu.Unlock() })
				down, downHost := fakeNtfy(b, "down", "", "")
				down.down = true
				f.channel(b, "ntfy hangs", "ntfy://"+slowHost+"/slow?scheme=http", notify.Events()...)
				f.channel(b, "ntfy down", "ntfy://"+downHost+"/down?scheme=http", notify.Events()...)
			}
			var recs []store.Record
			for i := range 6 {
				recs = append(recs, f.record(b, fmt.Sprintf("r%d.example.com", i)))
			}
			f.dispatcher(b)
			f.run(b, f.notifier.Run)
			var total time.Duration
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				f.update(b, fmt.Sprintf("198.51.%d.%d", 100+i/250, 1+i%250))
				waitFor(b, "the deliveries", 10*time.Second, func() bool {
					for _, r := range recs {
						if f.state(b, r.ID) != "delivered" {
							return false
						}
					}
					return true
				})
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/update")
		})
	}
}
