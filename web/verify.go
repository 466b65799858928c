package web

// VerifyConfig is what the in-browser verifier's page needs.
type VerifyConfig struct{}

func (s *Site) verifyRoutes() {}
