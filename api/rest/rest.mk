# The JSON API's Go code (api/rest/openapi.gen.go) is generated from
# openapi.yaml by oapi-codegen, a `go tool` of this module, so nothing needs
# installing. TestGeneratedCodeIsCurrent (go test ./api/rest) fails when the
# committed file differs from what the generator makes of the spec.
.PHONY: generate-go
generate-go:
	go generate ./api/rest

GENERATE += generate-go
