package commitment

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// ErrChunk means a chunk's rows do not fit its header.
var ErrChunk = errors.New("invalid chunk")

// Pack returns the E packed elements P_0 … P_{E-1} of one chunk (docs/commitment.md,
// "Chunks"): values holds m rows of d+1 values, row-major, 1 ≤ m ≤ R; the chunk is padded to R
// rows with zero rows.
func Pack(h Header, values []int64) ([]fr.Element, error) {
	out := make([]fr.Element, 0, h.PackedLen())
	err := packChunk(h, values, func(e fr.Element) { out = append(out, e) })
	return out, err
}

// ChunkCommitment is c_i = H(TAG_CHUNK; salt_hi, salt_lo, i, m_i, P_0 … P_{E-1}).
func ChunkCommitment(h Header, salt Salt, index int, values []int64) (fr.Element, error) {
	if err := h.Validate(); err != nil {
		return fr.Element{}, err
	}
	var s sponge
	s.reset(ChunkTag())
	hi, lo := salt.Elements()
	var idx, m fr.Element
	idx.SetUint64(uint64(index))
	m.SetUint64(uint64(len(values) / h.RowWidth()))
	s.absorb(hi, lo, idx, m)
	if err := packChunk(h, values, func(e fr.Element) { s.absorb(e) }); err != nil {
		return fr.Element{}, fmt.Errorf("chunk %d: %w", index, err)
	}
	return s.digest(), nil
}

// packChunk streams the packed elements of a chunk to emit, checking every value's range on
// the way: a library caller may hand over values that no CSV reader has checked.
func packChunk(h Header, values []int64, emit func(fr.Element)) error {
	w := h.RowWidth()
	if len(values) == 0 || len(values)%w != 0 || len(values)/w > h.ChunkRows {
		return fmt.Errorf("%w: %d values is not 1 to %d rows of %d", ErrChunk, len(values), h.ChunkRows, w)
	}
	format := h.Format()
	offset := uint64(1) << (h.ValueBits - 1)
	var p packer
	p.init(h.ValueBits, h.PerElement(), emit)
	for i, v := range values {
		if !format.InRange(v) {
			return fmt.Errorf("%w: row %d, column %d: %d outside %s", ErrChunk, i/w, i%w, v, format)
		}
		p.add(uint64(v) + offset)
	}
	for range h.ChunkRows*w - len(values) {
		p.add(offset) // zero rows: v = 0
	}
	p.flush()
	return nil
}

// packer places k b-bit values into a 256-bit little-endian limb accumulator.
type packer struct {
	bits, k, n int
	limbs      [4]uint64
	emit       func(fr.Element)
}

func (p *packer) init(bits, k int, emit func(fr.Element)) {
	p.bits, p.k, p.emit = bits, k, emit
}

func (p *packer) add(u uint64) {
	shift := p.n * p.bits
	limb, off := shift/64, uint(shift%64)
	p.limbs[limb] |= u << off
	if off != 0 && off+uint(p.bits) > 64 {
		p.limbs[limb+1] |= u >> (64 - off)
	}
	if p.n++; p.n == p.k {
		p.flush()
	}
}

func (p *packer) flush() {
	if p.n == 0 {
		return
	}
	var buf [32]byte
	for i, l := range p.limbs {
		binary.BigEndian.PutUint64(buf[24-8*i:], l)
	}
	var e fr.Element
	e.SetBytes(buf[:]) // < 2^253 < r: no reduction happens
	p.emit(e)
	p.limbs, p.n = [4]uint64{}, 0
}

// DatasetCommitment is C = H(TAG_DATASET; 1, n, d, f, b, R, K, c_0 … c_{K-1}).
func DatasetCommitment(h Header, chunks []fr.Element) (fr.Element, error) {
	if err := h.Validate(); err != nil {
		return fr.Element{}, err
	}
	if h.N == 0 || len(chunks) != h.Chunks() {
		return fr.Element{}, fmt.Errorf("%w: %d chunk commitments for n = %d, R = %d", ErrHeader, len(chunks), h.N, h.ChunkRows)
	}
	elems := make([]fr.Element, 0, 7+len(chunks))
	for _, v := range []int{formatVersion, h.N, h.D, h.FractionBits, h.ValueBits, h.ChunkRows, len(chunks)} {
		var e fr.Element
		e.SetUint64(uint64(v))
		elems = append(elems, e)
	}
	return Hash(DatasetTag(), append(elems, chunks...)), nil
}
