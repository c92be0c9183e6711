package rest

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strconv"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/ratelimit"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"golang.org/x/time/rate"
)

// A user may test services DefaultServiceTestBurst times in a row, then
// once per serviceTestEvery: enough for a form, too few to use the
// provider clients to sweep addresses.
const (
	DefaultServiceTestBurst = 10
	serviceTestEvery        = 6 * time.Second
	// serviceTestTimeout bounds a whole test: a check may take several
	// requests, each bounded by the provider client's timeout.
	serviceTestTimeout = 45 * time.Second
)

func newServiceTestLimiter(burst int) *auth.KeyedLimiter {
	if burst <= 0 {
		burst = DefaultServiceTestBurst
	}
	return auth.NewKeyedLimiter(rate.Every(serviceTestEvery), burst, 10_000)
}

// chargeServiceTest takes one test from the caller's allowance.
func (s *Server) chargeServiceTest(ctx context.Context) error {
	if ok, wait := s.serviceTests.Allow(strconv.FormatInt(principal(ctx).UserID, 10)); !ok {
		return &ratelimit.Error{RetryAfter: wait}
	}
	return nil
}

// TestNewService checks unsaved settings: validated exactly as creating the
// service would, then the protocol's read-only checks with the credential
// given here (never a stored one).
func (s *Server) TestNewService(ctx context.Context, req TestNewServiceRequestObject) (TestNewServiceResponseObject, error) {
	b := req.Body
	protocol := string(b.Protocol)
	settings, err := s.newServiceSettings(protocol, newSettingsChange(b.Settings, b.Url, b.UsernameIsFqdn, b.Combined, b.UseMyipv6), b.Credential)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(settings)
	if err != nil {
		return nil, err
	}
	p, ok := s.providers.Provider(protocol)
	if !ok { // validation refuses an unknown protocol already
		return nil, invalid(fieldError("protocol", "is not supported by this version"))
	}
	if err := s.chargeServiceTest(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), serviceTestTimeout)
	defer cancel()
	steps := p.Check(ctx, provider.CheckRequest[json.RawMessage]{Credential: deref(b.Credential, ""), Settings: raw})
	return TestNewService200JSONResponse(testResult(steps, nil)), nil
}

// TestService checks a saved service with its stored settings and
// credential and, given one of its records, sends that record's current
// addresses for real. Stored secrets go only where the service sends them
// anyway: its own credential and its records' passwords.
func (s *Server) TestService(ctx context.Context, req TestServiceRequestObject) (TestServiceResponseObject, error) {
	svc, err := s.store.Service(ctx, req.Id)
	if err != nil {
		return nil, orNotFound(err, "service", req.Id)
	}
	var rec *store.Record
	if req.Body != nil && req.Body.RecordId != nil {
		r, err := s.store.Record(ctx, *req.Body.RecordId)
		switch {
		case errors.Is(err, store.ErrNotFound) || err == nil && r.ServiceID != svc.ID:
			return nil, invalid(fieldError("record_id", "record %d is not a record of service %d", *req.Body.RecordId, svc.ID))
		case err != nil:
			return nil, err
		}
		rec = &r
	}
	p, ok := s.providers.Provider(svc.Protocol)
	if !ok {
		return TestService200JSONResponse(testResult([]provider.Step{{Name: "protocol known", Status: provider.StepFailed,
			Detail: "protocol " + strconv.Quote(svc.Protocol) + " is not supported by this version"}}, nil)), nil
	}
	if err := s.chargeServiceTest(ctx); err != nil {
		return nil, err
	}
	cr := provider.CheckRequest[json.RawMessage]{Settings: svc.Settings}
	if svc.Credentials != nil {
		if cr.Credential, err = s.box.Open(svc.Credentials, svc.CredentialsKey); err != nil {
			return TestService200JSONResponse(testResult([]provider.Step{{Name: "credentials accepted", Status: provider.StepFailed,
				Detail: "the service's credential cannot be decrypted (was the secret key changed?); set it again"}}, nil)), nil
		}
	}
	if rec != nil {
		cr.FQDN, cr.Username = rec.FQDN, rec.Username
		if rec.Password != nil {
			if cr.Password, err = s.box.Open(rec.Password, rec.PasswordKey); err != nil {
				return TestService200JSONResponse(testResult([]provider.Step{{Name: "record credentials", Status: provider.StepFailed,
					Detail: "the record's password cannot be decrypted (was the secret key changed?); set it again"}}, nil)), nil
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), serviceTestTimeout)
	defer cancel()
	steps := p.Check(ctx, cr)
	advice := map[int]string{}
	if rec != nil {
		sent, sentAdvice := sendRecordNow(ctx, p, svc, *rec, cr)
		for i, a := range sentAdvice {
			advice[len(steps)+i] = a
		}
		steps = append(steps, sent...)
	}
	return TestService200JSONResponse(testResult(steps, advice)), nil
}

// sendRecordNow sends the record's current addresses as a delivery would
// (both in one request where the service takes them so), and returns a
// step per request with the provider's advice by step index. The record's
// delivery state is left as it is: the outbox still owns it.
func sendRecordNow(ctx context.Context, p provider.Provider, svc store.Service, rec store.Record,
	cr provider.CheckRequest[json.RawMessage]) ([]provider.Step, map[int]string) {
	var steps []provider.Step
	advice := map[int]string{}
	enabled := map[netcalc.Family]bool{netcalc.V4: rec.IPv4Enabled, netcalc.V6: rec.IPv6Enabled}
	combined := p.Combines(svc.Settings) && rec.IPv4Enabled && rec.IPv6Enabled &&
		rec.V4.Desired.IsValid() && rec.V6.Desired.IsValid()
	for _, f := range netcalc.Families() {
		if !enabled[f] {
			continue
		}
		st := rec.State(f)
		name := "update sent (" + f.RecordType() + ")"
		if !st.Desired.IsValid() {
			steps = append(steps, provider.Step{Name: name, Status: provider.StepUnchecked,
				Detail: "the record has no " + f.String() + " address yet: its host has not reported one"})
			continue
		}
		r := provider.Request[json.RawMessage]{FQDN: rec.FQDN, Family: f, Addresses: []netip.Addr{st.Desired},
			KeepOthers: rec.KeepOtherAddresses, Username: cr.Username, Password: cr.Password, Credential: cr.Credential,
			Settings: svc.Settings}
		if st.Delivered.IsValid() {
			r.Delivered = []netip.Addr{st.Delivered}
		}
		if other := rec.State(f.Other()); other.Desired.IsValid() && enabled[f.Other()] {
			r.Other = []netip.Addr{other.Desired}
		}
		if combined {
			name = "update sent (A and AAAA)"
		}
		out := p.Send(ctx, r)
		step := provider.Step{Name: name, Status: provider.StepPassed, Detail: out.Message}
		if out.Result != provider.Delivered {
			step.Status = provider.StepFailed
			advice[len(steps)] = out.Advice
		}
		steps = append(steps, step)
		if combined {
			break
		}
	}
	return steps, advice
}

// testResult is the API's form of a check: ok unless a step failed.
func testResult(steps []provider.Step, advice map[int]string) ServiceTestResult {
	out := ServiceTestResult{Ok: true, Steps: make([]ServiceTestStep, 0, len(steps))}
	for i, st := range steps {
		ok := st.Status != provider.StepFailed
		out.Ok = out.Ok && ok
		out.Steps = append(out.Steps, ServiceTestStep{Name: st.Name, Ok: ok, Status: ServiceTestStepStatus(st.Status),
			Detail: st.Detail, Advice: advice[i]})
	}
	return out
}
