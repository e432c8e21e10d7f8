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

// policy is the dashboard's Content-Security-Policy: its own script, style
// and images only, requests to its own origin only, and no framing. The
// page keeps an API token in sessionStorage, which any script of the
// origin could read: no script but app.js may run.
const policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Handler serves the dashboard: index.html at the root of its mount point
// and its assets beside it. Its files are static — the same for every
// visitor, holding no data — and every answer carries the dashboard's
// Content-Security-Policy.
func Handler() http.Handler {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", policy)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
