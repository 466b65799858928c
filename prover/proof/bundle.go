package proof

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"

	"github.com/comet-attest/comet/internal/hexdigest"
	"github.com/comet-attest/comet/internal/jsontype"
	"github.com/comet-attest/comet/internal/strictjson"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
)

// BundleFormat names this version of the proof bundle (docs/proof.md, "Proof bundle").
const BundleFormat = "comet.proof/v2"

// ErrBundle means a bundle is malformed: not JSON of this format, a field missing or out of
// range, or a proof that does not decode.
var ErrBundle = errors.New("invalid proof bundle")

// Bundle is the proof of training: every value a verifier needs besides the manifest, the
// model and its own verifying keys. It holds nothing private.
type Bundle struct {
	Format            string              `json:"format"`
	Backend           string              `json:"backend"`
	Curve             string              `json:"curve"`
	Shape             circuit.Shape       `json:"shape"`
	Header            commitment.Header   `json:"header"`
	DatasetCommitment commitment.Digest   `json:"dataset_commitment"`
	ChunkCommitments  []commitment.Digest `json:"chunk_commitments"`
	// ModelSHA256 and Provider are what the final proof is bound to: the SHA-256 of the
	// model file's bytes and the id of the provider it was made for.
	ModelSHA256 string `json:"model_sha256"`
	Provider    string `json:"provider"`
	// Weights are W in the circuits' order: the features', then the intercept's.
	Weights     []Int `json:"weights"`
	LambdaFixed Int   `json:"lambda_fixed"`
	Tau         Int   `json:"tau"`
	// Metrics are the proven training sums, public outputs of the final proof.
	Metrics  Metrics              `json:"metrics"`
	Circuits map[string]CircuitID `json:"circuits"`
	Chunks   []ChunkProof         `json:"chunks"`
	Final    FinalProof           `json:"final"`

	// digest is the SHA-256 of the bundle's canonical encoding (Marshal).
	digest string
}

// Digest is the hex SHA-256 of the bundle's canonical encoding, the bytes Marshal writes
// (and comet prove saves): what an attestation names as bundle_sha256. A bundle that
// travelled re-spaced inside another JSON document keeps its digest. "" for a bundle never
// parsed or marshalled.
func (b *Bundle) Digest() string { return b.digest }

// Metrics are the training sums a proof makes public, integers in the units of docs/model.md:
// SSR = Σ e² (2^-(4f)), SumY = Σ Y (2^-f), SumY2 = Σ Y² (2^-(2f)).
type Metrics struct {
	SSR   Int `json:"ssr"`
	SumY  Int `json:"sum_y"`
	SumY2 Int `json:"sum_y2"`
}

// CircuitID names the circuit and verifying key a proof was made for.
type CircuitID struct {
	ID       string `json:"id"`
	VKSHA256 string `json:"vk_sha256"`
}

// ChunkProof is one chunk's proof with the public inputs that only the prover knows (the
// accumulator commitments) and the full public input vector, in the circuit's order.
type ChunkProof struct {
	Index  int                 `json:"index"`
	Rows   int                 `json:"rows"`
	AccIn  commitment.Digest   `json:"acc_in"`
	AccOut commitment.Digest   `json:"acc_out"`
	Public []commitment.Digest `json:"public_inputs"`
	Proof  Proof               `json:"proof"`
}

// FinalProof is the final circuit's proof.
type FinalProof struct {
	Acc    commitment.Digest   `json:"acc"`
	Public []commitment.Digest `json:"public_inputs"`
	Proof  Proof               `json:"proof"`
}

// Int is a signed integer written as a canonical decimal string.
type Int struct{ *big.Int }

var decimalRE = regexp.MustCompile(`^(0|-?[1-9][0-9]{0,99})$`)

// MarshalText writes the decimal string.
func (i Int) MarshalText() ([]byte, error) {
	if i.Int == nil {
		return nil, errors.New("nil integer")
	}
	return []byte(i.String()), nil
}

// UnmarshalText reads a canonical decimal integer of at most 100 digits.
func (i *Int) UnmarshalText(b []byte) error {
	if !decimalRE.Match(b) {
		return fmt.Errorf("%q is not a canonical decimal integer", b)
	}
	i.Int, _ = new(big.Int).SetString(string(b), 10)
	return nil
}

// MarshalJSON writes the decimal string, quoted (big.Int's own JSON form is a bare number,
// which many JSON readers round to float64).
func (i Int) MarshalJSON() ([]byte, error) {
	t, err := i.MarshalText()
	if err != nil {
		return nil, err
	}
	return json.Marshal(string(t))
}

// UnmarshalJSON reads a quoted canonical decimal integer.
func (i *Int) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("integer must be a decimal string: %w", err)
	}
	return i.UnmarshalText([]byte(s))
}

// Proof is a Groth16 proof over BN254 in gnark's compressed encoding, base64 in JSON.
type Proof struct{ groth16.Proof }

// MarshalText encodes the proof.
func (p Proof) MarshalText() ([]byte, error) {
	if p.Proof == nil {
		return nil, errors.New("nil proof")
	}
	var buf bytes.Buffer
	if _, err := p.Proof.WriteTo(&buf); err != nil {
		return nil, err
	}
	return []byte(base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}

// maxProofBytes bounds an encoded proof: a compressed BN254 Groth16 proof with a commitment
// is a few hundred bytes.
const maxProofBytes = 4096

// UnmarshalText decodes and checks a proof (points on the curve and in the subgroup).
func (p *Proof) UnmarshalText(b []byte) error {
	if len(b) > base64.StdEncoding.EncodedLen(maxProofBytes) {
		return fmt.Errorf("%d characters is too long for a proof", len(b))
	}
	raw, err := base64.StdEncoding.DecodeString(string(b))
	if err != nil {
		return fmt.Errorf("not base64: %w", err)
	}
	// gnark's decoder allocates as many commitments as the count in the input says, before
	// reading them; check the count against the length first (compressed: A 32, B 64, C 32
	// bytes, a 4-byte count, 32 bytes per commitment, 32 for the proof of knowledge).
	const fixed = 32 + 64 + 32 + 4 + 32
	if len(raw) < fixed {
		return fmt.Errorf("%d bytes is too short for a proof", len(raw))
	}
	if count := binary.BigEndian.Uint32(raw[128:132]); uint64(len(raw)) != fixed+32*uint64(count) {
		return fmt.Errorf("%d bytes do not hold %d commitments", len(raw), count)
	}
	pr := new(groth16bn254.Proof) // setup.Curve's type: groth16.NewProof would link every curve

	n, err := pr.ReadFrom(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("not a Groth16 proof over BN254: %w", err)
	}
	if int(n) != len(raw) {
		return fmt.Errorf("%d trailing bytes after the proof", len(raw)-int(n))
	}
	p.Proof = pr
	return nil
}

// maxBundleBytes bounds what ParseBundle reads: a million chunks' proofs is far more than any
// dataset Comet proves.
const maxBundleBytes = 1 << 30

// ParseBundle decodes and checks a bundle's structure. It never panics on input; every
// problem is an ErrBundle naming the field, and the chunk for a chunk's field. It does not
// verify anything (see Verify).
func ParseBundle(data []byte) (*Bundle, error) {
	var b Bundle
	if err := parseDocument(data, &b, &b.Chunks, &b.Final); err != nil {
		return nil, err
	}
	if err := b.validate(); err != nil {
		return nil, err
	}
	if _, err := b.Marshal(); err != nil { // sets the digest of the canonical encoding
		return nil, err
	}
	return &b, nil
}

// parseDocument strictly decodes a proof document (a training or an evaluation bundle) into
// dst, a pointer to its struct, whose chunk proofs and final proof are chunks and final: every
// problem is an ErrBundle naming the field, and the chunk for a chunk's field.
func parseDocument(data []byte, dst any, chunks *[]ChunkProof, final *FinalProof) error {
	if len(data) > maxBundleBytes {
		return fmt.Errorf("%w: %d bytes", ErrBundle, len(data))
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&obj); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := position(data, syn.Offset)
			return fmt.Errorf("%w: not JSON at line %d, column %d: %w", ErrBundle, line, col, err)
		}
		return fmt.Errorf("%w: %w", ErrBundle, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the bundle object", ErrBundle)
	}
	// The chunks and the final proof are decoded apart so that an error says which chunk.
	rawChunks, rawFinal := obj["chunks"], obj["final"]
	delete(obj, "chunks")
	delete(obj, "final")
	if err := decodeFields(obj, dst); err != nil {
		return fmt.Errorf("%w: %w", ErrBundle, err)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(orNull(rawChunks), &raws); err != nil {
		return fmt.Errorf("%w: chunks: %w", ErrBundle, err)
	}
	*chunks = make([]ChunkProof, len(raws))
	for i, raw := range raws {
		if err := decodeObject(raw, &(*chunks)[i]); err != nil {
			return fmt.Errorf("%w: chunk %d: %w", ErrBundle, i, err)
		}
	}
	if err := decodeObject(orNull(rawFinal), final); err != nil {
		return fmt.Errorf("%w: final: %w", ErrBundle, err)
	}
	// What the decoding let through, a duplicate key (the last wins) or a key in another
	// letter case (matched loosely), is refused too: the part decodes name the rest.
	if err := strictjson.Check(data, reflect.TypeOf(dst).Elem()); err != nil {
		return fmt.Errorf("%w: %w", ErrBundle, err)
	}
	return nil
}

// orNull stands in JSON null for a member that is absent, which leaves its value zero.
func orNull(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return json.RawMessage("null")
	}
	return raw
}

// decodeObject decodes a JSON object into the struct dst; see decodeFields.
func decodeObject(raw json.RawMessage, dst any) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return err
	}
	return decodeFields(obj, dst)
}

// decodeFields decodes an object's members into the struct dst one field at a time, so that
// an error names the member: encoding/json passes on the error of a value's own decoder (a
// proof, a digest, an integer) without saying where the value was. An unknown member is an
// error; an absent one leaves its field zero, for validate to name.
func decodeFields(obj map[string]json.RawMessage, dst any) error {
	v := reflect.ValueOf(dst).Elem()
	fields := make(map[string]reflect.Value, v.NumField())
	for i := range v.NumField() {
		if name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			fields[name] = v.Field(i)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(obj)) { // sorted: the same input, the same error
		f, ok := fields[name]
		if !ok {
			return fmt.Errorf("unknown field %q", name)
		}
		dec := json.NewDecoder(bytes.NewReader(obj[name]))
		dec.DisallowUnknownFields() // inside the shape, the header, the metrics
		if err := dec.Decode(f.Addr().Interface()); err != nil {
			if msg, ok := jsontype.Describe(err, name); ok {
				return errors.New(msg)
			}
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// position is the 1-based line and column of a byte offset.
func position(data []byte, offset int64) (line, col int) {
	before := data[:min(max(offset, 0), int64(len(data)))]
	line = 1 + bytes.Count(before, []byte("\n"))
	return line, len(before) - bytes.LastIndexByte(before, '\n')
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Marshal encodes the bundle as indented JSON with a final newline.
func (b *Bundle) Marshal() ([]byte, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	out = append(out, '\n')
	b.digest = sha256Hex(out)
	return out, nil
}

// validate checks the structure: the format, the shape against the header, one proof per
// chunk, and every field present. The values themselves are checked by Verify.
func (b *Bundle) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBundle, fmt.Sprintf(format, a...))
	}
	switch {
	case b.Format == "comet.proof/v1":
		return bad("format %q is no longer verified: it binds neither the model file nor the provider; prove again with this build", b.Format)
	case b.Format != BundleFormat:
		return bad("format %q, want %q", b.Format, BundleFormat)
	}
	if err := validateDocument(b.Backend, b.Curve, b.Shape, b.Shape, b.Header, len(b.ChunkCommitments), len(b.Chunks), b.ModelSHA256); err != nil {
		return err
	}
	if err := checkProvider(b.Provider); err != nil {
		return bad("provider: %v", err)
	}
	if len(b.Weights) != b.Shape.Columns() {
		return bad("%d weights for %d columns", len(b.Weights), b.Shape.Columns())
	}
	for j, w := range b.Weights {
		if w.Int == nil {
			return bad("weight %d missing", j)
		}
	}
	if b.LambdaFixed.Int == nil || b.Tau.Int == nil {
		return bad("lambda_fixed or tau missing")
	}
	if b.Metrics.SSR.Int == nil || b.Metrics.SumY.Int == nil || b.Metrics.SumY2.Int == nil {
		return bad("metrics: ssr, sum_y and sum_y2 are required")
	}
	for _, c := range []circuit.Circuit{circuit.ChunkCircuit, circuit.FinalCircuit} {
		id, ok := b.Circuits[string(c)]
		if !ok || !hexdigest.Valid(id.ID) || !hexdigest.Valid(id.VKSHA256) {
			return bad("circuit %q: id and vk_sha256 must be 64 lower-case hex digits", c)
		}
	}
	if len(b.Circuits) != 2 {
		return bad("%d circuits, want chunk and final", len(b.Circuits))
	}
	return validateProofs(b.Chunks, b.Final, chunkPublicInputs(b.Shape), finalPublicInputs(b.Shape))
}

// validateDocument checks what training and evaluation bundles share: the proof system, the
// shape (named as the document names it) against the header, one commitment and one proof
// per chunk, and the model digest.
func validateDocument(backend, curve string, shape fmt.Stringer, rows circuit.Shape, h commitment.Header, commitments, proofs int, modelSHA256 string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBundle, fmt.Sprintf(format, a...))
	}
	if backend != "groth16" || curve != "bn254" {
		return bad("backend %q over %q, want groth16 over bn254", backend, curve)
	}
	if err := rows.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBundle, err)
	}
	if err := h.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBundle, err)
	}
	if h.N < 1 || circuit.ShapeOf(h, rows.Intercept) != rows {
		return bad("shape %s does not fit header n=%d d=%d f=%d b=%d R=%d", shape, h.N, h.D, h.FractionBits, h.ValueBits, h.ChunkRows)
	}
	if k := h.Chunks(); commitments != k || proofs != k {
		return bad("%d chunk commitments and %d chunk proofs for %d chunks", commitments, proofs, k)
	}
	if !hexdigest.Valid(modelSHA256) {
		return bad("model_sha256 %q is not 64 lower-case hex digits", modelSHA256)
	}
	return nil
}

// validateProofs checks that every chunk proof and the final proof is present with the
// circuit's number of public inputs.
func validateProofs(chunks []ChunkProof, final FinalProof, nChunk, nFinal int) error {
	for i, c := range chunks {
		if c.Proof.Proof == nil {
			return fmt.Errorf("%w: chunk %d: proof missing", ErrBundle, i)
		}
		if len(c.Public) != nChunk {
			return fmt.Errorf("%w: chunk %d: %d public inputs, want %d", ErrBundle, i, len(c.Public), nChunk)
		}
	}
	if final.Proof.Proof == nil {
		return fmt.Errorf("%w: final proof missing", ErrBundle)
	}
	if len(final.Public) != nFinal {
		return fmt.Errorf("%w: final: %d public inputs, want %d", ErrBundle, len(final.Public), nFinal)
	}
	return nil
}

// chunkPublicInputs is the chunk circuit's public input count: c_i, i, m_i, W, AccIn, AccOut.
func chunkPublicInputs(s circuit.Shape) int { return 5 + s.Columns() }

// finalPublicInputs is the final circuit's: Acc, the feature weights, Λ, tau, the three
// training sums and the four binding halves.
func finalPublicInputs(s circuit.Shape) int { return 10 + s.Features }
