package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/internal/shareddata"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/registry/registrytest"
)

// runComet runs the CLI in-process and returns its exit status, stdout and stderr.
func runComet(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	if err != nil {
		errOut.WriteString("comet: " + strings.Join(strings.Fields(err.Error()), " ") + "\n")
	}
	return exitCode(err), out.String(), errOut.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDatasetCommitFJC(t *testing.T) {
	dir := t.TempDir()
	data := shareddata.Path(t, "data", "legal", "fjc_confirmation_days.csv")
	manifest := filepath.Join(dir, "fjc.manifest.json")
	salt := filepath.Join(dir, "fjc.salt")
	args := []string{"dataset", "commit", data, "--label", "days_nomination_to_confirmation",
		"--exclude", "nid,sequence", "--salt-file", salt, "--out", manifest}
	code, out, errOut := runComet(t, args...)
	if code != 0 {
		t.Fatalf("commit: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "committed 4548 rows × 13 features") || !strings.Contains(out, "(created;") {
		t.Errorf("commit output:\n%s", out)
	}
	m, err := commitment.LoadManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 4548 || m.D != 13 || m.ChunkRows != 1024 || len(m.ChunkCommitments) != 5 {
		t.Errorf("manifest header %+v", m.Header)
	}
	fi, err := os.Stat(salt)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("salt file: %v %v", fi, err)
	}

	// The same file and salt give the same manifest; the salt is reused.
	first, _ := os.ReadFile(manifest)
	code, out, errOut = runComet(t, args...)
	if code != 0 || !strings.Contains(out, "(reused;") {
		t.Fatalf("second commit: exit %d: %s%s", code, out, errOut)
	}
	if second, _ := os.ReadFile(manifest); !bytes.Equal(first, second) {
		t.Error("committing again changed the manifest")
	}

	code, out, errOut = runComet(t, "dataset", "inspect", manifest)
	if code != 0 || !strings.Contains(out, m.Commitment.String()) || !strings.Contains(out, "4548") {
		t.Errorf("inspect: exit %d:\n%s%s", code, out, errOut)
	}

	modelPath := filepath.Join(dir, "fjc.model.json")
	code, out, errOut = runComet(t, "train", data, "--manifest", manifest, "--lambda", "10", "--out", modelPath)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, errOut)
	}
	mod, err := model.Load(context.Background(), modelPath)
	if err != nil {
		t.Fatal(err)
	}
	if mod.Kind != "ridge" || mod.DatasetCommitment != m.Commitment.String() || mod.Metrics.N != 4548 || len(mod.WeightsFixed) != 13 {
		t.Errorf("model: kind %s, commitment %s, n %d, %d weights", mod.Kind, mod.DatasetCommitment, mod.Metrics.N, len(mod.WeightsFixed))
	}
	if !strings.Contains(out, mod.SHA256) || !strings.Contains(out, "optimality residual "+mod.OptimalityResidual) {
		t.Errorf("train output:\n%s", out)
	}

	// A file that differs from the committed one by a single byte is refused.
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	edited := writeFile(t, dir, "edited.csv", strings.Replace(string(b), ",9\n", ",8\n", 1))
	code, _, errOut = runComet(t, "train", edited, "--manifest", manifest, "--out", filepath.Join(dir, "x.json"))
	if code != 2 || !strings.Contains(errOut, "does not match the manifest") {
		t.Errorf("edited dataset: exit %d: %s", code, errOut)
	}
}

func TestDatasetCommitErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.csv", "a,b,y\n1,2,3\n4,5,6\n")
	salt := filepath.Join(dir, "s.salt")
	commit := func(data string, extra ...string) []string {
		return append([]string{"dataset", "commit", data, "--salt-file", salt, "--out", filepath.Join(dir, "m.json")}, extra...)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no label", commit(good), `"label" not set`},
		{"unknown label", commit(good, "--label", "z"), `label "z"`},
		{"bad format", commit(good, "--label", "y", "--value-bits", "99"), "--fraction-bits/--value-bits"},
		{"bad chunk rows", commit(good, "--label", "y", "--chunk-rows", "-1"), "--chunk-rows"},
		{"missing file", commit(filepath.Join(dir, "none.csv"), "--label", "y"), "no such file"},
		{"ragged", commit(writeFile(t, dir, "ragged.csv", "a,b,y\n1,2,3\n4,5\n"), "--label", "y"), "row 2"},
		{"nan", commit(writeFile(t, dir, "nan.csv", "a,b,y\n1,NaN,3\n"), "--label", "y"), `column "b"`},
		{"overflow", commit(writeFile(t, dir, "big.csv", "a,b,y\n1,2,3e30\n"), "--label", "y"), `column "y"`},
		{"empty", commit(writeFile(t, dir, "empty.csv", ""), "--label", "y"), "empty"},
		{"unknown flag", commit(good, "--label", "y", "--nope"), "unknown flag"},
		{"bad manifest", []string{"dataset", "inspect", good}, "manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runComet(t, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, errOut)
			}
			if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q: want one line containing %q", errOut, tt.want)
			}
		})
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	registrytest.Cleanup() // the registry material is shared by every test in this binary
	os.Exit(code)
}
