package starknettest

import (
	"math/big"

	"github.com/NethermindEth/juno/core/felt"
	starkcurve "github.com/consensys/gnark-crypto/ecc/stark-curve"
	"github.com/consensys/gnark-crypto/ecc/stark-curve/fp"
	"github.com/consensys/gnark-crypto/ecc/stark-curve/fr"
)

// validStarkSignature checks the signature (r, s) of hash under the public
// key pub (an x coordinate) as Cairo's core::ecdsa::check_ecdsa_signature
// does, which the OpenZeppelin and Argent accounts call: by the signature
// equation z·G ± r·Q = ±s·R, where R is a point with x coordinate r.
//
// The ± makes s and n−s equally valid. starknet.go's curve.VerifyFelts
// demands the low one, but starknet.js signs without normalising s, so a
// node that asked for low s would refuse about half of its transactions
// that a real account accepts.
func validStarkSignature(hash, pub, r, s *felt.Felt) bool {
	n := fr.Modulus()
	rInt, sInt := r.BigInt(new(big.Int)), s.BigInt(new(big.Int))
	// As Cairo's check: r and s are not 0 or the order, which would make a
	// term of the equation vanish; larger values are not refused.
	if rInt.Sign() == 0 || sInt.Sign() == 0 || rInt.Cmp(n) == 0 || sInt.Cmp(n) == 0 {
		return false
	}
	q, ok := pointFromX(pub)
	if !ok {
		return false
	}
	rp, ok := pointFromX(r)
	if !ok {
		return false
	}
	var sR, zG, rQ, plus, minus starkcurve.G1Affine
	sR.ScalarMultiplication(&rp, sInt.Mod(sInt, n))
	z := hash.BigInt(new(big.Int))
	zG.ScalarMultiplicationBase(z.Mod(z, n))
	rQ.ScalarMultiplication(&q, rInt.Mod(rInt, n))
	if sR.IsInfinity() {
		return false
	}
	plus.Add(&zG, &rQ)
	minus.Sub(&zG, &rQ)
	return (!plus.IsInfinity() && plus.X.Equal(&sR.X)) || (!minus.IsInfinity() && minus.X.Equal(&sR.X))
}

// pointFromX returns a curve point with x coordinate x, if there is one; the
// equation holds for either of the two, so which one does not matter.
func pointFromX(x *felt.Felt) (starkcurve.G1Affine, bool) {
	var p starkcurve.G1Affine
	p.X = *x.Impl()
	a, b := starkcurve.CurveCoefficients()
	var y2, ax fp.Element
	ax.Mul(&a, &p.X)
	y2.Square(&p.X).Mul(&y2, &p.X).Add(&y2, &ax).Add(&y2, &b) // y² = x³ + ax + b
	if y2.Sqrt(&y2) == nil {
		return p, false
	}
	p.Y = y2
	return p, true
}
