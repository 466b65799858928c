package commitment

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// vector is one golden test vector: the inputs of a commitment and every value derived from
// them. The circuit's tests read the same file.
type vector struct {
	Name       string    `json:"name"`
	Header     Header    `json:"header"`
	Salt       Salt      `json:"salt"`
	Rows       [][]int64 `json:"rows"`
	Packed0    []string  `json:"packed_chunk0"`
	Chunks     []Digest  `json:"chunks"`
	Commitment Digest    `json:"commitment"`
}

func testSalt() Salt {
	var s Salt
	for i := range s {
		s[i] = byte(i)
	}
	return s
}

func vectorInputs() []vector {
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func(h Header) [][]int64 {
		f := h.Format()
		rows := make([][]int64, h.N)
		for i := range rows {
			rows[i] = make([]int64, h.RowWidth())
			for j := range rows[i] {
				switch rng.IntN(6) {
				case 0:
					rows[i][j] = f.Min()
				case 1:
					rows[i][j] = f.Max()
				default:
					rows[i][j] = rng.Int64N(f.Max()-f.Min()) + f.Min()
				}
			}
		}
		return rows
	}
	var out []vector
	for _, v := range []struct {
		name string
		h    Header
	}{
		{"b16-d2-partial-chunk", Header{N: 6, D: 2, FractionBits: 4, ValueBits: 16, ChunkRows: 4}},
		{"b32-d8-one-chunk", Header{N: 8, D: 8, FractionBits: 16, ValueBits: 32, ChunkRows: 8}},
		{"b48-d3-three-chunks", Header{N: 20, D: 3, FractionBits: 16, ValueBits: 48, ChunkRows: 8}},
		{"b62-d1-odd-width", Header{N: 5, D: 1, FractionBits: 30, ValueBits: 62, ChunkRows: 16}},
	} {
		out = append(out, vector{Name: v.name, Header: v.h, Salt: testSalt(), Rows: gen(v.h)})
	}
	return out
}

func compute(t *testing.T, v vector) vector {
	t.Helper()
	h := v.Header
	var chunks []fr.Element
	for i := range h.Chunks() {
		var values []int64
		for _, r := range v.Rows[i*h.ChunkRows : i*h.ChunkRows+h.ChunkLen(i)] {
			values = append(values, r...)
		}
		if i == 0 {
			packed, err := Pack(h, values)
			if err != nil {
				t.Fatal(err)
			}
			v.Packed0 = nil
			for _, p := range packed {
				v.Packed0 = append(v.Packed0, p.String())
			}
		}
		c, err := ChunkCommitment(h, v.Salt, i, values)
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, c)
	}
	c, err := DatasetCommitment(h, chunks)
	if err != nil {
		t.Fatal(err)
	}
	v.Chunks = nil
	for _, e := range chunks {
		v.Chunks = append(v.Chunks, DigestOf(e))
	}
	v.Commitment = DigestOf(c)
	return v
}

func TestGoldenVectors(t *testing.T) {
	path := filepath.Join("testdata", "vectors.json")
	if *update {
		var out []vector
		for _, v := range vectorInputs() {
			out = append(out, compute(t, v))
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var golden []vector
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden) == 0 {
		t.Fatal("no vectors")
	}
	for _, want := range golden {
		got := compute(t, want)
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		if string(gb) != string(wb) {
			t.Errorf("%s: commitment changed:\n got %s\nwant %s", want.Name, gb, wb)
		}
		// The streaming builder must agree with the direct computation.
		res := build(t, want.Header, want.Salt, want.Rows, 3)
		if res.Commitment != want.Commitment || len(res.Chunks) != len(want.Chunks) {
			t.Errorf("%s: builder gives %s, direct %s", want.Name, res.Commitment, want.Commitment)
		}
	}
}

func build(t testing.TB, h Header, salt Salt, rows [][]int64, workers int) Result {
	t.Helper()
	b, err := NewBuilder(context.Background(), h, salt, workers)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := b.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	res, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestPackReference checks the limb packer against big-integer arithmetic.
func TestPackReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, b := range []int{2, 7, 16, 31, 32, 33, 48, 50, 62} {
		h := Header{N: 3, D: 4, FractionBits: 1, ValueBits: b, ChunkRows: 3}
		f := h.Format()
		values := make([]int64, 3*5)
		for i := range values {
			values[i] = rng.Int64N(f.Max()-f.Min()+1) + f.Min()
		}
		got, err := Pack(h, values)
		if err != nil {
			t.Fatal(err)
		}
		k := h.PerElement()
		if len(got) != h.PackedLen() {
			t.Fatalf("b=%d: %d elements, want %d", b, len(got), h.PackedLen())
		}
		for e := range got {
			want := new(big.Int)
			for j := k - 1; j >= 0; j-- {
				want.Lsh(want, uint(b))
				if p := e*k + j; p < len(values) {
					want.Add(want, big.NewInt(values[p]-f.Min()))
				}
			}
			var g big.Int
			got[e].BigInt(&g)
			if g.Cmp(want) != 0 {
				t.Errorf("b=%d element %d = %s, want %s", b, e, &g, want)
			}
		}
	}
}

// TestSpongeBlock checks the sponge against the permutation directly for one and two blocks.
func TestSpongeBlock(t *testing.T) {
	tag := ChunkTag()
	elems := make([]fr.Element, 20)
	for i := range elems {
		elems[i].SetUint64(uint64(i + 1))
	}
	state := make([]fr.Element, Width)
	state[0] = tag
	copy(state[1:], elems[:15])
	if err := permutation().Permutation(state); err != nil {
		t.Fatal(err)
	}
	if got := Hash(tag, elems[:15]); !got.Equal(&state[1]) {
		t.Errorf("one block: %s, want %s", got.String(), state[1].String())
	}
	for i := range 5 {
		state[1+i].Add(&state[1+i], &elems[15+i])
	}
	if err := permutation().Permutation(state); err != nil {
		t.Fatal(err)
	}
	if got := Hash(tag, elems); !got.Equal(&state[1]) {
		t.Errorf("two blocks: %s, want %s", got.String(), state[1].String())
	}
	if a, b := Hash(ChunkTag(), elems[:3]), Hash(DatasetTag(), elems[:3]); a.Equal(&b) {
		t.Error("tags do not separate domains")
	}
}

// TestBinding checks that every change the design names gives a different commitment.
func TestBinding(t *testing.T) {
	h := Header{N: 10, D: 3, FractionBits: 8, ValueBits: 20, ChunkRows: 4}
	rows := make([][]int64, h.N)
	for i := range rows {
		rows[i] = []int64{int64(i), int64(-i), int64(3 * i), int64(i * i)}
	}
	base := build(t, h, testSalt(), rows, 2).Commitment
	clone := func() [][]int64 {
		out := make([][]int64, len(rows))
		for i, r := range rows {
			out[i] = append([]int64(nil), r...)
		}
		return out
	}
	otherSalt := testSalt()
	otherSalt[31] ^= 1
	tests := []struct {
		name string
		h    Header
		salt Salt
		rows func() [][]int64
	}{
		{"value+1", h, testSalt(), func() [][]int64 { r := clone(); r[5][1]++; return r }},
		{"label+1", h, testSalt(), func() [][]int64 { r := clone(); r[9][3]++; return r }},
		{"swap rows in a chunk", h, testSalt(), func() [][]int64 { r := clone(); r[0], r[1] = r[1], r[0]; return r }},
		{"swap rows across chunks", h, testSalt(), func() [][]int64 { r := clone(); r[3], r[4] = r[4], r[3]; return r }},
		{"drop last row", h, testSalt(), func() [][]int64 { return clone()[:9] }},
		{"append zero row", h, testSalt(), func() [][]int64 { return append(clone(), []int64{0, 0, 0, 0}) }},
		{"other salt", h, otherSalt, clone},
		{"fraction bits", Header{N: 10, D: 3, FractionBits: 9, ValueBits: 20, ChunkRows: 4}, testSalt(), clone},
		{"value bits", Header{N: 10, D: 3, FractionBits: 8, ValueBits: 21, ChunkRows: 4}, testSalt(), clone},
		{"chunk rows", Header{N: 10, D: 3, FractionBits: 8, ValueBits: 20, ChunkRows: 5}, testSalt(), clone},
		{"feature becomes label", Header{N: 10, D: 3, FractionBits: 8, ValueBits: 20, ChunkRows: 4}, testSalt(), func() [][]int64 {
			r := clone()
			for _, row := range r {
				row[2], row[3] = row[3], row[2]
			}
			return r
		}},
	}
	for _, tt := range tests {
		if got := build(t, tt.h, tt.salt, tt.rows(), 2).Commitment; got == base {
			t.Errorf("%s: commitment unchanged", tt.name)
		}
	}
	if again := build(t, h, testSalt(), rows, 1).Commitment; again != base {
		t.Error("same rows and salt give a different commitment")
	}
}

// A row count near the int64 limit is refused by Validate, before Chunks could overflow
// into a negative count.
func TestHeaderRowBound(t *testing.T) {
	for _, n := range []int{-1, MaxRows + 1, 1<<63 - 1} {
		h := Header{N: n, D: 1, FractionBits: 0, ValueBits: 8, ChunkRows: 2}
		if err := h.Validate(); !errors.Is(err, ErrHeader) {
			t.Errorf("n = %d: %v, want ErrHeader", n, err)
		}
	}
	if h := (Header{N: MaxRows, D: 1, FractionBits: 0, ValueBits: 8, ChunkRows: 1}); h.Validate() != nil || h.Chunks() != MaxRows {
		t.Errorf("n = 2^40: %v, %d chunks", h.Validate(), h.Chunks())
	}
}

func TestChunkErrors(t *testing.T) {
	h := Header{N: 4, D: 1, FractionBits: 0, ValueBits: 8, ChunkRows: 2}
	for _, values := range [][]int64{nil, {1}, {1, 2, 3, 4, 5, 6}, {128, 0}, {0, -129}} {
		if _, err := ChunkCommitment(h, testSalt(), 0, values); !errors.Is(err, ErrChunk) {
			t.Errorf("ChunkCommitment(%v) error = %v, want ErrChunk", values, err)
		}
	}
	if _, err := DatasetCommitment(h, make([]fr.Element, 1)); !errors.Is(err, ErrHeader) {
		t.Errorf("wrong chunk count: %v", err)
	}
	b, err := NewBuilder(context.Background(), h, testSalt(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Finish(); !errors.Is(err, ErrHeader) {
		t.Errorf("empty builder: %v", err)
	}
}

func TestDefaultChunkRows(t *testing.T) {
	for n, want := range map[int]int{1: 8, 8: 8, 9: 16, 16: 16, 82: 128, 1000: 1024, 4548: 1024} {
		if got := DefaultChunkRows(n); got != want {
			t.Errorf("DefaultChunkRows(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestSaltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.salt")
	s1, created, err := LoadOrNewSalt(path)
	if err != nil || !created {
		t.Fatalf("new: %v %v", created, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("LoadOrNewSalt wrote the file: %v", err)
	}
	if err := WriteSalt(path, s1); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("salt file mode %v, %v", fi.Mode(), err)
	}
	if err := WriteSalt(path, s1); err == nil {
		t.Error("WriteSalt replaced an existing salt file")
	}
	s2, created, err := LoadOrNewSalt(path)
	if err != nil || created || s1 != s2 {
		t.Fatalf("reuse: %v %v equal=%v", created, err, s1 == s2)
	}
	if err := os.WriteFile(path, []byte("zz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrNewSalt(path); !errors.Is(err, ErrSaltFile) {
		t.Errorf("bad salt file: %v", err)
	}
}

func BenchmarkCommit(b *testing.B) {
	for _, d := range []int{8, 64} {
		b.Run(map[int]string{8: "d=8", 64: "d=64"}[d], func(b *testing.B) {
			h := Header{D: d, FractionBits: 16, ValueBits: 48, ChunkRows: 1024}
			row := make([]int64, d+1)
			for i := range row {
				row[i] = int64(i*7919) - 3000
			}
			const rows = 1 << 14
			for b.Loop() {
				bl, err := NewBuilder(context.Background(), h, testSalt(), 0)
				if err != nil {
					b.Fatal(err)
				}
				for range rows {
					if err := bl.Add(row); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := bl.Finish(); err != nil {
					b.Fatal(err)
				}
			}
			secs := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(rows/secs, "rows/s")
			b.ReportMetric(float64(rows*(d+1))/secs, "values/s")
		})
	}
}

// FuzzDigestAndSalt feeds arbitrary text to the parsers of published digests and of salt
// files: none may panic; a digest has one spelling, so it prints back exactly, and a salt
// (a private file, which its owner may have retyped) prints back up to letter case.
func FuzzDigestAndSalt(f *testing.F) {
	f.Add(strings.Repeat("0", 64))
	f.Add(strings.Repeat("f", 64))
	f.Add("30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001")
	f.Fuzz(func(t *testing.T, text string) {
		if d, err := ParseDigest(text); err == nil && d.String() != text {
			t.Fatalf("digest %q prints as %q", text, d)
		}
		var s Salt
		if s.UnmarshalText([]byte(text)) == nil {
			if out, _ := s.MarshalText(); !strings.EqualFold(string(out), strings.TrimSpace(text)) {
				t.Fatalf("salt %q prints as %q", text, out)
			}
		}
	})
}
