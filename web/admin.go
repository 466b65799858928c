package web

// AdminConfig is what the admin console needs.
type AdminConfig struct{}

func (s *Site) adminRoutes() {}
