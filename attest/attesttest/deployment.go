package attesttest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/leaf"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/attest/tlog"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/train"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	f_log "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// Origin is the log origin of every virtual deployment.
const Origin = "comet.test/log"

// The chunk and final circuits that Sample attestations name and that the trust root pins.
const (
	ChunkCircuitID     = "1f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069"
	ChunkVKSHA256      = "2f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069"
	FinalCircuitID     = "3f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069"
	VerifyingKeySHA256 = "7f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069"
)

// Options shape a deployment.
type Options struct {
	Witnesses int // number of witnesses; 0 for none
	Quorum    int // cosignatures required; default all witnesses
	// Log tunes the log; zero values use tlog's defaults except a 100 ms
	// checkpoint interval, which keeps tests quick.
	Log tlog.Options
	// Circuits are the circuit pins of the trust root; nil pins the circuits Sample names,
	// as made by a two-party ceremony.
	Circuits map[string]trustroot.CircuitPin
}

// Ceremony is the ceremony the default circuit pins name.
var Ceremony = &trustroot.Ceremony{
	TranscriptSHA256:   "4f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069",
	Phase1Contributors: []string{"alice", "bob"},
	Phase2Contributors: []string{"alice", "bob"},
}

// Deployment is a running virtual deployment.
type Deployment struct {
	Registry *keys.Signer
	// RootKey signs the trust root's versions.
	RootKey   *keys.Signer
	Provider  *keys.Signer
	LogKey    *keys.Signer
	Witnesses []*Witness
	Log       *tlog.Log
	Root      *trustroot.Root
	Dir       string
}

// New starts a deployment whose log lives in tb.TempDir() and which is shut
// down by tb.Cleanup.
func New(tb testing.TB, opts Options) *Deployment {
	tb.Helper()
	d, shutdown, err := Start(context.Background(), tb.TempDir(), opts)
	if err != nil {
		tb.Fatalf("attesttest: %v", err)
	}
	tb.Cleanup(func() {
		if err := shutdown(context.Background()); err != nil {
			tb.Errorf("attesttest shutdown: %v", err)
		}
	})
	return d
}

// Start is New for callers without a testing.TB (benchmarks' helpers, the
// CLI's demo): the log lives in dir and shutdown stops everything.
func Start(ctx context.Context, dir string, opts Options) (*Deployment, func(context.Context) error, error) {
	if opts.Quorum == 0 {
		opts.Quorum = opts.Witnesses
	}
	d := &Deployment{Dir: dir}
	var err error
	if d.Registry, err = keys.Generate("comet.test/registry"); err != nil {
		return nil, nil, err
	}
	if d.Provider, err = keys.Generate("comet.test/provider"); err != nil {
		return nil, nil, err
	}
	if d.LogKey, err = keys.Generate(Origin); err != nil {
		return nil, nil, err
	}
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	lo := opts.Log
	if lo.CheckpointInterval == 0 {
		lo.CheckpointInterval = 100 * time.Millisecond
	}
	if lo.Logger == nil {
		lo.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	wit := &trustroot.WitnessEntry{Quorum: opts.Quorum}
	for i := range opts.Witnesses {
		w, err := NewWitness(fmt.Sprintf("comet.test/witness-%d", i), Origin, d.LogKey.Verifier())
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		closers = append(closers, w.Server.Close)
		d.Witnesses = append(d.Witnesses, w)
		lo.Witnesses = append(lo.Witnesses, tlog.Witness{Key: w.Key.Verifier().String(), URL: w.Server.URL})
		wit.Keys = append(wit.Keys, w.Key.Verifier().String())
	}
	lo.WitnessQuorum = opts.Quorum
	if opts.Circuits == nil {
		opts.Circuits = map[string]trustroot.CircuitPin{
			ChunkCircuitID: {VKSHA256: ChunkVKSHA256, Ceremony: Ceremony},
			FinalCircuitID: {VKSHA256: VerifyingKeySHA256, Ceremony: Ceremony},
		}
	}
	f := trustroot.File{
		RegistryKeys: []trustroot.KeyEntry{{
			Key:       d.Registry.Verifier().String(),
			NotBefore: time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second),
		}},
		Log:      trustroot.LogEntry{Origin: Origin, Key: d.LogKey.Verifier().String()},
		Circuits: opts.Circuits,
		Starknet: &trustroot.Starknet{ChainID: "SN_SEPOLIA", Contract: "0x0"},
	}
	if opts.Witnesses > 0 {
		f.Witnesses = wit
	}
	if d.Root, d.RootKey, err = SignRoot(ctx, f); err != nil {
		closeAll()
		return nil, nil, err
	}
	logCtx, cancel := context.WithCancel(ctx)
	l, shutdownLog, err := tlog.Open(logCtx, dir, d.LogKey, d.LogKey.Verifier(), lo)
	if err != nil {
		cancel()
		closeAll()
		return nil, nil, err
	}
	d.Log = l
	shutdown := func(ctx context.Context) error {
		err := shutdownLog(ctx)
		cancel()
		closeAll()
		return err
	}
	return d, shutdown, nil
}

// Sample returns a valid subject and training predicate; i varies every
// digest so that samples are distinct attestations.
func Sample(i int) (statement.Subject, statement.Training) {
	h := func(what string) string {
		s := sha256.Sum256(fmt.Appendf(nil, "%s-%d", what, i))
		return hex.EncodeToString(s[:])
	}
	return statement.Subject{Name: fmt.Sprintf("model-%d.json", i), SHA256: h("model")},
		statement.Training{
			Dataset: statement.Dataset{
				Commitment: h("commitment"),
				Header:     commitment.Header{N: 64, D: 4, FractionBits: 16, ValueBits: 32, ChunkRows: 16},
				FileDigest: h("dataset"),
			},
			Model: statement.Model{Kind: string(train.KindRidge), Intercept: true, LambdaFixed: "2147483648", Lambda: "0.5",
				TauFixed: "281474976710", Tau: "0.0009999999999976694198265614"},
			Metrics:   statement.Metrics{N: 64, SSR: "1000", SumY: "-12", SumY2: "4000", R2: "0.75", RMSE: "0.125", ResidualSD: "0.13"},
			Guarantee: statement.Guarantee{RelativeGradient: "1e-09", DistanceBound: "0.004", LossGapBound: "2e-06"},
			Proof: statement.Proof{BundleSHA256: h("proof"),
				Chunk: statement.Circuit{ID: ChunkCircuitID, VerifyingKeySHA256: ChunkVKSHA256},
				Final: statement.Circuit{ID: FinalCircuitID, VerifyingKeySHA256: VerifyingKeySHA256}},
			Provider: "provider-1",
			Featurizer: &statement.Featurizer{Name: "hashing", Version: "1", Params: map[string]string{"buckets": "4"},
				SpecSHA256: h("spec"), CorpusDigest: h("corpus")},
			IssuedAt: time.Now().UTC().Truncate(time.Second),
		}
}

// Sign builds the registry-signed envelope and its leaf for a claim.
func (d *Deployment) Sign(ctx context.Context, subj statement.Subject, tr statement.Training) (*dsse.Envelope, []byte, error) {
	return SignWith(ctx, d.Registry, subj, tr)
}

// SignWith is Sign with another registry key (for rotation and revocation
// tests).
func SignWith(ctx context.Context, k *keys.Signer, subj statement.Subject, tr statement.Training) (*dsse.Envelope, []byte, error) {
	st, err := statement.NewTraining(subj, tr)
	if err != nil {
		return nil, nil, err
	}
	payload, err := statement.Marshal(st)
	if err != nil {
		return nil, nil, err
	}
	env, err := envelope.Sign(ctx, payload, k)
	if err != nil {
		return nil, nil, err
	}
	l, err := leaf.FromEnvelope(env, k.Verifier())
	if err != nil {
		return nil, nil, err
	}
	return env, l.Marshal(), nil
}

// Attest signs a claim, logs it and returns its bundle.
func (d *Deployment) Attest(ctx context.Context, subj statement.Subject, tr statement.Training) (*bundle.Bundle, error) {
	env, lb, err := d.Sign(ctx, subj, tr)
	if err != nil {
		return nil, err
	}
	return d.Publish(ctx, env, lb)
}

// Publish logs an already signed envelope and returns its bundle.
func (d *Deployment) Publish(ctx context.Context, env *dsse.Envelope, leafBytes []byte) (*bundle.Bundle, error) {
	idx, err := d.Log.Append(ctx, leafBytes)
	if err != nil {
		return nil, err
	}
	return bundle.Build(ctx, d.Log, env, leafBytes, idx)
}

// Revoke signs a revocation of the envelope with the given digest.
func (d *Deployment) Revoke(ctx context.Context, digest [32]byte, reason string, at time.Time) (*dsse.Envelope, error) {
	st, err := statement.NewRevocation(digest, statement.Revocation{Reason: reason, RevokedAt: at})
	if err != nil {
		return nil, err
	}
	payload, err := statement.Marshal(st)
	if err != nil {
		return nil, err
	}
	return envelope.Sign(ctx, payload, d.Registry)
}

// ForgeCheckpoint signs an arbitrary checkpoint with the log's key, as a
// misbehaving log would, for split-view tests.
func (d *Deployment) ForgeCheckpoint(size uint64, root []byte) ([]byte, error) {
	body := f_log.Checkpoint{Origin: Origin, Size: size, Hash: root}.Marshal()
	return note.Sign(&note.Note{Text: string(body)}, d.LogKey)
}

// SignRoot signs f as version 1 of a trust root with a fresh root key, filling in the format,
// a year's expiry and the root key where f leaves them empty, for tests that need a trust
// root of their own.
func SignRoot(ctx context.Context, f trustroot.File) (*trustroot.Root, *keys.Signer, error) {
	k, err := keys.Generate("comet.test/root")
	if err != nil {
		return nil, nil, err
	}
	if f.Format == "" {
		f.Format = trustroot.Format
	}
	if f.Version == 0 {
		f.Version = 1
	}
	if f.Expires.IsZero() {
		f.Expires = time.Now().Add(365 * 24 * time.Hour).UTC().Truncate(time.Second)
	}
	if len(f.Root.Keys) == 0 {
		f.Root = trustroot.RootKeys{Threshold: 1, Keys: []string{k.Verifier().String()}}
	}
	r, err := trustroot.Sign(ctx, f, k)
	return r, k, err
}
