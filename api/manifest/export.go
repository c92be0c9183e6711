package manifest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// state is the configuration in the database, indexed by the names the
// file uses (lower-cased, as the database compares them).
type state struct {
	services     map[string]store.Service // by lower(name)
	servicesByID map[int64]store.Service
	hosts        map[string]store.Host // by lower(fqdn)
	hostsByID    map[int64]store.Host
	records      map[recordKey]store.Record
	webhooks     map[string]store.Webhook // by lower(name), the webhook form only
	notifiers    map[string]store.Webhook // by lower(name), the Shoutrrr channels
}

// recordKey names a record as the database keeps it unique: its host, its
// service and its FQDN, all lower-cased. Several hosts may feed one name
// through one service (one RRset): only the host tells their records apart.
type recordKey struct{ host, service, fqdn string }

func keyOf(host, service, fqdn string) recordKey {
	return recordKey{strings.ToLower(host), strings.ToLower(service), strings.ToLower(fqdn)}
}

const pageSize = 1000

func load(ctx context.Context, st *store.Store) (*state, error) {
	s := &state{services: map[string]store.Service{}, servicesByID: map[int64]store.Service{},
		hosts: map[string]store.Host{}, hostsByID: map[int64]store.Host{},
		records: map[recordKey]store.Record{}, webhooks: map[string]store.Webhook{}, notifiers: map[string]store.Webhook{}}
	services, err := st.Services(ctx)
	if err != nil {
		return nil, err
	}
	for _, v := range services {
		s.services[strings.ToLower(v.Name)] = v
		s.servicesByID[v.ID] = v
	}
	for p := (store.HostPage{Limit: pageSize}); ; {
		rows, err := st.HostsPage(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, h := range rows {
			s.hosts[strings.ToLower(h.FQDN)] = h
			s.hostsByID[h.ID] = h
		}
		if len(rows) < pageSize {
			break
		}
		p.AfterFQDN, p.AfterID = strings.ToLower(rows[len(rows)-1].FQDN), rows[len(rows)-1].ID
	}
	for p := (store.RecordPage{Limit: pageSize}); ; {
		rows, err := st.RecordsPage(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			s.records[keyOf(s.hostsByID[r.HostID].FQDN, s.servicesByID[r.ServiceID].Name, r.FQDN)] = r
		}
		if len(rows) < pageSize {
			break
		}
		p.AfterFQDN, p.AfterID = rows[len(rows)-1].FQDN, rows[len(rows)-1].ID
	}
	var afterName string
	var afterID int64
	for {
		rows, err := st.WebhooksPage(ctx, afterName, afterID, pageSize, false)
		if err != nil {
			return nil, err
		}
		for _, w := range rows {
			if w.Destination != nil {
				s.notifiers[strings.ToLower(w.Name)] = w
			} else {
				s.webhooks[strings.ToLower(w.Name)] = w
			}
		}
		if len(rows) < pageSize {
			break
		}
		afterName, afterID = rows[len(rows)-1].Name, rows[len(rows)-1].ID
	}
	return s, nil
}

// ExportOptions say whether secrets go into the file.
type ExportOptions struct {
	// Passphrase seals the secrets; "" leaves them out.
	Passphrase string
	// Box opens the secrets in the database (the server's secret key);
	// needed only with a passphrase.
	Box *secretbox.Box
}

// Export reads the whole configuration.
func Export(ctx context.Context, st *store.Store, opt ExportOptions) (*Manifest, error) {
	s, err := load(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	m := &Manifest{Version: FormatVersion, Services: []Service{}, Hosts: []Host{}, Webhooks: []Webhook{}, Notifiers: []Notifier{}}
	var seal *sealer
	if opt.Passphrase != "" {
		if m.Secrets, seal, err = newSealing(opt.Passphrase); err != nil {
			return nil, err
		}
	}
	// reseal moves one secret from the server's key to the passphrase's.
	reseal := func(what string, sealed []byte, keyID string) (string, error) {
		if seal == nil || sealed == nil {
			return "", nil
		}
		v, err := opt.Box.Open(sealed, keyID)
		if err != nil {
			return "", fmt.Errorf("export: the %s cannot be read with this secret key: %w", what, err)
		}
		return seal.seal(v), nil
	}
	for _, v := range s.services {
		out := Service{Name: v.Name, Protocol: v.Protocol, Shared: v.Shared, Settings: map[string]any{}}
		if err := json.Unmarshal(v.Settings, &out.Settings); err != nil {
			return nil, fmt.Errorf("export: service %s: settings: %w", v.Name, err)
		}
		if out.Credential, err = reseal("credential of service "+v.Name, v.Credentials, v.CredentialsKey); err != nil {
			return nil, err
		}
		m.Services = append(m.Services, out)
	}
	byHost := map[int64][]Record{}
	for _, r := range s.records {
		svc := s.servicesByID[r.ServiceID]
		out := Record{FQDN: r.FQDN, Service: svc.Name,
			IPv4Enabled: ptr(r.IPv4Enabled), IPv4Netmask: ptr(r.IPv4Netmask), IPv4HostIdentifier: r.IPv4HostIdentifier.String(),
			IPv6Enabled: ptr(r.IPv6Enabled), IPv6Netmask: ptr(r.IPv6Netmask), IPv6HostIdentifier: r.IPv6HostIdentifier.String(),
			Username: r.Username, KeepOtherAddresses: r.KeepOtherAddresses, DropWhenStale: r.DropWhenStale}
		if r.IPv6HostMAC != nil {
			// The identifier is the MAC's EUI-64 form: the MAC says it.
			out.IPv6HostMAC, out.IPv6HostIdentifier = r.IPv6HostMAC.String(), ""
		}
		if r.IPv6SubnetID != nil {
			out.IPv6SubnetID = netcalc.FormatSubnetID(*r.IPv6SubnetID)
		}
		if r.IPv4Static.IsValid() {
			out.IPv4Mode, out.IPv4StaticAddress = string(rest.Static), r.IPv4Static.String()
		}
		if r.IPv6Static.IsValid() {
			out.IPv6Mode, out.IPv6StaticAddress = string(rest.Static), r.IPv6Static.String()
		}
		if out.Password, err = reseal("password of record "+r.FQDN+" via "+svc.Name, r.Password, r.PasswordKey); err != nil {
			return nil, err
		}
		byHost[r.HostID] = append(byHost[r.HostID], out)
	}
	for _, h := range s.hosts {
		out := Host{FQDN: h.FQDN, Enabled: ptr(h.Enabled), IPv4Enabled: ptr(h.IPv4Enabled), IPv6Enabled: ptr(h.IPv6Enabled),
			IPv4PrivateAllowed: h.PrivateIPv4Allowed, StaleAfter: staleSeconds(h.StaleAfter), Notes: h.Notes, Records: byHost[h.ID]}
		if out.Records == nil {
			out.Records = []Record{}
		}
		if seal != nil {
			out.SecretHash = seal.seal(h.SecretHash)
		}
		m.Hosts = append(m.Hosts, out)
	}
	for _, w := range s.webhooks {
		out := Webhook{Name: w.Name, URL: w.URL, Events: slices.Clone(w.Events), Enabled: ptr(w.Enabled)}
		if out.Secret, err = reseal("secret of webhook "+w.Name, w.Secret, w.SecretKey); err != nil {
			return nil, err
		}
		m.Webhooks = append(m.Webhooks, out)
	}
	for _, w := range s.notifiers {
		out := Notifier{Name: w.Name, Destination: w.DestinationShown, Events: slices.Clone(w.Events), Enabled: ptr(w.Enabled)}
		if out.URL, err = reseal("url of notifier "+w.Name, w.Destination, w.DestinationKey); err != nil {
			return nil, err
		}
		m.Notifiers = append(m.Notifiers, out)
	}
	m.sort()
	return m, nil
}

// staleSeconds is a host's own stale-after as the file writes it: whole
// seconds, nil for the server's.
func staleSeconds(d *time.Duration) *int64 {
	if d == nil {
		return nil
	}
	return ptr(int64(*d / time.Second))
}

func ptr[T any](v T) *T { return &v }
