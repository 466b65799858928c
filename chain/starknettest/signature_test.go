package starknettest

import (
	"math/big"
	"testing"

	"github.com/NethermindEth/juno/core/felt"
	"github.com/NethermindEth/starknet.go/curve"
	"github.com/consensys/gnark-crypto/ecc/stark-curve/fr"
)

func hexFelt(t *testing.T, s string) *felt.Felt {
	t.Helper()
	f, err := new(felt.Felt).SetString(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func negS(s *felt.Felt) *felt.Felt {
	return new(felt.Felt).SetBigInt(new(big.Int).Sub(fr.Modulus(), s.BigInt(new(big.Int))))
}

// The example of Cairo's core::ecdsa::check_ecdsa_signature documentation
// verifies, with s and with n−s; tampering with any part does not.
func TestStarkSignature(t *testing.T) {
	hash := hexFelt(t, "0x2d6479c0758efbb5aa07d35ed5454d728637fceab7ba544d3ea95403a5630a8")
	pub := hexFelt(t, "0x1ef15c18599971b7beced415a40f0c7deacfd9b0d1819e03d723d8bc943cfca")
	r := hexFelt(t, "0x6ff7b413a8457ef90f326b5280600a4473fef49b5b1dcdfcd7f42ca7aa59c69")
	s := hexFelt(t, "0x23a9747ed71abc5cb956c0df44ee8638b65b3e9407deade65de62247b8fd77")
	one := new(felt.Felt).SetUint64(1)
	for name, ok := range map[string]bool{
		"s":         validStarkSignature(hash, pub, r, s),
		"n-s":       validStarkSignature(hash, pub, r, negS(s)),
		"other pub": !validStarkSignature(hash, new(felt.Felt).Add(pub, one), r, s),
		"other r":   !validStarkSignature(hash, pub, new(felt.Felt).Add(r, one), s),
		"other s":   !validStarkSignature(hash, pub, r, new(felt.Felt).Add(s, one)),
		"other msg": !validStarkSignature(new(felt.Felt).Add(hash, one), pub, r, s),
		"zero s":    !validStarkSignature(hash, pub, r, new(felt.Felt)),
		"s = n":     !validStarkSignature(hash, pub, r, new(felt.Felt).SetBigInt(fr.Modulus())),
	} {
		if !ok {
			t.Errorf("%s: wrong verdict", name)
		}
	}
}

// starknet.go signs with low s and checks only low s; the node takes both
// halves of every signature it makes.
func TestStarkSignatureBothHalves(t *testing.T) {
	priv, pubX, _, err := curve.GetRandomKeys()
	if err != nil {
		t.Fatal(err)
	}
	pub := new(felt.Felt).SetBigInt(pubX)
	for i := range 8 {
		hash := curve.PoseidonArray(new(felt.Felt).SetUint64(uint64(i)))
		r, s, err := curve.SignFelts(hash, new(felt.Felt).SetBigInt(priv))
		if err != nil {
			t.Fatal(err)
		}
		if !validStarkSignature(hash, pub, r, s) || !validStarkSignature(hash, pub, r, negS(s)) {
			t.Fatalf("signature %d refused", i)
		}
		if ok, _ := curve.VerifyFelts(hash, r, negS(s), pub); ok {
			t.Fatalf("curve.VerifyFelts took high s: the node's reason to check itself is gone")
		}
	}
}
