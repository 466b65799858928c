package provequeue

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/proof"
)

// Key is the symmetric key a planner and its workers share; only its holders can read a
// job's secrets.
type Key struct{ aead cipher.AEAD }

// ErrKey means a job's secrets do not open with this key: another key, or altered.
var ErrKey = errors.New("the job's secrets do not open with this queue key")

// LoadKey reads a key file: 64 hex characters (32 bytes), as CreateKey writes it.
func LoadKey(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("queue key: %w", err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("queue key %s: want 64 hex characters (32 bytes)", path)
	}
	return newKey(b)
}

// LoadOrCreateKey reads the key file, writing a fresh random key there (mode 0600) when
// there is none; created says which.
func LoadOrCreateKey(path string) (k *Key, created bool, err error) {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		k, err := LoadKey(path)
		return k, false, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, false, err
	}
	if err := atomicfile.WriteFile(path, []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
		return nil, false, fmt.Errorf("queue key: %w", err)
	}
	k, err = newKey(b)
	return k, true, err
}

func newKey(b []byte) (*Key, error) {
	block, err := aes.NewCipher(b)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{aead: aead}, nil
}

// secrets are what a worker needs and the queue must not see.
type secrets struct {
	Salt commitment.Salt `json:"salt"`
	Task proof.ChunkTask `json:"task"`
}

// additional binds a sealed box to its run and chunk, so that a box moved into another
// job does not open.
func additional(run string, index int) []byte {
	return []byte("comet/provequeue/v1\x00" + run + "\x00" + strconv.Itoa(index))
}

// seal encrypts the secrets of chunk s.Task.Index of run: a random nonce, then the
// ciphertext.
func (k *Key) seal(run string, s secrets) ([]byte, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return k.aead.Seal(nonce, nonce, plain, additional(run, s.Task.Index)), nil
}

// open decrypts what seal made for chunk index of run.
func (k *Key) open(run string, index int, box []byte) (secrets, error) {
	var s secrets
	n := k.aead.NonceSize()
	if len(box) < n {
		return s, ErrKey
	}
	plain, err := k.aead.Open(nil, box[:n], box[n:], additional(run, index))
	if err != nil {
		return s, ErrKey
	}
	if err := json.Unmarshal(plain, &s); err != nil {
		return s, fmt.Errorf("job secrets: %w", err)
	}
	if s.Task.Index != index {
		return s, fmt.Errorf("job secrets are for chunk %d, the job is chunk %d", s.Task.Index, index)
	}
	return s, nil
}
