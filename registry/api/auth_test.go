package api_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"

	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/registry/wire"
)

// randomKey is a well-formed API key that no registry issued.
func randomKey(t *testing.T) string {
	b := make([]byte, 40)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	h := hex.EncodeToString(b)
	return "comet_" + h[:16] + "_" + h[16:] + h[:16]
}

// The authentication scheme is case-insensitive (RFC 7235); other schemes are refused.
func TestAuthorizationScheme(t *testing.T) {
	r := newRegistry(t, sqliteDB, loadContract(t), nil)
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"Bearer " + r.reg.AdminKey, http.StatusOK},
		{"bearer " + r.reg.AdminKey, http.StatusOK},
		{"BEARER " + r.reg.AdminKey, http.StatusOK},
		{"Basic " + r.reg.AdminKey, http.StatusUnauthorized},
		{"Bearer", http.StatusUnauthorized},
		{r.reg.AdminKey, http.StatusUnauthorized},
	} {
		if got := status(sendWith(t, r, "GET", "/v1/providers", nil, map[string]string{"Authorization": tc.header})); got != tc.want {
			t.Errorf("Authorization %.12q…: %d, want %d", tc.header, got, tc.want)
		}
	}
}

// A client cannot choose its own address with forwarding headers unless it is a proxy the
// operator trusts: the registration limit holds per connection address.
func TestForwardedHeadersNeedATrustedProxy(t *testing.T) {
	register := func(r *testRegistry, i int, forwarded string) int {
		body := fmt.Sprintf(`{"id":"squatter-%d","display_name":"S","contact":"s%d@example.org"}`, i, i)
		return status(sendWith(t, r, "POST", "/v1/providers", []byte(body), map[string]string{"X-Forwarded-For": forwarded, "X-Real-IP": forwarded}))
	}
	limited := func(c *config.Config) { c.Server.RatePerSecond, c.Server.RateBurst = 0.001, 3 }
	r := newRegistry(t, sqliteDB, loadContract(t), limited)
	created := 0
	for i := range 10 {
		if register(r, i, fmt.Sprintf("203.0.113.%d", i)) == http.StatusCreated {
			created++
		}
	}
	if created != 3 {
		t.Errorf("%d registrations with forged X-Forwarded-For got through, want the burst of 3", created)
	}
	r = newRegistry(t, sqliteDB, loadContract(t), func(c *config.Config) { limited(c); c.Server.TrustedProxies = []string{"127.0.0.1"} })
	for i := range 10 {
		if got := register(r, i, fmt.Sprintf("203.0.113.%d", i)); got != http.StatusCreated {
			t.Errorf("behind a trusted proxy, client %d: %d, want 201", i, got)
		}
	}
}

// Failed authentications are limited per address and in all, before any lookup, while a
// key in use goes on working from anywhere.
func TestFailedAuthenticationLimits(t *testing.T) {
	r := newRegistry(t, sqliteDB, loadContract(t), func(c *config.Config) {
		c.Server.FailedAuthPerSecond, c.Server.FailedAuthGlobalPerSecond = 0.001, 0.002 // bursts of 1 and 1: see ratelimit.BurstOf
		c.Server.TrustedProxies = []string{"127.0.0.1"}
	})
	from := func(addr, key string) int {
		return status(sendWith(t, r, "GET", "/v1/providers", nil, map[string]string{"Authorization": "Bearer " + key, "X-Forwarded-For": addr}))
	}
	if got := from("198.51.100.1", r.reg.AdminKey); got != http.StatusOK {
		t.Fatalf("admin key: %d", got)
	}
	if got := from("198.51.100.2", randomKey(t)); got != http.StatusUnauthorized {
		t.Fatalf("first guess: %d, want 401", got)
	}
	// The address's burst is spent: its next guess is refused before any lookup.
	if got := from("198.51.100.2", randomKey(t)); got != http.StatusTooManyRequests {
		t.Errorf("second guess from the address: %d, want 429", got)
	}
	// And so is everyone's: a guess from a fresh address is refused too.
	if got := from("198.51.100.3", randomKey(t)); got != http.StatusTooManyRequests {
		t.Errorf("guess from another address once all failures are spent: %d, want 429", got)
	}
	// A key that authenticated lately still works from a fresh address.
	if got := from("198.51.100.4", r.reg.AdminKey); got != http.StatusOK {
		t.Errorf("the admin key during the flood: %d, want 200", got)
	}
}

func status(code int, _ wire.ErrorDetail) int { return code }
