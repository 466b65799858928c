package commitment

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// The HKDF info strings of docs/manifest.md, "Keyed digests": one key per use, so that a
// file digest can never be replayed as a corpus digest or the other way round.
const (
	fileDigestLabel   = "comet/manifest/v2 file digest"
	corpusDigestLabel = "comet/manifest/v2 corpus digest"
)

// digestKey derives the 32-byte HMAC key of one use from the salt:
// HKDF-SHA256(secret = salt, salt = none, info = label).
func digestKey(salt Salt, label string) []byte {
	key, err := hkdf.Key(sha256.New, salt[:], nil, label, sha256.Size)
	if err != nil {
		// hkdf.Key fails only for keys longer than 255 hash lengths; 32 bytes is one.
		panic(fmt.Sprintf("commitment: hkdf: %v", err))
	}
	return key
}

// NewFileDigest returns the keyed hash of the manifest's file_digest: HMAC-SHA256 under the
// salt's file-digest key. Write the CSV file's bytes to it, as they are read for committing,
// and hex-encode Sum(nil). Without the salt the digest says nothing testable about the file,
// which a plain SHA-256 of a low-entropy file would.
func NewFileDigest(salt Salt) hash.Hash {
	return hmac.New(sha256.New, digestKey(salt, fileDigestLabel))
}

// FileDigest is the manifest's file_digest of the bytes r yields: 64 lower-case hex characters.
func FileDigest(salt Salt, r io.Reader) (string, error) {
	h := NewFileDigest(salt)
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("file digest: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CorpusDigest is the manifest's featurizer.corpus_digest: HMAC-SHA256 under the salt's
// corpus-digest key of the 32 bytes of the raw corpus file's plain SHA-256, given as the
// 64 hex characters a featurization record holds. It is keyed over the corpus's SHA-256
// rather than its bytes so that it can be computed from the record alone; whoever holds the
// corpus and the salt can still check it.
func CorpusDigest(salt Salt, corpusSHA256 string) (string, error) {
	if !isLowerHex(corpusSHA256, sha256.Size) {
		return "", fmt.Errorf("corpus digest: %q is not a SHA-256 in 64 lower-case hex characters", corpusSHA256)
	}
	sum, _ := hex.DecodeString(corpusSHA256) // checked just above
	h := hmac.New(sha256.New, digestKey(salt, corpusDigestLabel))
	h.Write(sum)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// isLowerHex reports whether s is exactly n bytes in lower-case hex: the one published form
// of a digest, so that two spellings of the same digest never both parse.
func isLowerHex(s string, n int) bool {
	if len(s) != 2*n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
