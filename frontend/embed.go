//go:build embedfrontend

package frontend

import (
	"embed"
	"io/fs"
)

// build is the output of `vite build` (adapter-static), made by `make build`.
//
//go:embed all:build
var build embed.FS

// Built reports whether this binary carries the web app.
const Built = true

func files() fs.FS {
	sub, err := fs.Sub(build, "build")
	if err != nil {
		panic(err) // cannot happen: the directory is embedded above
	}
	return sub
}
