package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/comet-attest/comet/registry/wire"

	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/registry/store"
)

// The lookup shows the featurizer the attestation signs once there is one, else the one the
// shown submission's manifest declares; the contract transport checks each answer against
// docs/openapi.yaml. The records are written straight into the store: what is shown does not
// depend on how they got there.
func TestLookupFeaturizer(t *testing.T) {
	r := newRegistry(t, sqliteDB, loadContract(t), nil)
	ctx := context.Background()
	featurized := readTestdata(t, "prover", "commitment", "testdata", "manifest.public.golden.json")
	plain := readTestdata(t, "prover", "commitment", "testdata", "manifest.golden.json")
	signer, err := keys.Generate("comet.test/registry")
	if err != nil {
		t.Fatal(err)
	}
	golden := readTestdata(t, "attest", "statement", "testdata", "training.statement.json")
	var st map[string]any
	if err := json.Unmarshal(golden, &st); err != nil {
		t.Fatal(err)
	}
	delete(st["predicate"].(map[string]any), "featurizer")
	unfeaturized, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(payload []byte) []byte {
		env, err := envelope.Sign(ctx, payload, signer)
		if err != nil {
			t.Fatal(err)
		}
		b, err := envelope.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	fromManifest := &wire.LookupFeaturizer{Name: "comet-legal-hash", Version: "1", Params: map[string]string{"buckets": "2", "lexicon": "none"},
		SpecSHA256: "443d423e84e44a0c303478b4e93bb8dbb2df9262fb64c8fff0674600e923b3c0", CorpusDigest: "a8c216b298dc1eb7e0d73ded4dfce2628fc92fa943ba7df2e9d551de5c50eb89",
		CorpusSHA256: "1fdaeb36577c7e6806a47ee83155ae5fd5aa82dd109cc1c8d7cf3af36725f774"}
	fromStatement := &wire.LookupFeaturizer{Name: "token-hash", Version: "1", Params: map[string]string{"buckets": "64", "lowercase": "true"},
		SpecSHA256: "5555555555555555555555555555555555555555555555555555555555555555", CorpusDigest: "6666666666666666666666666666666666666666666666666666666666666666"}

	tests := []struct {
		name     string
		manifest []byte // of the model's one submission; nil for none
		envelope []byte // of its attestation; nil for none
		want     *wire.LookupFeaturizer
	}{
		{"no submission", nil, nil, nil},
		{"submitted with a featurizer", featurized, nil, fromManifest},
		{"submitted without one", plain, nil, nil},
		// The statement wins over the manifest, whatever the manifest says.
		{"attested", featurized, sign(golden), fromStatement},
		{"attested without one", featurized, sign(unfeaturized), nil},
		// A stored envelope that does not read hides nothing else from the lookup.
		{"attestation unreadable", featurized, []byte("{}"), nil},
	}
	now := r.srv.Store.Now()
	err = r.srv.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Create(ctx, &store.Provider{ID: "acme-legal", DisplayName: "Acme", Contact: "ops@acme.example", Status: store.ProviderApproved}); err != nil {
			return err
		}
		return tx.Create(ctx, &store.Dataset{Commitment: hex64(0), FileDigest: hex64(1), N: 1, D: 1, FractionBits: 8, ValueBits: 24, ChunkRows: 1, Manifest: plain})
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		sha := hex64(uint64(1000 + i))
		err := r.srv.Store.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.Create(ctx, &store.Model{SHA256: sha, Name: "model.json", ProviderID: "acme-legal", DatasetCommitment: hex64(0), Body: []byte("{}"), CreatedAt: now}); err != nil {
				return err
			}
			if tt.manifest == nil {
				return nil
			}
			sub := &store.Submission{ID: fmt.Sprintf("sub_%028x", i), ProviderID: "acme-legal", ModelSHA256: sha, ModelName: "model.json",
				DatasetCommitment: hex64(0), Manifest: tt.manifest, ProofSHA256: sha, Proof: []byte("{}"), Status: store.StatusRejected, CreatedAt: now, UpdatedAt: now}
			if tt.envelope != nil {
				sub.Status = store.StatusLogged
			}
			if err := tx.Create(ctx, sub); err != nil {
				return err
			}
			if tt.envelope == nil {
				return nil
			}
			idx := int64(i)
			return tx.Create(ctx, &store.Attestation{ID: hex64(uint64(2000 + i)), SubmissionID: sub.ID, ModelSHA256: sha, ProviderID: "acme-legal",
				Envelope: tt.envelope, Leaf: []byte{1}, KeyID: signer.KeyID(), LogIndex: &idx, IssuedAt: now, CreatedAt: now, LoggedAt: &now})
		})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		t.Run(tt.name, func(t *testing.T) {
			l, err := r.anon.Lookup(ctx, sha)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(l.Featurizer, tt.want) {
				t.Errorf("featurizer %+v, want %+v", l.Featurizer, tt.want)
			}
			if (l.Attestation != nil) != (tt.envelope != nil) {
				t.Errorf("attestation %+v", l.Attestation)
			}
		})
	}
}

func readTestdata(t *testing.T, path ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"..", ".."}, path...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
