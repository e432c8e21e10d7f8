package gateway

import (
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/conveyor-run/conveyor"
)

// refuseBrowserAttacks wraps the API's mux with its defences against web
// pages: a page the operator visits can make the browser send requests to
// the API on loopback (cross-site request forgery), and a page whose name
// is made to resolve to 127.0.0.1 (DNS rebinding) can even read the
// answers. Neither needs a token when the API has none. So, before any
// handler runs:
//
//   - Without tokens, the Host must be a loopback name — localhost (or a
//     name under .localhost), an address of 127.0.0.0/8 or [::1], any
//     port — or, when the API is served beyond loopback (Config.IPHosts),
//     any IP address: a rebinding page's requests bear its own host name.
//     Otherwise 421. With tokens the Host is not checked: a page has no
//     token to send.
//   - A cross-site request is refused with 403: one whose Sec-Fetch-Site
//     (sent by every current browser) is neither same-origin nor none,
//     or, from a browser that does not send that header, one whose Origin
//     is not the server's own (its host is not the request's Host). Only
//     following a link to the dashboard (/, /ui/…, /docs) is allowed from
//     another site: those pages do nothing but show themselves. Clients
//     that are not browsers send neither header and are not affected.
//   - A request with a body, other than GET and HEAD, must say
//     Content-Type: application/json (parameters such as charset allowed),
//     or 415: a page can send a form or text/plain across sites without
//     asking, but not JSON. Requests without a body (a cancel) need none.
//     A file upload (POST /v1/files) may be of any type: it is still
//     refused across sites by the check above, and by the Host check.
//
// Refused requests are counted under their route, as the mux would name it.
func (g *Gateway) refuseBrowserAttacks(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := g.checkHost(r)
		if err == nil {
			err = checkSameOrigin(r)
		}
		if err == nil {
			err = checkJSONBody(r)
		}
		if err != nil {
			_, r.Pattern = mux.Handler(r)
			g.writeError(w, r, err)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// checkHost returns EMISDIRECTED for a request to a token-less API whose
// Host is not a loopback name (nor, with IPHosts, an IP address).
func (g *Gateway) checkHost(r *http.Request) error {
	if len(g.cfg.Tokens) > 0 {
		return nil
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || g.cfg.IPHosts) {
		return nil
	}
	return conveyor.Errorf(conveyor.EMISDIRECTED,
		"this API has no tokens, so it answers only requests addressed to localhost, 127.0.0.1 or [::1], not to host %q (a web page could reach it so by DNS rebinding); use one of those, or configure auth.tokens", r.Host)
}

// checkSameOrigin returns EFORBIDDEN for a request a browser made on
// behalf of a page of another origin.
func checkSameOrigin(r *http.Request) error {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "same-origin", "none":
		return nil
	case "":
		origin := r.Header.Get("Origin")
		if origin == "" {
			return nil // not a browser, or a same-origin GET
		}
		if u, err := url.Parse(origin); err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) {
			return nil
		}
		return conveyor.Errorf(conveyor.EFORBIDDEN, "cross-origin request refused: Origin %q is not this server (%s)", origin, r.Host)
	default:
		if dashboardNavigation(r) {
			return nil
		}
		return conveyor.Errorf(conveyor.EFORBIDDEN, "cross-site request refused (Sec-Fetch-Site: %s): only pages this server serves may call its API", site)
	}
}

// dashboardNavigation reports whether r is the browser following a link
// to a page of the dashboard or the API docs.
func dashboardNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead || r.Header.Get("Sec-Fetch-Mode") != "navigate" {
		return false
	}
	p := r.URL.Path
	return p == "/" || p == "/docs" || strings.HasPrefix(p, "/ui/")
}

// checkJSONBody returns EMEDIATYPE for a request with a body (but GET and
// HEAD, and an upload) whose Content-Type is not application/json.
func checkJSONBody(r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.ContentLength == 0 {
		return nil
	}
	if r.Method == http.MethodPost && r.URL.Path == uploadPath {
		return nil // a file of any type
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "application/json" {
		return nil
	}
	if ct == "" {
		ct = "none"
	}
	return conveyor.Errorf(conveyor.EMEDIATYPE,
		"the request body must be JSON sent with Content-Type: application/json, not %s (curl: --json '{…}' or -H 'Content-Type: application/json')", ct)
}
