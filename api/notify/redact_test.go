package notify

import (
	"strings"
	"testing"
)

// TestRedact: a service's error that quotes the URL it called (Telegram's
// holds the bot token in its path) loses every part of the destination
// that could be a credential, however it is written.
func TestRedact(t *testing.T) {
	for _, c := range []struct{ dest, msg string }{
		{"telegram://123456:ABC-bot-secret@telegram?chats=@my-private-chan",
			`sending to Telegram: Post "https://api.telegram.org/bot123456:ABC-bot-secret/sendMessage": chat @my-private-chan not found`},
		{"ntfy://alice:pa%24%24word-77@ntfy.example.net/topic-secret-55?scheme=http",
			`POST http://ntfy.example.net/topic-secret-55 as alice:pa$$word-77 failed`},
		{"discord://webhook-token-8812@998877665544",
			`POST https://discord.com/api/webhooks/998877665544/webhook-token-8812: 404`},
	} {
		got := redact(c.msg, c.dest)
		for _, secret := range []string{"123456:ABC-bot-secret", "my-private-chan", "pa$$word-77", "topic-secret-55", "webhook-token-8812", "998877665544"} {
			if strings.Contains(got, secret) {
				t.Errorf("redact(%q) = %q: holds %q", c.msg, got, secret)
			}
		}
		if got == "" {
			t.Errorf("redact(%q) is empty", c.msg)
		}
	}
}
