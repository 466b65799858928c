// Package hexdigest is the one spelling of a 32-byte value in this module's files and wire
// formats: 64 lower-case hex characters, for SHA-256 digests, circuit ids and field elements
// alike. Upper case is refused so that a value has one spelling and compares as a string.
package hexdigest

// Valid reports whether s is 64 lower-case hex characters.
func Valid(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
