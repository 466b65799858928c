package web

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/comet-attest/comet/registry/keyset"
	"github.com/comet-attest/comet/registry/ratelimit"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
)

// AdminConfig is what the admin console needs. Without Admin, Sessions and Keys the console
// is off and /admin/ answers 404.
type AdminConfig struct {
	Admin    *service.Admin
	Sessions *service.Sessions
	// Keys lists the published circuits; publishing goes through Admin.
	Keys *keyset.Set
	// SecureCookie marks the session cookie Secure on plain HTTP too, behind a proxy that
	// terminates TLS; a request over TLS always gets a Secure cookie.
	SecureCookie bool
	// LoginFailures bounds failed logins per client address and of everyone (the API's
	// server.failed_auth_* rates); nil: 2 a second per address, 100 in all.
	LoginFailures *ratelimit.Failures
}

// sessionCookie names the admin session's cookie. The __Host- prefix, which browsers honour
// only on Secure cookies, pins it to this host and path / when it is Secure.
const (
	sessionCookie       = "comet_admin"
	secureSessionCookie = "__Host-comet_admin"
)

// maxFormBytes bounds an admin form's body: the largest is a revocation reason.
const maxFormBytes = 64 << 10

func (s *Site) adminRoutes() {
	a := s.cfg.Admin
	switch {
	case a.Admin == nil && a.Sessions == nil && a.Keys == nil:
		return
	case a.Admin == nil || a.Sessions == nil || a.Keys == nil:
		panic("web: the admin console needs Admin, Sessions and Keys together") // a wiring bug
	}
	if a.LoginFailures == nil {
		s.cfg.Admin.LoginFailures = ratelimit.NewFailures(2, 100, s.cfg.Now)
	}
	if err := s.parseAdmin(); err != nil {
		panic(err) // the embedded templates are the program's own: a failure is a bug
	}
	m := s.mux
	m.HandleFunc("GET /admin/login", s.loginPage)
	m.HandleFunc("POST /admin/login", s.login)
	m.HandleFunc("POST /admin/logout", s.adminPost(s.logout))
	m.HandleFunc("GET /admin/{$}", s.adminGet(s.dashboard))
	m.HandleFunc("GET /admin/providers", s.adminGet(s.providers))
	m.HandleFunc("POST /admin/providers/{id}/status", s.adminPost(s.setProvider))
	m.HandleFunc("POST /admin/providers/{id}/keys", s.adminPost(s.issueKey))
	m.HandleFunc("POST /admin/api-keys/{id}/revoke", s.adminPost(s.revokeKey))
	m.HandleFunc("GET /admin/models", s.adminGet(s.models))
	m.HandleFunc("GET /admin/models/{sha256}", s.adminGet(s.model))
	m.HandleFunc("POST /admin/models/{sha256}/revoke", s.adminPost(s.revokeModel))
	m.HandleFunc("GET /admin/jobs", s.adminGet(s.jobs))
	m.HandleFunc("POST /admin/jobs/{id}/{op}", s.adminPost(s.controlJob))
	m.HandleFunc("GET /admin/circuits", s.adminGet(s.circuits))
	m.HandleFunc("POST /admin/circuits/publish", s.adminPost(s.publishKeys))
	m.HandleFunc("POST /admin/circuits/generate", s.adminPost(s.generateKeys))
	m.HandleFunc("GET /admin/log", s.adminGet(s.adminLogPage))
	m.HandleFunc("GET /admin/audit", s.adminGet(s.audit))
	m.HandleFunc("GET /admin/sessions", s.adminGet(s.sessions))
	m.HandleFunc("POST /admin/sessions/{id}/revoke", s.adminPost(s.revokeSession))
	m.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		// Even where there is no page, a visitor without a session learns only that.
		h := s.adminGet
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h = s.adminPost
		}
		h(func(w http.ResponseWriter, r *http.Request, _ *service.Session) {
			s.notFound(w, r, "There is no admin page at this address.")
		})(w, r)
	})
}

// adminShared defines what every admin page shares (its navigation, its stylesheet, the
// CSRF field); it is no page itself.
const adminShared = "admin/shared"

// parseAdmin adds the console's shared templates to every admin page.
func (s *Site) parseAdmin() error {
	pages, err := fs.Glob(files, "templates/admin/*.html")
	if err != nil {
		return err
	}
	for _, p := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
		if name == adminShared {
			delete(s.pages, name)
			continue
		}
		t, ok := s.pages[name]
		if !ok {
			return fmt.Errorf("web: no page %s", name)
		}
		if _, err := t.ParseFS(files, "templates/"+adminShared+".html"); err != nil {
			return fmt.Errorf("web: %s: %w", p, err)
		}
	}
	return nil
}

type adminHandler func(w http.ResponseWriter, r *http.Request, sess *service.Session)

// adminGet serves a page to a session; without one it sends the visitor to log in.
func (s *Site) adminGet(h adminHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.session(w, r)
		if !ok {
			http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r, sess)
	}
}

// adminPost runs an action for a session whose form carries the session's CSRF token;
// anything else is refused with 403, never redirected, so that a forged request changes
// nothing and learns nothing.
func (s *Site) adminPost(h adminHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.session(w, r)
		if !ok {
			s.denied(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			s.adminError(w, r, sess, &service.InvalidError{Field: "form", Err: err})
			return
		}
		if !sess.CheckCSRF(r.PostForm.Get("csrf")) {
			s.render(w, r, http.StatusForbidden, "error", Page{Title: "Forbidden",
				Data: "This form is missing its security token or carries another session's. Reload the page and try again."})
			return
		}
		h(w, r, sess)
	}
}

func (s *Site) denied(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusForbidden, "error", Page{Title: "Forbidden", Data: "This needs an admin session: log in at /admin/login."})
}

// session returns the request's admin session; a cookie of a session that ended is cleared.
func (s *Site) session(w http.ResponseWriter, r *http.Request) (*service.Session, bool) {
	c, err := r.Cookie(s.cookieName(r))
	if err != nil {
		return nil, false
	}
	sess, err := s.cfg.Admin.Sessions.Check(r.Context(), c.Value)
	if err != nil {
		if !errors.Is(err, service.ErrUnauthorized) {
			s.cfg.Logger.ErrorContext(r.Context(), "check admin session", "error", err)
		}
		s.setCookie(w, r, "", -1)
		return nil, false
	}
	return sess, true
}

func (s *Site) secure(r *http.Request) bool { return r.TLS != nil || s.cfg.Admin.SecureCookie }

func (s *Site) cookieName(r *http.Request) string {
	if s.secure(r) {
		return secureSessionCookie
	}
	return sessionCookie
}

// setCookie sets the session cookie to token for maxAge seconds (negative: delete it): as
// long as the session may last at most, while the server ends it sooner when it idles or
// is revoked.
func (s *Site) setCookie(w http.ResponseWriter, r *http.Request, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
}

// clientAddr is the connection's address: the console takes no proxy's word for it.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type loginData struct {
	Next  string
	Error string
}

func (s *Site) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(w, r); ok {
		http.Redirect(w, r, "/admin/", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "admin/login", Page{Title: "Admin login", Nav: "admin", Data: loginData{Next: safeNext(r.URL.Query().Get("next"))}})
}

// safeNext keeps a post-login destination only when it is an admin page of this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin/"
	}
	return next
}

func (s *Site) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	fail := func(status int, msg string) {
		s.render(w, r, status, "admin/login", Page{Title: "Admin login", Nav: "admin", Data: loginData{Next: safeNext(r.PostFormValue("next")), Error: msg}})
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "The form could not be read.")
		return
	}
	addr := clientAddr(r)
	lim := s.cfg.Admin.LoginFailures
	if !lim.Permit(addr, false) {
		w.Header().Set("Retry-After", "10")
		fail(http.StatusTooManyRequests, "Too many failed logins. Wait a little and try again.")
		return
	}
	key := strings.TrimSpace(r.PostForm.Get("key"))
	token, sess, err := s.cfg.Admin.Sessions.Login(r.Context(), key, addr)
	switch {
	case errors.Is(err, service.ErrUnauthorized):
		lim.Failed(addr)
		fail(http.StatusUnauthorized, "That is not a valid admin API key.")
		return
	case errors.Is(err, service.ErrForbidden):
		lim.Failed(addr)
		fail(http.StatusForbidden, "That API key is valid but is not an admin key.")
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	s.setCookie(w, r, token, int(time.Until(sess.ExpiresAt).Seconds()))
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (s *Site) logout(w http.ResponseWriter, r *http.Request, _ *service.Session) {
	c, err := r.Cookie(s.cookieName(r))
	if err == nil {
		err = s.cfg.Admin.Sessions.Logout(r.Context(), c.Value)
	}
	if err != nil && !errors.Is(err, service.ErrUnauthorized) {
		s.fail(w, r, err)
		return
	}
	s.setCookie(w, r, "", -1)
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

// adminPage renders an admin page for a session.
func (s *Site) adminPage(w http.ResponseWriter, r *http.Request, sess *service.Session, status int, name, title string, data any) {
	s.render(w, r, status, name, Page{Title: title, Nav: "admin", Data: data,
		Admin: &AdminView{Who: sess.Principal.Actor(), CSRF: sess.CSRF}})
}

// resultData is what an action's result page shows.
type resultData struct {
	Message string
	// Secret is shown once: a new API key.
	Secret string
	Back   string
}

// done shows what an action did, with a link back.
func (s *Site) done(w http.ResponseWriter, r *http.Request, sess *service.Session, back, format string, a ...any) {
	s.adminPage(w, r, sess, http.StatusOK, "admin/result", "Done", resultData{Message: fmt.Sprintf(format, a...), Back: back})
}

// adminError answers an action's or a page's error with the status it calls for and the
// error's message: an admin may see why.
func (s *Site) adminError(w http.ResponseWriter, r *http.Request, sess *service.Session, err error) {
	var inv *service.InvalidError
	status := http.StatusInternalServerError
	switch {
	case errors.As(err, &inv), errors.Is(err, store.ErrBadCursor):
		status = http.StatusBadRequest
	case errors.Is(err, service.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, service.ErrConflict), errors.Is(err, service.ErrNotReady):
		status = http.StatusConflict
	case errors.Is(err, service.ErrForbidden):
		status = http.StatusForbidden
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		status = http.StatusServiceUnavailable
	}
	if status == http.StatusInternalServerError {
		s.fail(w, r, err)
		return
	}
	s.adminPage(w, r, sess, status, "admin/result", http.StatusText(status), resultData{Message: err.Error(), Back: backTo(r)})
}

// backTo is the admin page the request came from, for a link back; the console's front
// page when it came from anywhere else.
func backTo(r *http.Request) string {
	u, err := url.Parse(r.Header.Get("Referer"))
	if err != nil || u.Host != r.Host {
		return "/admin/"
	}
	return safeNext(u.RequestURI())
}
