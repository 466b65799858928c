package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/comet-attest/comet/registry/wire"

	"github.com/comet-attest/comet/internal/shareddata"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/registrytest"
)

// buildComet builds the comet binary into the test's temporary directory, to run it as a
// real process.
func buildComet(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "comet")
	if out, err := exec.Command("go", "build", "-o", path, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return path
}

// run runs the comet binary and returns its exit status and output.
func run(t *testing.T, bin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

func mustRun(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	code, out, errOut := run(t, bin, env, args...)
	if code != 0 {
		t.Fatalf("comet %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// registryProcess is `comet serve` running as a child process.
type registryProcess struct {
	cmd  *exec.Cmd
	url  string
	done chan error
	logs *bytes.Buffer
	mu   *sync.Mutex
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(http://[0-9.:]+)`)

// startRegistry starts comet serve with the config file and waits for its "listening" line.
func startRegistry(t *testing.T, bin, config string) *registryProcess {
	t.Helper()
	return startComet(t, bin, listeningRE, "serve", "--config", config, "--addr", "127.0.0.1:0")
}

// startComet starts comet with args and waits until a line of its stderr matches ready; the
// match's first group, if any, is the process's URL. The process is killed when the test ends.
func startComet(t *testing.T, bin string, ready *regexp.Regexp, args ...string) *registryProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &registryProcess{cmd: cmd, done: make(chan error, 1), logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
			if m := ready.FindStringSubmatch(line); m != nil {
				url := ""
				if len(m) > 1 {
					url = m[1]
				}
				select {
				case found <- url:
				default:
				}
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.url = <-found:
		return p
	case err := <-p.done:
		t.Fatalf("comet %s exited before it was ready: %v\n%s", args[0], err, p.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("comet %s was not ready within 60s\n%s", args[0], p.log())
	}
	return nil
}

func (p *registryProcess) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// stop sends SIGTERM and waits for a clean exit.
func (p *registryProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("comet serve exited with %v after SIGTERM\n%s", err, p.log())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("comet serve did not stop within 30s of SIGTERM")
	}
}

func writeConfig(t *testing.T, dir, keysDir string) string {
	t.Helper()
	cfg := fmt.Sprintf(`data_dir: %s
registry:
  circuit_keys_dir: %s
log:
  checkpoint_interval: 100ms
jobs:
  poll_interval: 20ms
`, filepath.Join(dir, "registry"), keysDir)
	path := filepath.Join(dir, "registry.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The flow of DESIGN.md end to end through the CLI, against comet serve on loopback:
// commit → train → prove → submit --wait → lookup → verify, then revoke → verify fails.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole flow as processes: builds the binary, proves, serves (30 s)")
	}
	bin := buildComet(t)
	dir := t.TempDir()
	data := shareddata.Path(t, "data", "legal", "fjc_rollcall_margin.csv")
	p := func(name string) string { return filepath.Join(dir, name) }

	// Provider: commit and train. Small chunks keep the circuit, and so the setup, quick.
	mustRun(t, bin, nil, "dataset", "commit", data, "--label", "vote_margin", "--exclude", "nid,sequence,ayes,nays",
		"--chunk-rows", "128", "--salt-file", p("data.salt"), "--out", p("data.manifest.json"))
	mustRun(t, bin, nil, "train", data, "--manifest", p("data.manifest.json"), "--salt-file", p("data.salt"), "--out", p("model.json"))
	reg, admin, anon := attestFlow(t, bin, dir, data, p("data.manifest.json"), p("data.salt"), p("model.json"))
	// The server said at start what is off, and logged each state of the submission.
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`level=INFO msg="anchoring off: `), regexp.MustCompile(`level=INFO msg="no witnesses: `),
		regexp.MustCompile(`level=INFO msg="submission received" submission=sub_\S+ provider=acme-legal model=[0-9a-f]{64}`),
		regexp.MustCompile(`level=INFO msg="submission verifying" submission=sub_\S+`),
		regexp.MustCompile(`level=INFO msg="submission logged" submission=sub_\S+ attestation=[0-9a-f]{64} log_index=0`),
	} {
		if !want.MatchString(reg.log()) {
			t.Errorf("the server's log has no line matching %s:\n%s", want, reg.log())
		}
	}
	out := mustRun(t, bin, anon, "lookup", p("model.json"))
	if !regexp.MustCompile(`status\s+logged`).MatchString(out) || !regexp.MustCompile(`log index\s+0`).MatchString(out) || !regexp.MustCompile(`revoked\s+no`).MatchString(out) {
		t.Fatalf("lookup:\n%s", out)
	}
	state := p("state")
	// attestFlow's keys come from a single-party setup: the registry could forge their proofs,
	// and verify says so as a failed check unless the client accepts it by name.
	if code, out, _ := run(t, bin, anon, "verify", p("model.json"), "--state-dir", state); code != 1 ||
		!regexp.MustCompile(`key ceremony\s+failed\s+single-party setup: the registry could forge this proof`).MatchString(out) {
		t.Errorf("verify of single-party keys: exit %d\n%s", code, out)
	}
	out = mustRun(t, bin, anon, "verify", p("model.json"), "--state-dir", state, "--allow-single-party-setup")
	if !strings.Contains(out, "waived: a single-party key setup (--allow-single-party-setup)") {
		t.Errorf("verify does not say what it waived:\n%s", out)
	}
	for _, want := range []string{"zero-knowledge proof", "proof matches the attestation", "what the proof guarantees", "ordinary least squares",
		"envelope signature", "inclusion in log", "attestation not revoked", "every check passed"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, " failed ") {
		t.Errorf("verify reported a failure:\n%s", out)
	}
	clientCommands(t, bin, dir, admin, anon, p("model.json"), p("data.manifest.json"), modelSHA(t, p("model.json")))

	// A model file whose float weight is 100 times the proven one is refused by the reader:
	// exit 2, naming the weight, before anything is fetched.
	raw, err := os.ReadFile(p("model.json"))
	if err != nil {
		t.Fatal(err)
	}
	first := regexp.MustCompile(`"weights":\[([-0-9.e+]+)`)
	w0, err := strconv.ParseFloat(first.FindStringSubmatch(string(raw))[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	edited := first.ReplaceAllLiteralString(string(raw), `"weights":[`+strconv.FormatFloat(100*w0+1, 'g', -1, 64))
	if err := os.WriteFile(p("edited.json"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, bin, anon, "verify", p("edited.json"), "--state-dir", state, "--allow-single-party-setup"); code != 2 || !strings.Contains(errOut, "weights[0]") {
		t.Errorf("verify of a model with an edited float weight: exit %d: %s", code, errOut)
	}

	// Offline: the bundle and the pinned trust root, no network.
	bundleFile := p("bundle.json")
	sha := modelSHA(t, p("model.json"))
	saveBundle(t, reg.url, sha, bundleFile)
	root := pinnedRoot(t, state)
	out = mustRun(t, bin, nil, "verify", p("model.json"), "--offline", "--bundle", bundleFile, "--trust-root", root, "--allow-single-party-setup", "--waive", "revocation",
		"--proof", p("model.proof.json"), "--manifest", p("data.manifest.json"), "--keys", p("keys"))
	if !regexp.MustCompile(`zero-knowledge proof\s+passed`).MatchString(out) || !regexp.MustCompile(`proof matches the attestation\s+passed`).MatchString(out) ||
		!regexp.MustCompile(`attestation not revoked\s+not checked`).MatchString(out) {
		t.Errorf("offline verify:\n%s", out)
	}
	// Offline with another valid proof of the same model and provider: it verifies, but it is
	// not the proof the registry checked and signed.
	mustRun(t, bin, nil, "prove", data, "--manifest", p("data.manifest.json"), "--model", p("model.json"),
		"--salt-file", p("data.salt"), "--provider", "acme-legal", "--keys", p("keys"), "--out", p("again.proof.json"))
	offline := func(proofFile string) (int, string) {
		code, out, _ := run(t, bin, nil, "verify", p("model.json"), "--offline", "--bundle", bundleFile, "--trust-root", root, "--allow-single-party-setup", "--waive", "revocation",
			"--proof", proofFile, "--manifest", p("data.manifest.json"), "--keys", p("keys"))
		return code, out
	}
	if code, out := offline(p("again.proof.json")); code != 1 || !regexp.MustCompile(`zero-knowledge proof\s+passed`).MatchString(out) ||
		!regexp.MustCompile(`proof matches the attestation\s+failed\s+proof bundle sha256`).MatchString(out) {
		t.Errorf("offline verify with another proof of the model: exit %d\n%s", code, out)
	}
	// And with the proof re-pointed at another provider: it is bound to acme-legal.
	raw, err = os.ReadFile(p("model.proof.json"))
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(string(raw), `"provider": "acme-legal"`, `"provider": "other-co"`, 1)
	if err := os.WriteFile(p("other.proof.json"), []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := offline(p("other.proof.json")); code != 1 || !regexp.MustCompile(`zero-knowledge proof\s+failed`).MatchString(out) {
		t.Errorf("offline verify with the proof re-pointed at another provider: exit %d\n%s", code, out)
	}
	// Without the proof material the proof is not checked: that fails unless waived by name.
	noProof := []string{"verify", p("model.json"), "--offline", "--bundle", bundleFile, "--trust-root", root, "--allow-single-party-setup", "--waive", "revocation"}
	if code, _, errOut := run(t, bin, nil, noProof...); code != 1 || !strings.Contains(errOut, "zero-knowledge proof: not checked") {
		t.Errorf("offline verify without the proof: exit %d: %s", code, errOut)
	}
	if out := mustRun(t, bin, nil, append(noProof, "--waive", "proof")...); !regexp.MustCompile(`zero-knowledge proof\s+not checked`).MatchString(out) {
		t.Errorf("offline verify with the proof waived:\n%s", out)
	}

	// Revocation: signed, logged, and verify now fails naming it.
	mustRun(t, bin, admin, "admin", "revoke", p("model.json"), "--reason", "training data withdrawn")
	code, out, errOut := run(t, bin, anon, "verify", p("model.json"), "--state-dir", state, "--allow-single-party-setup")
	if code != 1 || !strings.Contains(out, "revoked") || !strings.Contains(errOut, "revoked") {
		t.Fatalf("verify after revocation: exit %d\n%s%s", code, out, errOut)
	}
	if !regexp.MustCompile(`consistency with prior checkpoint\s+passed`).MatchString(out) {
		t.Errorf("the second verify did not check consistency with the stored checkpoint:\n%s", out)
	}
	revokedBundle(t, bin, dir, anon, p("model.json"), reg.url, sha)
	out = mustRun(t, bin, anon, "lookup", p("model.json"))
	if !strings.Contains(out, "training data withdrawn") {
		t.Errorf("lookup after revocation:\n%s", out)
	}
	reg.stop(t)
	if !strings.Contains(reg.log(), "shutting down") {
		t.Errorf("no graceful shutdown in the log:\n%s", reg.log())
	}
}

// attestFlow runs the operator's and the provider's part of the flow on a committed and
// trained dataset: setup of the keys the registry publishes (a single-party setup, as for
// local testing), comet serve, acme-legal registered and approved, its proof, and submit
// --wait until the attestation is logged. It returns the registry and the environments of
// its admin and of anyone.
func attestFlow(t *testing.T, bin, dir, data, manifest, salt, model string) (reg *registryProcess, admin, anon []string) {
	t.Helper()
	p := func(name string) string { return filepath.Join(dir, name) }
	mustRun(t, bin, nil, "setup", "--manifest", manifest, "--out", p("keys"))
	config := writeConfig(t, dir, p("keys"))
	adminKey := strings.TrimSpace(mustRun(t, bin, nil, "admin", "init", "--create", "--config", config))
	reg = startRegistry(t, bin, config)
	admin = []string{"COMET_API_KEY=" + adminKey, "COMET_REGISTRY=" + reg.url}
	anon = []string{"COMET_REGISTRY=" + reg.url}

	registerProvider(t, bin, dir, admin, anon)
	proveAndSubmit(t, bin, dir, reg, anon, data, manifest, salt, model)
	return reg, admin, anon
}

// registerProvider registers acme-legal (its API key in dir/provider.key) and approves it.
func registerProvider(t *testing.T, bin, dir string, admin, anon []string) {
	t.Helper()
	mustRun(t, bin, anon, "provider", "register", "acme-legal", "--contact", "ops@acme.example", "--key-out", filepath.Join(dir, "provider.key"))
	mustRun(t, bin, admin, "admin", "providers", "approve", "acme-legal")
}

// proveAndSubmit proves model for acme-legal with the keys in dir/keys, into <model>.proof.json,
// and submits it with --wait until the attestation is logged.
func proveAndSubmit(t *testing.T, bin, dir string, reg *registryProcess, anon []string, data, manifest, salt, model string) {
	t.Helper()
	proofFile := strings.TrimSuffix(model, ".json") + ".proof.json"
	mustRun(t, bin, nil, "prove", data, "--manifest", manifest, "--model", model,
		"--salt-file", salt, "--provider", "acme-legal", "--keys", filepath.Join(dir, "keys"), "--out", proofFile)
	out := mustRun(t, bin, anon, "submit", "--api-key-file", filepath.Join(dir, "provider.key"), "--model", model,
		"--manifest", manifest, "--proof", proofFile, "--wait")
	if !strings.Contains(out, "logged: attestation") {
		t.Fatalf("submit --wait:\n%s\n%s", out, reg.log())
	}
}

// saveBundle writes the client bundle of the model's attestation to path and returns the
// registry's lookup JSON it found the attestation in.
func saveBundle(t *testing.T, registryURL, sha, path string) []byte {
	t.Helper()
	lookupJSON := fetch(t, registryURL+"/v1/models/"+sha)
	attID := regexp.MustCompile(`"attestation":\{"id":"([0-9a-f]{64})"`).FindSubmatch(lookupJSON)
	if attID == nil {
		t.Fatalf("lookup JSON: %s", lookupJSON)
	}
	if err := os.WriteFile(path, fetch(t, registryURL+"/v1/attestations/"+string(attID[1])+"/bundle"), 0o644); err != nil {
		t.Fatal(err)
	}
	return lookupJSON
}

// pinnedRoot is the one trust root comet verify pinned on first use in the state directory.
func pinnedRoot(t *testing.T, stateDir string) string {
	t.Helper()
	roots, _ := filepath.Glob(filepath.Join(stateDir, "trustroots", "*.json"))
	if len(roots) != 1 {
		t.Fatalf("pinned trust roots: %v", roots)
	}
	return roots[0]
}

func modelSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The model's identity is the SHA-256 of its file: sha256sum model.json.
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

// Kill the registry with SIGKILL while submissions stream in, twice, and restart it: every
// submission that got a 202 is found and completes, and nothing is logged twice (the log
// holds exactly one entry per attested model).
func TestCrashDuringSubmissions(t *testing.T) {
	if testing.Short() {
		t.Skip("SIGKILLs comet serve under load (25 s)")
	}
	bin := buildComet(t)
	fix := registrytest.Get(t)
	dir := t.TempDir()
	config := writeConfig(t, dir, fix.KeysDir)
	adminKey := strings.TrimSpace(mustRun(t, bin, nil, "admin", "init", "--create", "--config", config))
	ctx := context.Background()

	const total = 400
	bodies := make([]wire.SubmitRequest, total)
	for i := range bodies {
		m, p, _, err := fix.Variant(i + 1)
		if err != nil {
			t.Fatal(err)
		}
		bodies[i] = wire.SubmitRequest{ModelName: "model.json", Model: m, Manifest: fix.Manifest, Proof: p}
	}
	var (
		mu       sync.Mutex
		accepted = map[string]bool{}
		next     int
		provKey  string
	)
	for round := range 3 {
		reg := startRegistry(t, bin, config)
		admin, _ := client.New(reg.url, adminKey, nil)
		if round == 0 {
			anon, _ := client.New(reg.url, "", nil)
			r, err := anon.Register(ctx, wire.RegisterRequest{ID: "acme-legal", Contact: "ops@acme.example"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := admin.ProviderAction(ctx, "acme-legal", "approve", ""); err != nil {
				t.Fatal(err)
			}
			provKey = r.Key
		}
		prov, _ := client.New(reg.url, provKey, &http.Client{Timeout: 10 * time.Second})
		if round == 2 {
			// The last start: wait for everything acknowledged to complete.
			checkAllLogged(t, reg, admin, prov, accepted)
			reg.stop(t)
			return
		}
		// Stream submissions from 4 clients and kill the server mid-stream.
		target := len(accepted) + 40
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					if next >= total {
						mu.Unlock()
						return
					}
					i := next
					next++
					mu.Unlock()
					s, err := prov.Submit(ctx, bodies[i])
					if err != nil {
						return // the server is gone
					}
					mu.Lock()
					accepted[s.ID] = true
					mu.Unlock()
				}
			}()
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			n := len(accepted)
			mu.Unlock()
			if n >= target || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := reg.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-reg.done
		wg.Wait()
		t.Logf("round %d: %d submissions acknowledged so far", round, len(accepted))
	}
}

func checkAllLogged(t *testing.T, reg *registryProcess, admin, prov *client.Client, accepted map[string]bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	indexes := map[int64]string{}
	for id := range accepted {
		s, err := prov.Wait(ctx, id, 20*time.Millisecond, nil)
		if err != nil {
			t.Fatalf("submission %s: %v\n%s", id, err, reg.log())
		}
		if s.Status != "logged" || s.LogIndex == nil {
			t.Fatalf("submission %s ended %s (%s: %s)", id, s.Status, s.FailedCheck, s.Message)
		}
		if other, dup := indexes[*s.LogIndex]; dup {
			t.Fatalf("submissions %s and %s share log index %d", id, other, *s.LogIndex)
		}
		indexes[*s.LogIndex] = id
	}
	// Every submission the registry holds was acknowledged or not, but none is lost or left
	// open, and the log holds exactly one entry per logged attestation.
	var logged int
	cursor := ""
	for {
		page, err := admin.Submissions(ctx, "", "", client.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Items {
			if s.Status != "logged" {
				// Accepted by a server killed before it could answer: still completed.
				s2, err := prov.Wait(ctx, s.ID, 20*time.Millisecond, nil)
				if err != nil || s2.Status != "logged" {
					t.Fatalf("unacknowledged submission %s ended %+v %v", s.ID, s2, err)
				}
			}
			logged++
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if logged < len(accepted) {
		t.Fatalf("%d submissions in the registry, %d acknowledged", logged, len(accepted))
	}
	for {
		cp := fetch(t, reg.url+"/v1/log/checkpoint")
		var size int
		fmt.Sscanf(strings.Split(string(cp), "\n")[1], "%d", &size)
		if size == logged {
			break
		}
		if size > logged {
			t.Fatalf("the log holds %d entries for %d attestations: something was logged twice", size, logged)
		}
		if ctx.Err() != nil {
			t.Fatalf("checkpoint size %d, %d attestations", size, logged)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d acknowledged, %d in the registry, all logged once", len(accepted), logged)
}
