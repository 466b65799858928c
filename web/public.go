package web

import "net/http"

// PublicConfig is what the public pages read.
type PublicConfig struct{}

func (s *Site) publicRoutes() {
	s.mux.HandleFunc("GET /{$}", s.home)
}

func (s *Site) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "home", Page{Title: "Comet", Nav: "home"})
}
