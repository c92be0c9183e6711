package notify

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Render writes what a person reads of a notification in a chat, a push
// message or a mail: a title naming the host or record and a short text
// saying what happened and what to do. Webhooks and generic:// endpoints
// get the JSON Payload instead, whose message is the history's line.
func Render(p Payload) Message {
	host, record, service := "a host", "a record", "its service"
	if p.Host != nil && p.Host.FQDN != "" {
		host = p.Host.FQDN
	}
	if p.Record != nil && p.Record.FQDN != "" {
		record = p.Record.FQDN
	}
	if p.Service != nil && p.Service.Name != "" {
		service = p.Service.Name
	}
	addr := ""
	if p.Delivery != nil && p.Delivery.Address != "" {
		addr = " (" + p.Delivery.Address + ")"
	}
	switch p.Event {
	case DeliveryFailed:
		if p.Digest != nil && p.Digest.Count > 1 {
			names := make([]string, 0, len(p.Digest.Records))
			for _, r := range p.Digest.Records {
				names = append(names, r.FQDN)
			}
			list := strings.Join(names, ", ")
			if more := p.Digest.Count - len(names); more > 0 {
				list += fmt.Sprintf(" and %d more", more)
			}
			return Message{Title: fmt.Sprintf("%d DNS records failed at %s", p.Digest.Count, service),
				Text: fmt.Sprintf("%s refused the updates of %d records: %s. First answer: %s. Check the service's credentials and settings; the records are sent again at the next address change or a resync.",
					service, p.Digest.Count, list, p.Message)}
		}
		return Message{Title: "DNS record failed: " + record,
			Text: fmt.Sprintf("%s could not be updated at %s%s: %s. Check the service's credentials and the record's settings; it is sent again at the next address change or a resync.",
				record, service, addr, p.Message)}
	case DeliveryBlocked:
		return Message{Title: service + " refused updates as abuse",
			Text: fmt.Sprintf("%s answered that the broker's updates of %s are abuse; the record is paused so the account is not banned. Check the account at the provider, then resync the record. (%s)",
				service, record, p.Message)}
	case DeliveryRecovered:
		return Message{Title: "DNS record recovered: " + record,
			Text: fmt.Sprintf("%s is delivered again at %s%s. Nothing to do.", record, service, addr)}
	case HostStale:
		return Message{Title: "Router silent: " + host,
			Text: p.Message + ". Check that the router is online and its DDNS client still sends updates; its records keep their last address."}
	case HostBack:
		return Message{Title: "Router back: " + host, Text: p.Message + ". Nothing to do."}
	case AddressChanged:
		return Message{Title: "Address changed: " + host, Text: p.Message + "."}
	case DriftDetected:
		return Message{Title: "DNS drift: " + record,
			Text: p.Message + ". Something else changes this record at the provider; find it if this repeats."}
	case LoginFailed:
		var d struct {
			Count int `json:"count"`
		}
		_ = json.Unmarshal(p.Data, &d)
		return Message{Title: fmt.Sprintf("%d failed logins", d.Count),
			Text: p.Message + ". If this was not you, check who can reach the web app and change the password of the account."}
	case Test:
		return Message{Title: "DDnsBroker test", Text: "A test notification from DDnsBroker: this channel is reachable."}
	}
	return Message{Title: "DDnsBroker: " + p.Event, Text: p.Message}
}
