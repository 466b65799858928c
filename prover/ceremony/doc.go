// Package ceremony runs the multi-party Groth16 setup of one circuit shape on gnark's
// backend/groth16/bn254/mpcsetup, so that no single party — the registry operator included —
// ever knows the setup's secret ("toxic waste") with which proofs can be forged.
//
// The ceremony has two phases. Phase 1 ("powers of tau") is independent of the circuit: it
// is sized for the largest circuit of the shape (the next power of two of its constraint
// count) and, truncated, serves every smaller one. Phase 2 is per circuit (chunk and final).
// Each participant, on their own machine, runs Contribute on the directory as it reaches them;
// gnark draws the participant's secret from crypto/rand, multiplies it into the parameters,
// and proves in the file (a proof of knowledge tied to the hash of the previous contribution)
// that the update was made from a known secret; the secret itself only ever lives in that
// process's memory and is never written. A coordinator closes phase 1 (ClosePhase1), which
// seals it with a public beacon and derives the initial phase-2 parameters; anyone can redo
// that step. Finalize seals phase 2 with a second beacon and yields the keys.
//
// What each party learns: the published parameters only (group elements). What one honest
// participant per phase guarantees: as long as one contributor to phase 1 and one to phase 2
// drew their secret honestly and let it die with their process, nobody, the coordinator
// included, knows the toxic waste, so nobody can forge a proof. What a dishonest coordinator can
// do: refuse or omit contributions, choose the order, stall the ceremony, and, when no beacon
// is announced in advance, try many beacons (grinding) — which changes the keys but cannot
// undo an honest contribution, so it cannot make forging possible. What it cannot do:
// substitute parameters (Verify re-derives phase 1's initial state, the sealed phase 1 and
// phase 2's initial state from the circuits, and checks every contribution's update proof and
// hash chain), or remove a contributor's effect without the contribution disappearing from
// the published transcript.
//
// The directory: ceremony.json (format comet.ceremony/v1: shape, circuit and gnark versions,
// the phase-1 domain, beacons, and the ordered contributions with their SHA-256) and one file
// per contribution in gnark's encoding: phase1/0001.bin, …, phase2/chunk/0000.bin (the initial
// state ClosePhase1 derives), phase2/chunk/0001.bin, …, and the same for final. The transcript
// is the directory as one deterministic tar file (WriteTranscript), so that it has one SHA-256
// for the trust root to pin and one URL; Verify accepts the directory or the tar.
package ceremony
