package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/dataset"
	"github.com/comet-attest/comet/prover/fixedpoint"
)

// sixRows is the CSV of one of the 4,096 datasets of six rows with a 0/1 feature and a 0/1
// label: bit 2i of bits is row i's x, bit 2i+1 its y.
func sixRows(bits int) string {
	var b strings.Builder
	b.WriteString("x,y\n")
	for i := range 6 {
		fmt.Fprintf(&b, "%d,%d\n", bits>>(2*i)&1, bits>>(2*i+1)&1)
	}
	return b.String()
}

// publicValues is every string and number in a manifest's JSON, lower-cased.
func publicValues(t *testing.T, manifest []byte) map[string]bool {
	t.Helper()
	var doc any
	dec := json.NewDecoder(bytes.NewReader(manifest))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]bool)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case string:
			out[strings.ToLower(v)] = true
		case json.Number:
			out[v.String()] = true
		}
	}
	walk(doc)
	return out
}

// guesses is what anyone can compute from a candidate file without the salt: its plain
// SHA-256, the SHA-256 of its canonical rows, and the keyed digests and commitments under
// a guessed all-zero salt.
func guesses(t *testing.T, content string, m *commitment.Manifest) []string {
	t.Helper()
	sum := sha256.Sum256([]byte(content))
	out := []string{hex.EncodeToString(sum[:])}
	table, err := dataset.ReadAll(context.Background(), strings.NewReader(content), dataset.Options{Label: "y", Format: m.Format()})
	if err != nil {
		t.Fatal(err)
	}
	var canonical bytes.Buffer
	for _, v := range table.Values {
		fmt.Fprintf(&canonical, "%d,", v)
	}
	rows := sha256.Sum256(canonical.Bytes())
	out = append(out, hex.EncodeToString(rows[:]))
	var zero commitment.Salt
	digest, _ := commitment.FileDigest(zero, strings.NewReader(content))
	out = append(out, digest)
	chunk, err := commitment.ChunkCommitment(m.Header, zero, 0, table.Values)
	if err != nil {
		t.Fatal(err)
	}
	c, err := commitment.DatasetCommitment(m.Header, []fr.Element{chunk})
	if err != nil {
		t.Fatal(err)
	}
	return append(out, commitment.DigestOf(chunk).String(), commitment.DigestOf(c).String())
}

// TestSixRowAttack is finding 5 of the review: the v1 manifest published the plain SHA-256
// of the private CSV, and trying the 4,096 candidate files recovered a 6-row 0/1 dataset
// exactly. A private v2 manifest must give the same attack nothing to match.
func TestSixRowAttack(t *testing.T) {
	const secret = 0b101101110010
	dir := t.TempDir()
	path := writeFile(t, dir, "six.csv", sixRows(secret))
	salt, err := commitment.NewSalt()
	if err != nil {
		t.Fatal(err)
	}
	attack := func(m *commitment.Manifest) []int {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		public := publicValues(t, b)
		var found []int
		for bits := range 1 << 12 {
			for _, g := range guesses(t, sixRows(bits), m) {
				if public[g] || bytes.Contains(b, []byte(g)) {
					found = append(found, bits)
					break
				}
			}
		}
		return found
	}
	opts := CommitOptions{Label: "y", Format: fixedpoint.Default, Salt: salt}
	m, err := Commit(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if found := attack(m); len(found) > 0 {
		t.Errorf("the private manifest matches candidates %b", found)
	}
	// The attack works: on a manifest declared public it finds the dataset.
	opts.Public = true
	public, err := Commit(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if found := attack(public); !slices.Equal(found, []int{secret}) {
		t.Errorf("the attack on the public manifest found %b, want only %b", found, secret)
	}
}
