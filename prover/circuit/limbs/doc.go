// Package limbs range-checks unsigned values inside a gnark circuit by writing them as
// little-endian limbs that are looked up in one constant table with a log-derivative argument
// (Haböck, https://eprint.iacr.org/2022/1530), the construction of gnark's std/rangecheck.
//
// Two things differ from std/rangecheck, and both save constraints when every value of a large
// circuit is checked: the limbs themselves are the circuit's witness (a value is a linear
// combination of its limbs, so no decomposition hint and no recomposition constraint is
// needed), and when the limb width L does not divide the value width b, the short top limb is
// looked up once, in its own section of the table, instead of twice (gnark looks up the top
// limb and the top limb shifted). The sections are the two values of a second lookup column,
// folded in with a challenge γ drawn after the limbs are committed, so that a full limb
// cannot pass as a top-section entry. Each limb then costs one R1CS constraint, and the table
// 2^L + 2^(b mod L) more, once per circuit.
//
// What it does not do: it checks nothing about signed values (offset them first), it needs a
// backend that implements frontend.Committer (Groth16 and PLONK over BN254 do; the test engine
// does too), and a Checker's Build must run exactly once, after every value is recorded.
package limbs
