// Package leaf defines the record Comet appends to its transparency log: a
// fixed 162-byte binary record of digests that ties a log index to a signed
// envelope, far below tessera's 64 KiB entry limit. The envelope, proof and
// dataset themselves live elsewhere (the registry's database); the leaf lets
// anyone who holds them check that they are the ones logged.
//
// Layout (version 1), all fields fixed width, no padding:
//
//	offset size field
//	0      1    version, 0x01
//	1      1    kind: 0x01 training attestation, 0x02 revocation,
//	            0x03 evaluation attestation
//	2      32   envelope digest: SHA-256 of the DSSE PAE (package envelope)
//	34     32   subject digest: the model file's SHA-256 (training,
//	            evaluation) or the revoked envelope's digest (revocation)
//	66     32   dataset commitment, 32-byte big-endian field element: the
//	            test set's for an evaluation (zero for revocations)
//	98     32   proof or evaluation bundle SHA-256 (zero for revocations)
//	130    32   signer: SHA-256 of the registry key's signed-note verifier key
//
// The same envelope always gives the same bytes, which is what lets the log
// return one index for a resubmission. Parse accepts exactly this layout and
// nothing else. docs/attestation.md repeats the table.
package leaf
