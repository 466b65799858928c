package main

import (
	"bytes"
	"context"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

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

// writeFixture writes the registry fixture's model, manifest and proof into dir under the names
// the CLI flows use (model.json, data.manifest.json, model.proof.json), with extra files.
func writeFixture(t *testing.T, dir string, fix *registrytest.Material, extra map[string][]byte) {
	t.Helper()
	files := map[string][]byte{"model.json": fix.Model, "data.manifest.json": fix.Manifest, "model.proof.json": fix.Proof}
	maps.Copy(files, extra)
	for name, b := range files {
		writeFile(t, dir, name, string(b))
	}
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
	if !strings.Contains(out, "committed 4548 rows × 13 features") || !strings.Contains(out, "(created;") ||
		!strings.Contains(out, "(private: no plain digest of the data, no salt)") {
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
	if code != 0 || !strings.Contains(out, m.Commitment.String()) || !strings.Contains(out, "4548") ||
		!strings.Contains(out, m.FileDigest) || !strings.Contains(out, "public        no") {
		t.Errorf("inspect: exit %d:\n%s%s", code, out, errOut)
	}

	modelPath := filepath.Join(dir, "fjc.model.json")
	code, _, errOut = runComet(t, "train", data, "--manifest", manifest, "--out", modelPath)
	if code != 2 || !strings.Contains(errOut, "--salt-file is required") {
		t.Errorf("train without the salt of a private manifest: exit %d: %s", code, errOut)
	}
	code, out, errOut = runComet(t, "train", data, "--manifest", manifest, "--salt-file", salt, "--lambda", "10", "--out", modelPath)
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
	code, _, errOut = runComet(t, "train", edited, "--manifest", manifest, "--salt-file", salt, "--out", filepath.Join(dir, "x.json"))
	if code != 2 || !strings.Contains(errOut, "does not match the manifest") {
		t.Errorf("edited dataset: exit %d: %s", code, errOut)
	}
}

func TestDatasetVerify(t *testing.T) {
	dir := t.TempDir()
	content := "id,a,b,y\n1,1,2,3\n2,4,5,6\n3,7,8,9\n4,1,1,1\n5,2,2,2\n"
	data := writeFile(t, dir, "data.csv", content)
	salt := filepath.Join(dir, "data.salt")
	manifest := filepath.Join(dir, "data.manifest.json")
	if code, _, errOut := runComet(t, "dataset", "commit", data, "--label", "y", "--exclude", "id", "--chunk-rows", "2",
		"--salt-file", salt, "--out", manifest); code != 0 {
		t.Fatalf("commit: %s", errOut)
	}
	public := filepath.Join(dir, "public.manifest.json")
	code, out, errOut := runComet(t, "dataset", "commit", data, "--label", "y", "--exclude", "id", "--chunk-rows", "2",
		"--salt-file", filepath.Join(dir, "public.salt"), "--public", "--out", public)
	if code != 0 || !strings.Contains(out, "(public: it carries the file's SHA-256 and the salt)") {
		t.Fatalf("public commit: exit %d: %s%s", code, out, errOut)
	}
	if code, out, _ := runComet(t, "dataset", "inspect", public); code != 0 || !strings.Contains(out, "public        yes") ||
		!strings.Contains(out, "sha256        "+sha256Hex([]byte(content))) {
		t.Errorf("inspect public manifest:\n%s", out)
	}
	edited := writeFile(t, dir, "edited.csv", strings.Replace(content, "4,1,1,1", "4,1,1,2", 1))
	otherSalt := writeFile(t, dir, "other.salt", strings.Repeat("ab", 32)+"\n")
	verify := func(file, manifest string, extra ...string) []string {
		return append([]string{"dataset", "verify", file, "--manifest", manifest}, extra...)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string // in stdout when the exit status is 0, else in the one line of stderr
	}{
		{"matches", verify(data, manifest, "--salt-file", salt), 0, "data.csv is the dataset"},
		{"public, no salt", verify(data, public), 0, "passed  sha256: equal"},
		{"changed value", verify(edited, manifest, "--salt-file", salt), 1, "chunk 1 (rows 3–4) differs"},
		{"another salt", verify(data, manifest, "--salt-file", otherSalt), 1, "the wrong salt, or another dataset"},
		{"reformatted", verify(writeFile(t, dir, "crlf.csv", strings.ReplaceAll(content, "\n", "\r\n")), manifest, "--salt-file", salt), 1, "file_digest differs"},
		{"column renamed", verify(writeFile(t, dir, "renamed.csv", strings.Replace(content, "id,", "key,", 1)), manifest, "--salt-file", salt), 1, `column 1 is "key"`},
		{"no salt for a private manifest", verify(data, manifest), 2, "--salt-file is required"},
		{"missing file", verify(filepath.Join(dir, "none.csv"), manifest, "--salt-file", salt), 2, "no such file"},
		{"missing salt file", verify(data, manifest, "--salt-file", filepath.Join(dir, "none.salt")), 2, "no such file"},
		{"bad manifest", verify(data, data, "--salt-file", salt), 2, "manifest"},
		{"not a number", verify(writeFile(t, dir, "nan.csv", "id,a,b,y\n1,x,2,3\n"), manifest, "--salt-file", salt), 2, `column "a"`},
		{"no manifest flag", []string{"dataset", "verify", data}, 2, "--manifest is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runComet(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d:\n%s%s", code, tt.code, out, errOut)
			}
			if tt.code == 0 && !strings.Contains(out, tt.want) {
				t.Errorf("stdout %q: want %q", out, tt.want)
			}
			if tt.code != 0 && (strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tt.want)) {
				t.Errorf("stderr %q: want one line containing %q", errOut, tt.want)
			}
		})
	}
}

// Input the commands cannot use: exit 2 and one line on stderr saying what is wrong, in the
// same words whichever command checks it (a missing flag, an unknown subcommand).
func TestUsageErrors(t *testing.T) {
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
		{"no label", commit(good), "--label is required"},
		{"neither label nor salt file", []string{"dataset", "commit", good}, "--label and --salt-file are required"},
		{"unknown subcommand", []string{"dataset", "comit", good}, `unknown command "comit" for "comet dataset"`},
		{"unknown command", []string{"foo"}, `unknown command "foo" for "comet"`},
		{"unknown admin subcommand", []string{"admin", "providers", "nope"}, `unknown command "nope"`},
		{"contact not an address", []string{"provider", "register", "acme-legal", "--contact", "call me"}, "--contact: \"call me\" is neither an e-mail address"},
		{"contact with a display name", []string{"provider", "register", "acme-legal", "--contact", "Ops <ops@acme.example>"}, "--contact:"},
		{"no contact", []string{"provider", "register", "acme-legal"}, "--contact is required"},
		{"unknown config key", []string{"serve", "--config", writeFile(t, dir, "bad.yaml", "# registry\nserver:\n  rate_bursts: 3\n")}, "line 3: unknown key server.rate_bursts"},
		{"config key of the wrong kind", []string{"admin", "init", "--config", writeFile(t, dir, "kind.yaml", "jobs:\n  workers: many\n")}, `line 2: jobs.workers must be an integer, not "many"`},
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
	// The failed commits drew a salt each and kept none.
	if _, err := os.Stat(salt); !os.IsNotExist(err) {
		t.Errorf("a failed commit left the salt file %s: %v", salt, err)
	}
}

// comet serve on a busy port fails at once, naming the address, before it makes anything.
func TestServeBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	data := filepath.Join(dir, "registry")
	config := writeFile(t, dir, "registry.yaml", "data_dir: "+data+"\n")
	addr := ln.Addr().String()
	code, _, errOut := runComet(t, "serve", "--config", config, "--addr", addr)
	if code != 2 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "listen on "+addr) || !strings.Contains(errOut, "address already in use") {
		t.Errorf("serve on a busy port: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("serve on a busy port made %s: %v", data, err)
	}
}

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode) // as main does: no route listing per test server
	code := m.Run()
	registrytest.Cleanup() // the registry material is shared by every test in this binary
	os.Exit(code)
}

// admin init outside a registry's directory refuses to make a new, empty registry there,
// whose key the running one would refuse; --create makes one on purpose.
func TestAdminInitNeedsDataDir(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "registry")
	config := writeFile(t, dir, "registry.yaml", "data_dir: "+data+"\n")
	code, out, errOut := runComet(t, "admin", "init", "--config", config)
	if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, data) || !strings.Contains(errOut, "--create") {
		t.Errorf("admin init without a data directory: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the refused init left %s: %v", data, err)
	}
	code, out, errOut = runComet(t, "admin", "init", "--create", "--config", config)
	if code != 0 || !strings.HasPrefix(out, "comet_") {
		t.Fatalf("admin init --create: exit %d\n%s%s", code, out, errOut)
	}
	// The directory exists now: a second admin is refused for another reason, without --create.
	if code, _, errOut := runComet(t, "admin", "init", "--config", config); code != 2 || !strings.Contains(errOut, "--force") {
		t.Errorf("second admin init: exit %d: %s", code, errOut)
	}
}
