//go:build !embedfrontend

package frontend

import (
	"embed"
	"io/fs"
)

// placeholder stands in for the web app in binaries built without Node
// (plain `go build`, `go test`): one page that says how to get the real one.
//
//go:embed placeholder
var placeholder embed.FS

// Built reports whether this binary carries the web app.
const Built = false

func files() fs.FS {
	sub, err := fs.Sub(placeholder, "placeholder")
	if err != nil {
		panic(err) // cannot happen: the directory is embedded above
	}
	return sub
}
