package commitment

import (
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
)

// Sponge parameters (docs/commitment.md, "Field and hash").
const (
	Width           = 16
	FullRounds      = 8
	PartialRounds   = 57
	Rate            = Width - 1
	chunkTagString  = "comet/commitment/v1/chunk"
	datasetTagStr   = "comet/commitment/v1/dataset"
	formatVersion   = 1
	packedFieldBits = 253
)

// The permutation holds precomputed round constants and is safe for concurrent use: it only
// reads its parameters.
var permutation = sync.OnceValue(func() *poseidon2.Permutation {
	return poseidon2.NewPermutation(Width, FullRounds, PartialRounds)
})

// tagElement is the field element whose big-endian bytes are the ASCII tag.
func tagElement(tag string) fr.Element {
	var e fr.Element
	e.SetBytes([]byte(tag))
	return e
}

// ChunkTag is TAG_CHUNK, the capacity element of every chunk hash.
func ChunkTag() fr.Element { return tagElement(chunkTagString) }

// DatasetTag is TAG_DATASET, the capacity element of the dataset hash.
func DatasetTag() fr.Element { return tagElement(datasetTagStr) }

// Hash is the sponge H(tag; elems…) of docs/commitment.md: the tag in the capacity, 15
// elements added to the rate per permutation, the last block zero-padded, digest s[1]. The
// caller guarantees that len(elems) is fixed by public values.
func Hash(tag fr.Element, elems []fr.Element) fr.Element {
	var s sponge
	s.reset(tag)
	s.absorb(elems...)
	return s.digest()
}

// sponge absorbs incrementally so that a chunk can be hashed while it is packed, without
// materialising all of its elements.
type sponge struct {
	state [Width]fr.Element
	used  int // rate positions filled in the current block
	dirty bool
}

func (s *sponge) reset(tag fr.Element) {
	s.state = [Width]fr.Element{}
	s.state[0] = tag
	s.used, s.dirty = 0, false
}

func (s *sponge) absorb(elems ...fr.Element) {
	for i := range elems {
		s.state[1+s.used].Add(&s.state[1+s.used], &elems[i])
		s.used++
		s.dirty = true
		if s.used == Rate {
			s.permute()
		}
	}
}

func (s *sponge) permute() {
	// Permutation only fails on a wrong slice length, which is fixed here.
	if err := permutation().Permutation(s.state[:]); err != nil {
		panic(err)
	}
	s.used, s.dirty = 0, false
}

func (s *sponge) digest() fr.Element {
	if s.dirty {
		s.permute()
	}
	return s.state[1]
}
