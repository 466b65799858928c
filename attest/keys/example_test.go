package keys_test

import (
	"fmt"
	"log"

	"github.com/comet-attest/comet/attest/keys"
)

// The registry's public key from a trust root, as the PEM that cosign's --key (or
// OpenSSL) reads: `comet trustroot show trustroot.json --pem --key registry` prints it so.
func ExampleVerifier_PEM() {
	v, err := keys.ParseVerifier("registry.example+cfece399+AdROw67iBZ/IVzUFzJK6Sa/pMDMsAkLJeSrU3VlO5vFZ")
	if err != nil {
		log.Fatal(err)
	}
	b, err := v.PEM()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s", b)
	// Output:
	// -----BEGIN PUBLIC KEY-----
	// MCowBQYDK2VwAyEA1E7DruIFn8hXNQXMkrpJr+kwMywCQsl5KtTdWU7m8Vk=
	// -----END PUBLIC KEY-----
}
