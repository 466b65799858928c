package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/comet-attest/comet/registry/server"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/web"
)

// benchModels is how many models the benchmark's registry holds: 100,000, or
// COMET_BENCH_MODELS for a quicker look.
var benchModels = func() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("COMET_BENCH_MODELS"), &n); err == nil && n > 1 {
		return n
	}
	return 100_000
}()

// benchSeeded is the benchmark's registry, built once per test binary.
var benchSeeded struct {
	sync.Once
	url  string
	shas []string
	err  error
}

// BenchmarkPublicModelPage: the public model page (/models/{sha256}, rendered on the server)
// and, as the same run's reference, the JSON lookup it corresponds to (GET
// /v1/models/{sha256}), each under 16 concurrent keep-alive clients on loopback, on SQLite with
// 100,000 attested and evaluated models. One real model is submitted, verified, evaluated and
// logged through the service; the others are its rows copied in bulk under other hashes
// (model file, manifest, envelopes and evaluation reused), so that every page renders the
// whole of what a real one does: statement, weights chart, evaluation, checkpoint.
//
//	go test ./web -run '^$' -bench BenchmarkPublicModelPage -benchtime 20000x
func BenchmarkPublicModelPage(b *testing.B) {
	if testing.Short() {
		b.Skip("seeds 100,000 models")
	}
	benchSeeded.Do(func() { benchSeeded.url, benchSeeded.shas, benchSeeded.err = seedBench(b) })
	if benchSeeded.err != nil {
		b.Fatal(benchSeeded.err)
	}
	for _, tc := range []struct{ name, prefix, want string }{
		{"page", "/models/", `<section aria-labelledby="evals-h">`},
		{"api", "/v1/models/", `"model_sha256"`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			order := make([]int, b.N)
			for i := range order {
				order[i] = rng.IntN(len(benchSeeded.shas))
			}
			registrytest.Load(b, 16, func(hc *http.Client, i int) error {
				resp, err := hc.Get(benchSeeded.url + tc.prefix + benchSeeded.shas[order[i]])
				if err != nil {
					return err
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					return err
				}
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), tc.want) {
					return fmt.Errorf("GET %s: %d %.300s", tc.prefix, resp.StatusCode, body)
				}
				return nil
			})
		})
	}
}

func seedBench(b *testing.B) (string, []string, error) {
	fix := registrytest.Get(b)
	testManifest, bundle, keysDir, err := fix.Evaluation("court-of-appeal", fix.Model)
	if err != nil {
		return "", nil, err
	}
	cfg := registrytest.Config(b)
	cfg.Registry.CircuitKeysDir = keysDir
	cfg.Server.RatePerSecond, cfg.Server.RateBurst = 1e9, 1<<30
	if s := os.Getenv("COMET_BENCH_SQLITE_SYNCHRONOUS"); s != "" {
		cfg.Database.SQLiteSynchronous = s
	}
	reg := registrytest.ServeWith(b, cfg, nil, server.Options{Site: web.ForServer})
	ctx := context.Background()
	svc, st := reg.Service, reg.Store
	admin, err := svc.Authenticate(ctx, reg.AdminKey)
	if err != nil {
		return "", nil, err
	}
	prov, err := svc.Authenticate(ctx, registrytest.ApprovedProvider(b, svc, admin, registrytest.Provider))
	if err != nil {
		return "", nil, err
	}
	court, err := svc.Authenticate(ctx, registrytest.ApprovedAccount(b, svc, admin, "court-of-appeal", store.RoleEvaluator))
	if err != nil {
		return "", nil, err
	}
	sub, err := svc.Submit(ctx, prov, service.Submission{ModelName: "rollcall-margin.json", Model: fix.Model, Manifest: fix.Manifest, Proof: fix.Proof})
	if err != nil {
		return "", nil, err
	}
	if err := waitUntil(func() bool {
		v, err := st.ModelView(ctx, fix.ModelSHA256)
		return err == nil && v.LogIndex != nil
	}); err != nil {
		return "", nil, fmt.Errorf("real model: %w", err)
	}
	ev, err := svc.SubmitEvaluation(ctx, court, service.EvaluationSubmission{ModelSHA256: fix.ModelSHA256, Manifest: testManifest, Bundle: bundle})
	if err != nil {
		return "", nil, err
	}
	if err := waitUntil(func() bool {
		e, err := st.Evaluation(ctx, ev.ID)
		return err == nil && e.Status == store.StatusLogged
	}); err != nil {
		return "", nil, fmt.Errorf("real evaluation: %w", err)
	}
	realSub, err := st.Submission(ctx, sub.ID)
	if err != nil {
		return "", nil, err
	}
	realAtt, err := st.AttestationBySubmission(ctx, sub.ID)
	if err != nil {
		return "", nil, err
	}
	realModel, err := st.Model(ctx, fix.ModelSHA256)
	if err != nil {
		return "", nil, err
	}
	realEv, err := st.Evaluation(ctx, ev.ID)
	if err != nil {
		return "", nil, err
	}

	start := time.Now()
	shas := make([]string, benchModels)
	shas[0] = fix.ModelSHA256
	now := st.Now()
	const batch = 500
	for from := 1; from < benchModels; from += batch {
		to := min(benchModels, from+batch)
		models := make([]store.Model, 0, batch)
		subs := make([]store.Submission, 0, batch)
		atts := make([]store.Attestation, 0, batch)
		evs := make([]store.Evaluation, 0, batch)
		for i := from; i < to; i++ {
			sha := benchHex("model", i)
			shas[i] = sha
			idx, evIdx := int64(1000+2*i), int64(1001+2*i)
			at := now.Add(time.Duration(i) * time.Millisecond)
			subID := fmt.Sprintf("sub_%012x%016x", at.UnixMilli(), i)
			attID := benchHex("attestation", i)
			evAttID := benchHex("evaluation", i)
			models = append(models, store.Model{SHA256: sha, Name: fmt.Sprintf("model-%06d.json", i), ProviderID: registrytest.Provider,
				DatasetCommitment: realModel.DatasetCommitment, Body: realModel.Body, CreatedAt: at})
			subs = append(subs, store.Submission{ID: subID, ProviderID: registrytest.Provider, ModelSHA256: sha, ModelName: fmt.Sprintf("model-%06d.json", i),
				DatasetCommitment: realSub.DatasetCommitment, Manifest: realSub.Manifest, ProofSHA256: realSub.ProofSHA256, Proof: realSub.Proof,
				Status: store.StatusLogged, CreatedAt: at, UpdatedAt: at})
			atts = append(atts, store.Attestation{ID: attID, SubmissionID: subID, ModelSHA256: sha, ProviderID: registrytest.Provider,
				Envelope: realAtt.Envelope, Leaf: realAtt.Leaf, KeyID: realAtt.KeyID, LogIndex: &idx, IssuedAt: at, CreatedAt: at, LoggedAt: &at})
			evs = append(evs, store.Evaluation{ID: fmt.Sprintf("ev_%012x%016x", at.UnixMilli(), i), EvaluatorID: "court-of-appeal", ModelSHA256: sha,
				TestCommitment: realEv.TestCommitment, Manifest: realEv.Manifest, BundleSHA256: benchHex("bundle", i), Bundle: realEv.Bundle,
				Status: store.StatusLogged, AttestationID: &evAttID, Envelope: realEv.Envelope, Leaf: realEv.Leaf, KeyID: realEv.KeyID,
				LogIndex: &evIdx, IssuedAt: &at, LoggedAt: &at, CreatedAt: at, UpdatedAt: at})
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			for _, v := range []any{&models, &subs, &atts, &evs} {
				if err := tx.Create(ctx, v); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return "", nil, err
		}
	}
	b.Logf("seeded %d models (model file %d B, manifest %d B, proof %d B, envelope %d B, evaluation bundle %d B) in %s",
		benchModels, len(realModel.Body), len(realSub.Manifest), len(realSub.Proof), len(realAtt.Envelope), len(realEv.Bundle), time.Since(start).Round(time.Second))
	return reg.URL, shas, nil
}

func benchHex(kind string, i int) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s-%d", kind, i))
	return hex.EncodeToString(h[:])
}

func waitUntil(ok func() bool) error {
	deadline := time.Now().Add(2 * time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
