package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/pipeline"
	"github.com/comet-attest/comet/prover/train"
)

// data is y = 2a + 3b + 1 exactly, so that the fitted weights print exactly.
const data = "id,a,b,y\n1,1,2,9\n2,2,1,8\n3,3,3,16\n4,4,1,12\n5,0,2,7\n6,1,0,3\n"

// Example commits a small CSV, checks it against its manifest, reads the committed rows back
// and trains on them: the provider's pipeline from file to model.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "comet-pipeline-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	csvPath := filepath.Join(dir, "data.csv")
	if err := os.WriteFile(csvPath, []byte(data), 0o600); err != nil {
		log.Fatal(err)
	}
	salt, err := commitment.NewSalt() // keep it beside the data: commitment.WriteSalt
	if err != nil {
		log.Fatal(err)
	}

	m, err := pipeline.Commit(ctx, csvPath, pipeline.CommitOptions{
		Label: "y", Exclude: []string{"id"}, Format: fixedpoint.Default, Salt: salt,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("committed %d rows × %d features %v in %d chunk; public: %t\n", m.N, m.D, m.Features, len(m.ChunkCommitments), m.Public)

	res, err := pipeline.Verify(ctx, csvPath, m, &salt)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("verified: %d rows, %d checks passed\n", res.Rows, len(res.Checks))

	table, err := pipeline.ReadCommitted(ctx, csvPath, m, &salt)
	if err != nil {
		log.Fatal(err)
	}
	mod, _, err := pipeline.Train(ctx, table, m, train.Options{Kind: train.KindOLS, Intercept: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: y = %.3g·a + %.3g·b + %.3g; the model records C: %t\n", mod.Kind, mod.Weights[0], mod.Weights[1], *mod.Intercept, mod.DatasetCommitment == m.Commitment.String())
	// Output:
	// committed 6 rows × 2 features [a b] in 1 chunk; public: false
	// verified: 6 rows, 4 checks passed
	// ols: y = 2·a + 3·b + 1; the model records C: true
}

// ExampleVerify shows how a file that differs from its manifest is reported: the first chunk
// that differs, with its rows.
func ExampleVerify() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "comet-pipeline-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	csvPath := filepath.Join(dir, "data.csv")
	if err := os.WriteFile(csvPath, []byte(data), 0o600); err != nil {
		log.Fatal(err)
	}
	salt, err := commitment.NewSalt()
	if err != nil {
		log.Fatal(err)
	}
	m, err := pipeline.Commit(ctx, csvPath, pipeline.CommitOptions{
		Label: "y", Exclude: []string{"id"}, Format: fixedpoint.Default, Salt: salt, ChunkRows: 2,
	})
	if err != nil {
		log.Fatal(err)
	}

	edited := strings.Replace(data, "4,4,1,12", "4,4,1,13", 1)
	if err := os.WriteFile(csvPath, []byte(edited), 0o600); err != nil {
		log.Fatal(err)
	}
	_, err = pipeline.Verify(ctx, csvPath, m, &salt)
	var mismatch *pipeline.MismatchError
	if errors.As(err, &mismatch) {
		fmt.Printf("%s differ: chunk %d, rows %d–%d\n", mismatch.Field, mismatch.Chunk, mismatch.FirstRow, mismatch.LastRow)
	}
	// Output:
	// chunks differ: chunk 1, rows 3–4
}
