// Package dashboard is Conveyor's web UI: a page served from the binary
// (no CDN, no build step) that shows algorithms, runners and jobs, follows
// a job's progress and logs live over Server-Sent Events, cancels jobs and
// submits new ones from a form made from the algorithm's input schema.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var files embed.FS

// Handler serves the dashboard: index.html at the root of its mount point
// and its assets beside it.
func Handler() http.Handler {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return http.FileServerFS(sub)
}
