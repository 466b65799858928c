package verify_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
)

// Example verifies a client bundle offline, as a client does with what `comet bundle`
// saved: the bundle and the trust root it pinned are all it reads. The checks that need
// more (the proof files, a chain reader for the anchor) are reported as not checked, never
// as passed.
func Example() {
	raw, err := os.ReadFile(filepath.Join("..", "bundle", "testdata", "bundle.golden"))
	if err != nil {
		log.Fatal(err)
	}
	b, err := bundle.Parse(raw)
	if err != nil {
		log.Fatal(err)
	}
	root, err := trustroot.Load(filepath.Join("..", "bundle", "testdata", "root.json"))
	if err != nil {
		log.Fatal(err)
	}
	v, err := verify.NewVerifier(root)
	if err != nil {
		log.Fatal(err)
	}
	// The digest of the model the client holds: verify.ModelSHA256 of its file. (The golden
	// bundle attests attesttest's sample model 5.)
	subject, _ := attesttest.Sample(5)
	policy, err := verify.NewPolicy(verify.WithModelSHA256(subject.SHA256))
	if err != nil {
		log.Fatal(err)
	}
	rep, err := v.Verify(context.Background(), b, policy)
	count := map[verify.Status]int{}
	for _, l := range rep.Lines {
		fmt.Printf("%-36s %s\n", l.Name, l.Status)
		count[l.Status]++
	}
	// A check that did not run is not a pass: the caller decides whether it may be waived.
	fmt.Printf("%d passed, %d not checked, %d failed; error: %v\n", count[verify.Passed], count[verify.NotChecked], count[verify.Failed], err)
	// Output:
	// trust root                           passed
	// envelope signature                   passed
	// statement                            passed
	// registry key valid at signing        passed
	// subject is the model                 passed
	// provider                             not checked
	// circuits pinned                      passed
	// key ceremony                         passed
	// zero-knowledge proof                 not checked
	// proof matches the attestation        not checked
	// what the proof guarantees            not checked
	// attestation not revoked              not checked
	// leaf matches envelope                passed
	// checkpoint signature                 passed
	// witness quorum                       passed
	// inclusion in log                     passed
	// consistency with bundled checkpoint  not checked
	// consistency with prior checkpoint    not checked
	// anchor                               not checked
	// 11 passed, 8 not checked, 0 failed; error: <nil>
}
