package proof_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/pipeline"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/prover/train"
)

// Example is the provider's whole path in the library: commit a CSV, train on exactly the
// committed rows, prove the training, and verify the proof as a registry or client does,
// with the model and the manifest alone (no data, no salt).
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "comet-proof-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	csvPath := filepath.Join(dir, "data.csv")
	data := "id,a,b,y\n1,1,2,9.1\n2,2,1,7.9\n3,3,3,16.2\n4,4,1,11.8\n5,0,2,7\n6,1,0,3.1\n"
	if err := os.WriteFile(csvPath, []byte(data), 0o600); err != nil {
		log.Fatal(err)
	}
	salt, err := commitment.NewSalt()
	if err != nil {
		log.Fatal(err)
	}

	// Commit and train (prover/pipeline).
	man, err := pipeline.Commit(ctx, csvPath, pipeline.CommitOptions{Label: "y", Exclude: []string{"id"}, Format: fixedpoint.Default, Salt: salt})
	if err != nil {
		log.Fatal(err)
	}
	rows, err := pipeline.ReadCommitted(ctx, csvPath, man, &salt)
	if err != nil {
		log.Fatal(err)
	}
	mod, _, err := pipeline.Train(ctx, rows, man, train.Options{Kind: train.KindOLS, Intercept: true})
	if err != nil {
		log.Fatal(err)
	}

	// Keys for this shape. A registry publishes keys from a multi-party ceremony
	// (prover/ceremony); a single-party setup like this one is for trying things out.
	shape := circuit.ShapeOf(man.Header, mod.FitIntercept)
	keys, _, err := setup.Ensure(ctx, filepath.Join(dir, "keys"), shape, setup.Proving)
	if err != nil {
		log.Fatal(err)
	}

	// Prove, for the provider the registry knows this one as.
	b, err := proof.Prove(ctx, keys, proof.Request{Manifest: man, Model: mod, Salt: salt, Rows: proof.CSVSource(csvPath, man), Provider: "acme-legal"}, proof.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("proved %d chunk(s) and the final proof for shape %s\n", len(b.Chunks), b.Shape)

	// Verify with what is public: the model, the manifest, the provider and trusted keys.
	rep, err := proof.Verify(ctx, b, proof.Inputs{Model: mod, Manifest: man, Provider: "acme-legal"}, keys)
	fmt.Printf("verified: %t (%d checks), err %v\n", rep.OK(), len(rep.Checks), err)

	// The same proof does not verify for another provider: it is bound to its maker.
	rep, err = proof.Verify(ctx, b, proof.Inputs{Model: mod, Manifest: man, Provider: "someone-else"}, keys)
	fmt.Printf("for another provider: %t, failed %q\n", rep.OK(), rep.Failed())
	// Output:
	// proved 1 chunk(s) and the final proof for shape d2-r8-b48-f16-intercept
	// verified: true (12 checks), err <nil>
	// for another provider: false, failed ["bundle is bound to this provider" "chunk proofs verify" "final proof verifies"]
}
