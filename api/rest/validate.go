package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/egress"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// validateRequest checks a request against its operation in the spec
// (parameters, content type, body schema) before anything else reads it.
// The validated body, with the spec's defaults filled in, is what the
// generated handler then binds.
func (s *Server) validateRequest(route *routers.Route) echo.MiddlewareFunc {
	opts := &openapi3filter.Options{
		MultiError:         true,
		KeepValidatedValue: true,
		// Authentication ran before, by the operation's scope.
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			params := make(map[string]string, len(c.ParamNames()))
			var bad []FieldError
			for i, name := range c.ParamNames() {
				params[name] = c.ParamValues()[i]
				if !cleanText(params[name]) {
					bad = append(bad, FieldError{Field: name, Message: textRule})
				}
			}
			for name, values := range c.QueryParams() {
				for _, v := range values {
					if !cleanText(v) {
						bad = append(bad, FieldError{Field: name, Message: textRule})
					}
				}
			}
			if len(bad) > 0 {
				return invalid(bad...)
			}
			in := &openapi3filter.RequestValidationInput{Request: c.Request(), PathParams: params, Route: route, Options: opts}
			if err := openapi3filter.ValidateRequest(c.Request().Context(), in); err != nil {
				var be *echo.HTTPError
				if errors.As(err, &be) { // the body was over the limit
					return be
				}
				return requestProblem(err)
			}
			return next(c)
		}
	}
}

var (
	unsupportedProperty = regexp.MustCompile(`^property "([^"]+)" is unsupported$`)
	missingProperty     = regexp.MustCompile(`^property "([^"]+)" is missing$`)
	numberBound         = regexp.MustCompile(`^number must be (at least|at most|more than|less than|a multiple of) (.+)$`)
	stringLength        = regexp.MustCompile(`^(minimum|maximum) string length is (\d+)$`)
)

// requestProblem answers a request the spec refuses. When its body could
// not be read as a JSON object it is a 400 saying what to send; otherwise a
// 422 naming each field and why, in words rather than in the schema's terms.
// Only reasons are used: they never quote the submitted value.
func requestProblem(err error) error {
	var body []string
	fields := requestFieldErrors(err)
	for _, f := range fields {
		if f.Field == "" {
			body = append(body, f.Message)
		}
	}
	if len(body) > 0 {
		return malformed(body...)
	}
	return invalid(fields...)
}

// requestFieldErrors names the field of each of kin-openapi's complaints;
// complaints about the body as a whole have no field.
func requestFieldErrors(err error) []FieldError {
	var out []FieldError
	var walk func(err error, param string, schema *openapi3.Schema)
	walk = func(err error, param string, schema *openapi3.Schema) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, x := range e {
				walk(x, param, schema)
			}
		case *openapi3filter.RequestError:
			name := param
			if e.Parameter != nil {
				name = e.Parameter.Name
				if e.Parameter.Schema != nil {
					schema = e.Parameter.Schema.Value
				}
			}
			var pe *openapi3filter.ParseError
			switch {
			case e.Err == nil && e.Parameter == nil && strings.Contains(e.Reason, "Content-Type"):
				out = append(out, FieldError{Message: "send the body as JSON, with the header Content-Type: application/json"})
			case e.Err == nil:
				out = append(out, FieldError{Field: name, Message: e.Reason})
			case e.Parameter == nil && errors.As(e.Err, &pe):
				out = append(out, FieldError{Message: "the body is not valid JSON" + syntaxPosition(e.Err)})
			case errors.Is(e.Err, openapi3filter.ErrInvalidRequired) && e.Parameter == nil:
				out = append(out, FieldError{Message: "a JSON object is required as the body"})
			case errors.Is(e.Err, openapi3filter.ErrInvalidRequired):
				out = append(out, FieldError{Field: name, Message: "is required"})
			default:
				walk(e.Err, name, schema)
			}
		case *openapi3.SchemaError:
			field := joinField(param, strings.Join(e.JSONPointer(), "."))
			msg := e.Reason
			if m := unsupportedProperty.FindStringSubmatch(msg); m != nil {
				field, msg = joinField(field, m[1]), "is not a field of this request"
			} else if missingProperty.MatchString(msg) { // the pointer names it
				msg = "is required"
			} else {
				msg = plainReason(e)
			}
			if field == "" { // the body as a whole
				msg = "the body must be a JSON object"
				if e.Reason == "Value is not nullable" {
					msg += ", not null"
				}
			}
			out = append(out, FieldError{Field: field, Message: msg})
		case *openapi3filter.ParseError:
			msg := "cannot be read"
			if schema != nil && schema.Type.Is("integer") {
				msg = "must be a whole number" + bounds(schema)
			} else if schema != nil && schema.Type.Is("boolean") {
				msg = "must be true or false"
			} else if e.Kind == openapi3filter.KindInvalidFormat {
				msg = "has an invalid format"
			}
			out = append(out, FieldError{Field: param, Message: msg})
		default:
			var se *openapi3.SchemaError
			var pe *openapi3filter.ParseError
			switch {
			case errors.As(err, &se):
				walk(se, param, schema)
			case errors.As(err, &pe):
				walk(pe, param, schema)
			default:
				out = append(out, FieldError{Field: param, Message: "is not valid"})
			}
		}
	}
	walk(err, "", nil)
	return out
}

// plainReason says what kin-openapi's reason says, as the rest of the
// API's messages do ("must be at most 32", "must be one of …").
func plainReason(e *openapi3.SchemaError) string {
	r := e.Reason
	switch {
	case e.SchemaField == "format" && e.Schema != nil && e.Schema.Format == "date-time":
		return "must be a date and time such as 2026-01-31T12:00:00Z"
	case e.SchemaField == "format" && e.Schema != nil:
		return fmt.Sprintf("must be in %s format", e.Schema.Format)
	case e.SchemaField == "enum" && e.Schema != nil:
		vals := make([]string, len(e.Schema.Enum))
		for i, v := range e.Schema.Enum {
			vals[i] = fmt.Sprint(v)
		}
		return "must be one of " + strings.Join(vals, ", ")
	case e.SchemaField == "pattern":
		return "has characters or a form that are not allowed here"
	case r == "Value is not nullable":
		return "must not be null"
	case r == "value must be an integer":
		return "must be a whole number"
	case strings.HasPrefix(r, "value must be "):
		return strings.TrimPrefix(r, "value ")
	case r == "":
		return "does not match the schema's " + e.SchemaField
	}
	if m := numberBound.FindStringSubmatch(r); m != nil {
		return "must be " + m[1] + " " + m[2]
	}
	if m := stringLength.FindStringSubmatch(r); m != nil {
		switch {
		case m[1] == "minimum" && m[2] == "1":
			return "must not be empty"
		case m[1] == "minimum":
			return "must have at least " + m[2] + " characters"
		}
		return "must have at most " + m[2] + " characters"
	}
	return r
}

// bounds is " from 1 to 500" for a schema with both, or what it has.
func bounds(s *openapi3.Schema) string {
	switch {
	case s.Min != nil && s.Max != nil:
		return fmt.Sprintf(" from %g to %g", *s.Min, *s.Max)
	case s.Min != nil:
		return fmt.Sprintf(" of at least %g", *s.Min)
	case s.Max != nil:
		return fmt.Sprintf(" of at most %g", *s.Max)
	}
	return ""
}

// syntaxPosition is " (at byte 12)" for a JSON syntax error.
func syntaxPosition(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf(" (at byte %d)", se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return " (it ends too soon)"
	}
	return ""
}

func joinField(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "." + b
}

// Domain rules, named by the `validate` tags the spec puts on fields
// (x-oapi-codegen-extra-tags). Each returns the message shown to the client.
var rules = map[string]func(string) error{
	"fqdn_name": func(s string) error {
		_, err := dnsname.Normalize(s)
		return err
	},
	"host_ipv4": func(s string) error {
		_, err := parseHostAddr(s, 4)
		return err
	},
	"host_ipv6": func(s string) error {
		_, err := parseHostAddr(s, 6)
		return err
	},
	"prefix_ipv6": func(s string) error {
		_, err := parsePrefix6(s)
		return err
	},
	"ident_ipv4": func(s string) error {
		_, err := parseIdentifier(s, 4)
		return err
	},
	"ident_ipv6": func(s string) error {
		_, err := parseIdentifier(s, 6)
		return err
	},
	"httpurl": checkServiceURL,
	// A patch's "" removes the MAC or the subnet id; omitempty does not
	// skip it (the field is a pointer, and it is set).
	"mac": func(s string) error {
		if s == "" {
			return nil
		}
		_, err := netcalc.ParseMAC(s)
		return err
	},
	"subnet_id": func(s string) error {
		if s == "" {
			return nil
		}
		_, err := parseSubnetID(s)
		return err
	},
}

// parseSubnetID reads a record's subnet id; one that no delegated prefix
// can hold (a /1 leaves 63 bits) is refused here, one that does not fit
// the host's prefix where the host is known.
func parseSubnetID(s string) (uint64, error) {
	id, err := netcalc.ParseSubnetID(s)
	if err == nil && id>>63 != 0 {
		err = fmt.Errorf("subnet id %s does not fit in any prefix", netcalc.FormatSubnetID(id))
	}
	return id, err
}

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	for tag, rule := range rules {
		if err := v.RegisterValidation(tag, func(fl validator.FieldLevel) bool {
			return rule(fl.Field().String()) == nil
		}); err != nil {
			panic("rest: validator: " + err.Error())
		}
	}
	return v
}

// validateBody checks the domain rules of a request body once it is bound.
func (s *Server) validateBody(f StrictHandlerFunc, _ string) StrictHandlerFunc {
	return func(c echo.Context, req any) (any, error) {
		if v := reflect.ValueOf(req); v.Kind() == reflect.Struct {
			if b := v.FieldByName("Body"); b.IsValid() && b.Kind() == reflect.Pointer && !b.IsNil() && b.Elem().Kind() == reflect.Struct {
				if bad := uncleanFields(b.Elem()); len(bad) > 0 {
					return nil, invalid(bad...)
				}
				if err := s.validate.Struct(b.Interface()); err != nil {
					return nil, domainErrors(err)
				}
			}
		}
		return f(c, req)
	}
}

// textRule holds for every text the API takes: PostgreSQL cannot store a
// NUL character, and nothing in this domain needs control characters.
const textRule = "must not contain NUL characters"

func cleanText(s string) bool { return !strings.ContainsRune(s, 0) }

// uncleanFields names the string fields of a body that break textRule.
func uncleanFields(v reflect.Value) []FieldError {
	var out []FieldError
	t := v.Type()
	for i := range t.NumField() {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				continue
			}
			f = f.Elem()
		}
		if f.Kind() == reflect.String && !cleanText(f.String()) {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			out = append(out, FieldError{Field: name, Message: textRule})
		}
	}
	return out
}

func domainErrors(err error) error {
	var ve validator.ValidationErrors
	if !errors.As(err, &ve) {
		return err
	}
	fields := make([]FieldError, 0, len(ve))
	for _, fe := range ve {
		// The namespace starts with the struct's name.
		_, field, _ := strings.Cut(fe.Namespace(), ".")
		msg := "is not valid"
		if rule, ok := rules[fe.Tag()]; ok {
			if s, ok := fe.Value().(string); ok {
				if err := rule(s); err != nil {
					msg = err.Error()
				}
			}
		}
		fields = append(fields, FieldError{Field: field, Message: msg})
	}
	return invalid(fields...)
}

// parseHostAddr reads an address reported for a host, by the rules routers
// are held to: no zone, not unspecified or multicast, of the right family
// (an IPv4-mapped IPv6 address counts as IPv4).
func parseHostAddr(s string, family netcalc.Family) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	a, err = netcalc.CheckHostAddress(a)
	if err != nil {
		return netip.Addr{}, err
	}
	if family == 4 && !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 address", s)
	}
	if family == 6 && a.Is4() {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv6 address", s)
	}
	return a, nil
}

// parsePrefix6 reads a delegated IPv6 prefix such as 2001:db8:1:2::/64.
func parsePrefix6(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a prefix like 2001:db8:1:2::/64", s)
	}
	return netcalc.CheckPrefix(p)
}

// parseIdentifier reads a record's host identifier: any address of the
// family, without zone (its bits under the netmask are ignored).
func parseIdentifier(s string, family netcalc.Family) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q has a zone identifier", s)
	}
	if family == 4 && !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 address", s)
	}
	if family == 6 && (!a.Is6() || a.Is4In6()) {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv6 address", s)
	}
	return a, nil
}

// checkServiceURL is egress.CheckURL for a service's URL: stored in
// clear, so the credentials belong to the records, encrypted.
func checkServiceURL(s string) error {
	err := egress.CheckURL(s)
	if errors.Is(err, egress.ErrURLUserinfo) {
		return fmt.Errorf("%w; set them on each record, where they are stored encrypted", err)
	}
	return err
}
