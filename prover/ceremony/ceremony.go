package ceremony

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	cs "github.com/consensys/gnark/constraint/bn254"

	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/internal/strictjson"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/setup"
)

// Format names this version of ceremony.json.
const Format = "comet.ceremony/v1"

// Phases of a ceremony, as ceremony.json records the open one.
const (
	Phase1    = 1 // powers of tau: open for contributions
	Phase2    = 2 // per circuit: open for contributions
	Finalized = 3 // sealed: the keys are derived
)

// Sentinel errors; callers branch on them with errors.Is.
var (
	// ErrInvalid reports a ceremony directory or transcript that cannot be read as one.
	ErrInvalid = errors.New("invalid ceremony")
	// ErrContribution reports a contribution that does not verify.
	ErrContribution = errors.New("contribution does not verify")
	// ErrPhase reports a step the ceremony's phase does not allow.
	ErrPhase = errors.New("not allowed in this phase of the ceremony")
)

// Contribution is one participant's contribution to one phase (and, in phase 2, circuit).
type Contribution struct {
	Phase   int    `json:"phase"`
	Circuit string `json:"circuit,omitempty"`
	Name    string `json:"name"`
	File    string `json:"file"`
	SHA256  string `json:"sha256"`
}

// State is ceremony.json.
type State struct {
	Format string        `json:"format"`
	Shape  circuit.Shape `json:"shape"`
	// Evaluation, when set, makes the ceremony's circuits the evaluation pair of these rows
	// (comet evaluate) rather than training's.
	Evaluation     *circuit.EvalShape `json:"evaluation,omitempty"`
	CircuitVersion string             `json:"circuit_version"`
	Gnark          string             `json:"gnark"`
	Domain         uint64             `json:"phase1_domain"`
	Phase          int                `json:"phase"`
	Beacon1        string             `json:"phase1_beacon,omitempty"`
	Beacon2        string             `json:"phase2_beacon,omitempty"`
	Contributions  []Contribution     `json:"contributions"`
}

// Keyed is the pair of circuits the ceremony makes keys for.
func (s *State) Keyed() circuit.Keyed {
	if s.Evaluation != nil {
		return *s.Evaluation
	}
	return s.Shape
}

// circuits are the ceremony's circuits, the chunk circuit first.
func (s *State) circuits() [2]circuit.Circuit { return s.Keyed().Circuits() }

// Contributors lists the names that contributed to phase p, in order (to the chunk circuit
// for phase 2: every phase-2 contribution covers both circuits).
func (s *State) Contributors(p int) []string {
	var out []string
	for _, c := range s.Contributions {
		if c.Phase == p && !c.initial() && (p == Phase1 || c.Circuit == string(s.circuits()[0])) {
			out = append(out, c.Name)
		}
	}
	return out
}

// initial reports whether c is a circuit's initial phase-2 state, which ClosePhase1 derives
// and nobody contributes.
func (c Contribution) initial() bool { return strings.HasSuffix(c.File, "/0000.bin") }

// Progress is told each step of a long operation.
type Progress func(step string)

func (p Progress) say(format string, a ...any) {
	if p != nil {
		p(fmt.Sprintf(format, a...))
	}
}

// Init starts a ceremony for the circuits of s (a training shape, or an evaluation shape) in
// dir (created; it must not hold one already).
func Init(ctx context.Context, dir string, s circuit.Keyed) (*State, error) {
	if _, err := os.Stat(filepath.Join(dir, "ceremony.json")); err == nil {
		return nil, fmt.Errorf("%w: %s already holds a ceremony", ErrPhase, dir)
	}
	n := 0
	for _, c := range s.Circuits() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ccs, err := setup.Compile(s, c)
		if err != nil {
			return nil, err
		}
		n = max(n, ccs.GetNbConstraints())
	}
	st := &State{Format: Format, Shape: s.Rows(), CircuitVersion: circuit.Version, Gnark: circuit.GnarkVersion(),
		Domain: ecc.NextPowerOfTwo(uint64(n)), Phase: Phase1, Contributions: []Contribution{}}
	if e, ok := s.(circuit.EvalShape); ok {
		st.Evaluation = &e
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ceremony directory: %w", err)
	}
	return st, st.save(dir)
}

// Load reads ceremony.json and checks that this build can take part.
func Load(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, "ceremony.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var st State
	if err := strictjson.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%w: ceremony.json: %w", ErrInvalid, err)
	}
	switch {
	case st.Format != Format:
		return nil, fmt.Errorf("%w: format %q, want %q", ErrInvalid, st.Format, Format)
	case st.CircuitVersion != circuit.Version || st.Gnark != circuit.GnarkVersion():
		return nil, fmt.Errorf("%w: ceremony for %s with gnark %s, this build is %s with gnark %s", ErrInvalid,
			st.CircuitVersion, st.Gnark, circuit.Version, circuit.GnarkVersion())
	case st.Phase < Phase1 || st.Phase > Finalized:
		return nil, fmt.Errorf("%w: phase %d", ErrInvalid, st.Phase)
	case st.Domain == 0 || ecc.NextPowerOfTwo(st.Domain) != st.Domain || st.Domain > 1<<26:
		return nil, fmt.Errorf("%w: phase-1 domain %d is not a power of two up to 2^26", ErrInvalid, st.Domain)
	}
	if st.Evaluation != nil && st.Evaluation.Shape != st.Shape {
		return nil, fmt.Errorf("%w: the evaluation's rows %s are not the shape %s", ErrInvalid, st.Evaluation.Shape, st.Shape)
	}
	if err := st.Keyed().Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	for _, c := range st.Contributions {
		if !fileRE.MatchString(c.File) {
			return nil, fmt.Errorf("%w: contribution file %q", ErrInvalid, c.File)
		}
	}
	return &st, nil
}

func (s *State) save(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "ceremony.json"), append(b, '\n'), 0o644)
}

func contributionFile(phase int, c string, i int) string {
	if phase == Phase1 {
		return fmt.Sprintf("phase1/%04d.bin", i)
	}
	return fmt.Sprintf("phase2/%s/%04d.bin", c, i)
}

// CheckName enforces what a contributor's name may be: it is printed and published.
func CheckName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("contributor name must be 1 to 64 bytes, not %d", len(name))
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("contributor name %q has a character that is not printable", name)
		}
	}
	return nil
}

// last returns the contributions to phase p (and circuit c) in order.
func (s *State) last(p int, c string) []Contribution {
	var out []Contribution
	for _, k := range s.Contributions {
		if k.Phase == p && k.Circuit == c {
			out = append(out, k)
		}
	}
	return out
}

// Contribute appends one contribution by name to the open phase: one to phase 1, or one to
// each circuit in phase 2. The secret is drawn from crypto/rand by gnark and never leaves
// this process's memory.
func Contribute(ctx context.Context, dir, name string, progress Progress) ([]Contribution, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	st, err := Load(dir)
	if err != nil {
		return nil, err
	}
	if st.Phase == Finalized {
		return nil, fmt.Errorf("%w: the ceremony is finalized", ErrPhase)
	}
	if slices.Contains(st.Contributors(st.Phase), name) {
		return nil, fmt.Errorf("%w: %q already contributed to phase %d", ErrPhase, name, st.Phase)
	}
	var added []Contribution
	if st.Phase == Phase1 {
		prev := st.last(Phase1, "")
		p := mpcsetup.NewPhase1(st.Domain)
		if len(prev) > 0 {
			if p, err = readPhase1(dir, prev[len(prev)-1]); err != nil {
				return nil, err
			}
		}
		progress.say("phase 1: contributing to a domain of %d", st.Domain)
		p.Contribute()
		c, err := writeContribution(dir, Contribution{Phase: Phase1, Name: name, File: contributionFile(Phase1, "", len(prev)+1)}, p)
		if err != nil {
			return nil, err
		}
		added = append(added, c)
	} else {
		for _, cc := range st.circuits() {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			prev := st.last(Phase2, string(cc)) // the initial state first
			if len(prev) == 0 {
				return nil, fmt.Errorf("%w: phase 2 of the %s circuit has no initial state", ErrInvalid, cc)
			}
			p, err := readPhase2(dir, prev[len(prev)-1])
			if err != nil {
				return nil, err
			}
			progress.say("phase 2: contributing to the %s circuit", cc)
			p.Contribute()
			c, err := writeContribution(dir, Contribution{Phase: Phase2, Circuit: string(cc), Name: name, File: contributionFile(Phase2, string(cc), len(prev))}, p)
			if err != nil {
				return nil, err
			}
			added = append(added, c)
		}
	}
	st.Contributions = append(st.Contributions, added...)
	return added, st.save(dir)
}

// writeContribution writes v to c.File and records its SHA-256, which is also the challenge
// the next contribution must answer.
func writeContribution(dir string, c Contribution, v io.WriterTo) (Contribution, error) {
	path := filepath.Join(dir, filepath.FromSlash(c.File))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return c, err
	}
	h := sha256.New()
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(io.MultiWriter(w, h), 1<<20)
		if _, err := v.WriteTo(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return c, fmt.Errorf("write %s: %w", c.File, err)
	}
	c.SHA256 = hex.EncodeToString(h.Sum(nil))
	return c, nil
}

// readChecked decodes a contribution file after checking it hashes to the recorded SHA-256
// (when one is recorded).
func readChecked(dir string, c Contribution, v io.ReaderFrom) error {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(c.File)))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := v.ReadFrom(bufio.NewReaderSize(io.TeeReader(f, h), 1<<20)); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrContribution, c.File, err)
	}
	if _, err := io.Copy(h, f); err != nil { // trailing bytes count too
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); c.SHA256 != "" && got != c.SHA256 {
		return fmt.Errorf("%w: %s hashes to %s, ceremony.json says %s", ErrContribution, c.File, got, c.SHA256)
	}
	return nil
}

func readPhase1(dir string, c Contribution) (*mpcsetup.Phase1, error) {
	p := new(mpcsetup.Phase1)
	return p, readChecked(dir, c, p)
}

func readPhase2(dir string, c Contribution) (*mpcsetup.Phase2, error) {
	p := new(mpcsetup.Phase2)
	return p, readChecked(dir, c, p)
}

// beacon decodes a hex beacon, or derives the default one from the transcript so far: the
// SHA-256 of every contribution's hash in order. A beacon announced before the ceremony (a
// public randomness beacon's round) is better: with a default one the coordinator could try
// many orders or omissions to choose among keys, though never undo an honest contribution.
func (s *State) beacon(given string) ([]byte, string, error) {
	if given != "" {
		b, err := hex.DecodeString(given)
		if err != nil || len(b) < 16 {
			return nil, "", fmt.Errorf("beacon must be at least 16 bytes of hex: %q", given)
		}
		return b, strings.ToLower(given), nil
	}
	h := sha256.New()
	for _, c := range s.Contributions {
		h.Write([]byte(c.SHA256))
	}
	b := h.Sum(nil)
	return b, hex.EncodeToString(b), nil
}

// ClosePhase1 verifies phase 1, seals it with the beacon (hex; "" derives it from the
// transcript) and writes each circuit's initial phase-2 state. Anyone can redo this step:
// Verify does.
func ClosePhase1(ctx context.Context, dir, beacon string, progress Progress) (*State, error) {
	st, err := Load(dir)
	if err != nil {
		return nil, err
	}
	if st.Phase != Phase1 {
		return nil, fmt.Errorf("%w: phase 1 is already closed", ErrPhase)
	}
	if len(st.last(Phase1, "")) == 0 {
		return nil, fmt.Errorf("%w: phase 1 has no contribution yet", ErrPhase)
	}
	if _, st.Beacon1, err = st.beacon(beacon); err != nil {
		return nil, err
	}
	st.Phase = Phase2
	rep, err := check(ctx, dir, st, progress)
	if err != nil {
		return nil, err
	}
	if err := rep.Err(); err != nil {
		return nil, err
	}
	for i, cc := range st.circuits() {
		c, err := writeContribution(dir, Contribution{Phase: Phase2, Circuit: string(cc), Name: "initial", File: contributionFile(Phase2, string(cc), 0)}, rep.initial[i])
		if err != nil {
			return nil, err
		}
		st.Contributions = append(st.Contributions, c)
	}
	return st, st.save(dir)
}

// Result is the verification of one contribution.
type Result struct {
	Contribution
	Err error
}

// Report is what Verify found.
type Report struct {
	State   *State
	Results []Result
	// Keys are the sealed keys, when the ceremony is finalized and every contribution verified.
	Keys *setup.Keys

	initial []*mpcsetup.Phase2 // each circuit's initial phase-2 state, for ClosePhase1
}

// Err is the first failed contribution, or nil.
func (r *Report) Err() error {
	for _, res := range r.Results {
		if res.Err != nil {
			return fmt.Errorf("contribution %s by %q: %w", res.File, res.Name, res.Err)
		}
	}
	return nil
}

// Verify re-checks a ceremony directory or transcript (tar) from scratch: every file against
// its recorded hash, every contribution's update proof and its link to the one before, phase
// 1's sealing with the recorded beacon, each circuit's initial phase-2 state re-derived from
// the circuit, and, when finalized, the keys.
func Verify(ctx context.Context, path string, progress Progress) (*Report, error) {
	dir := path
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		tmp, err := os.MkdirTemp("", "comet-ceremony-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		if err := extract(path, tmp); err != nil {
			return nil, err
		}
		dir = tmp
	}
	st, err := Load(dir)
	if err != nil {
		return nil, err
	}
	return check(ctx, dir, st, progress)
}

// check verifies the contributions st records in dir as far as st's phase goes.
func check(ctx context.Context, dir string, st *State, progress Progress) (*Report, error) {
	rep := &Report{State: st}
	fail := func(c Contribution, err error) (*Report, error) {
		rep.Results = append(rep.Results, Result{Contribution: c, Err: err})
		return rep, nil
	}
	prev := mpcsetup.NewPhase1(st.Domain)
	for _, c := range st.last(Phase1, "") {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		progress.say("phase 1: verifying %s by %s", c.File, c.Name)
		next, err := readPhase1(dir, c)
		if err == nil {
			err = prev.Verify(next)
		}
		if err != nil {
			return fail(c, fmt.Errorf("%w: %w", ErrContribution, err))
		}
		rep.Results = append(rep.Results, Result{Contribution: c})
		prev = next
	}
	if st.Phase == Phase1 {
		return rep, nil
	}
	b1, _, err := st.beacon(st.Beacon1)
	if err != nil || st.Beacon1 == "" {
		return nil, fmt.Errorf("%w: phase 1 is closed without a beacon", ErrInvalid)
	}
	if len(rep.Results) == 0 {
		return nil, fmt.Errorf("%w: phase 1 is closed with no contribution", ErrInvalid)
	}
	commons := prev.Seal(b1)
	var b2 []byte
	if st.Phase == Finalized {
		if b2, _, err = st.beacon(st.Beacon2); err != nil || st.Beacon2 == "" {
			return nil, fmt.Errorf("%w: finalized without a phase-2 beacon", ErrInvalid)
		}
		rep.Keys = setup.NewKeys(st.Keyed())
	}
	for _, cc := range st.circuits() {
		progress.say("phase 2: deriving the %s circuit's initial state", cc)
		ccs, err := setup.Compile(st.Keyed(), cc)
		if err != nil {
			return nil, err
		}
		r1cs := ccs.(*cs.R1CS)
		cmn := truncate(commons, ecc.NextPowerOfTwo(uint64(r1cs.GetNbConstraints())))
		p := new(mpcsetup.Phase2)
		evals := p.Initialize(r1cs, &cmn)
		contribs := st.last(Phase2, string(cc))
		if len(contribs) > 0 && contribs[0].initial() {
			h := sha256.New()
			if _, err := p.WriteTo(h); err != nil {
				return nil, err
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != contribs[0].SHA256 {
				return fail(contribs[0], fmt.Errorf("%w: the initial %s state is not the one the circuit and phase 1 give", ErrContribution, cc))
			}
			contribs = contribs[1:]
		}
		rep.initial = append(rep.initial, p)
		for _, c := range contribs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			progress.say("phase 2: verifying %s by %s", c.File, c.Name)
			next, err := readPhase2(dir, c)
			if err == nil {
				err = p.Verify(next)
			}
			if err != nil {
				return fail(c, fmt.Errorf("%w: %w", ErrContribution, err))
			}
			rep.Results = append(rep.Results, Result{Contribution: c})
			p = next
		}
		if rep.Keys != nil {
			if len(contribs) == 0 {
				return nil, fmt.Errorf("%w: finalized with no phase-2 contribution to the %s circuit", ErrInvalid, cc)
			}
			progress.say("phase 2: sealing the %s circuit", cc)
			pk, vk := p.Seal(&cmn, &evals, b2)
			sum, err := setup.VKHash(vk)
			if err != nil {
				return nil, err
			}
			*rep.Keys.Circuit(cc) = setup.Circuit{ID: st.Keyed().ID(cc), Constraints: ccs.GetNbConstraints(), VKSHA256: sum, VK: vk, CS: ccs, PK: pk}
		}
	}
	return rep, nil
}

// truncate keeps the powers of tau a domain of n needs: a sealed phase 1 of a larger domain
// serves a smaller circuit, whose keys then use the smaller (faster) domain.
func truncate(c mpcsetup.SrsCommons, n uint64) mpcsetup.SrsCommons {
	if uint64(len(c.G1.AlphaTau)) <= n {
		return c
	}
	c.G1.Tau = c.G1.Tau[:2*n-1]
	c.G1.AlphaTau = c.G1.AlphaTau[:n]
	c.G1.BetaTau = c.G1.BetaTau[:n]
	c.G2.Tau = c.G2.Tau[:n]
	return c
}

// Finalize verifies the whole ceremony, seals phase 2 with the beacon (hex; "" derives it
// from the transcript), records it, and returns the keys.
func Finalize(ctx context.Context, dir, beacon string, progress Progress) (*setup.Keys, *State, error) {
	st, err := Load(dir)
	if err != nil {
		return nil, nil, err
	}
	if st.Phase != Phase2 {
		return nil, nil, fmt.Errorf("%w: finalize needs phase 2 open (phase %d)", ErrPhase, st.Phase)
	}
	if len(st.Contributors(Phase2)) == 0 {
		return nil, nil, fmt.Errorf("%w: phase 2 has no contribution yet", ErrPhase)
	}
	if _, st.Beacon2, err = st.beacon(beacon); err != nil {
		return nil, nil, err
	}
	st.Phase = Finalized
	rep, err := check(ctx, dir, st, progress)
	if err != nil {
		return nil, nil, err
	}
	if err := rep.Err(); err != nil {
		return nil, nil, err
	}
	return rep.Keys, st, st.save(dir)
}
