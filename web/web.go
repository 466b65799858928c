package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed templates static
var files embed.FS

// Config gathers what the pages need: each group of pages (public.go, admin.go, verify.go)
// has its own part, with the services it reads.
type Config struct {
	Public PublicConfig
	Admin  AdminConfig
	Verify VerifyConfig
	Logger *slog.Logger
	Now    func() time.Time
}

// Site is the HTML side of `comet serve`.
type Site struct {
	cfg   Config
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// New builds the site's handler.
func New(c Config) (*Site, error) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	s := &Site{cfg: c, mux: http.NewServeMux()}
	if err := s.parse(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(files, "static")
	if err != nil {
		return nil, err
	}
	s.mux.Handle("GET /static/", s.cacheStatic(http.StripPrefix("/static/", http.FileServerFS(sub))))
	s.routes()
	return s, nil
}

// ServeHTTP sets the headers every page carries and routes.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No inline script or style anywhere: a provider string that escaped escaping still
	// cannot run. 'wasm-unsafe-eval' lets /verify instantiate the embedded verifier.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "+
		"img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	s.mux.ServeHTTP(w, r)
}

// routes registers every page; each group of pages has its own file.
func (s *Site) routes() {
	s.publicRoutes()
	s.adminRoutes()
	s.verifyRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.notFound(w, r, "There is no page at this address.")
	})
}

func (s *Site) cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// parse reads every page under templates/: each page file defines "title" and "main", and
// is rendered inside layout.html.
func (s *Site) parse() error {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("web: layout: %w", err)
	}
	s.pages = map[string]*template.Template{}
	return fs.WalkDir(files, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "templates/layout.html" || !strings.HasSuffix(p, ".html") {
			return err
		}
		t, err := template.Must(layout.Clone()).ParseFS(files, p)
		if err != nil {
			return fmt.Errorf("web: %s: %w", p, err)
		}
		s.pages[strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")] = t
		return nil
	})
}

// Page is what every page's template receives: its own data under Data.
type Page struct {
	Title string
	// Nav is the section the page belongs to, for the navigation's aria-current.
	Nav  string
	Data any
	// Admin is set on admin pages behind a session (see admin.go), with the CSRF token
	// every form there carries.
	Admin *AdminView
}

// AdminView is what the admin layout shows of the session.
type AdminView struct {
	Who  string
	CSRF string
}

// render writes page name with status; a template error is logged and answered 500,
// never half a page.
func (s *Site) render(w http.ResponseWriter, r *http.Request, status int, name string, p Page) {
	t, ok := s.pages[name]
	if !ok {
		s.cfg.Logger.ErrorContext(r.Context(), "no such page template", slog.String("page", name))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.cfg.Logger.ErrorContext(r.Context(), "render page", slog.String("page", name), slog.Any("error", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// notFound answers 404 with a page saying what was not found.
func (s *Site) notFound(w http.ResponseWriter, r *http.Request, what string) {
	s.render(w, r, http.StatusNotFound, "notfound", Page{Title: "Not found", Data: what})
}

// fail answers 500 for an error the visitor cannot fix, logging it.
func (s *Site) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.cfg.Logger.ErrorContext(r.Context(), "web page failed", slog.String("path", r.URL.Path), slog.Any("error", err))
	s.render(w, r, http.StatusInternalServerError, "error", Page{Title: "Something went wrong", Data: "The registry could not build this page; try again."})
}

var funcs = template.FuncMap{
	// short abbreviates a hex digest for display; the full value is in a title attribute.
	"short": func(s string) string {
		if len(s) <= 16 {
			return s
		}
		return s[:12] + "…"
	},
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	// whenp is when of a time that may be absent ("" for none).
	"whenp": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	// iso is a time for a <time datetime> attribute.
	"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"static": func(p string) string { return path.Join("/static", p) },
	// clean marks the bidirectional and other control characters of a provider's string
	// visibly (public_text.go); wrap its result in <bdi>.
	"clean": clean,
	// page is the address of a list's next page.
	"page": pageLink,
	// logindex is a log index, or "" for none.
	"logindex": func(i *int64) string {
		if i == nil {
			return ""
		}
		return strconv.FormatInt(*i, 10)
	},
	// num formats a chart coordinate.
	"num": func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
}
