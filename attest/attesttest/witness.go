package attesttest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"

	"github.com/comet-attest/comet/attest/keys"
	f_log "github.com/transparency-dev/formats/log"
	f_note "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// Witness is a minimal C2SP tlog-witness for one log, served on loopback.
// It verifies the log's signature and the consistency proof from the last
// checkpoint it cosigned before cosigning (cosignature/v1, Ed25519).
type Witness struct {
	Key    *keys.Signer
	Server *httptest.Server

	cosigner *f_note.Signer
	origin   string
	logKey   note.Verifier

	mu   sync.Mutex
	size uint64
	root []byte
}

// NewWitness starts a witness named name for the log with the given origin
// and key. Close the Server when done.
func NewWitness(name, origin string, logKey *keys.Verifier) (*Witness, error) {
	k, err := keys.Generate(name)
	if err != nil {
		return nil, err
	}
	cs, err := f_note.NewSignerForCosignatureV1(k.PrivateKey())
	if err != nil {
		return nil, fmt.Errorf("witness cosigner: %w", err)
	}
	w := &Witness{Key: k, cosigner: cs, origin: origin, logKey: logKey}
	w.Server = httptest.NewServer(w)
	return w, nil
}

// ServeHTTP implements POST /add-checkpoint.
func (w *Witness) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/add-checkpoint" {
		http.NotFound(rw, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	old, hashes, cpRaw, err := parseAddCheckpoint(body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	cp, _, n, err := f_log.ParseCheckpoint(cpRaw, w.origin, w.logKey)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusForbidden)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if old != w.size {
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", w.size)
		return
	}
	if cp.Size < w.size {
		http.Error(rw, "checkpoint smaller than the one already cosigned", http.StatusBadRequest)
		return
	}
	if w.size > 0 {
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, w.size, cp.Size, hashes, w.root, cp.Hash); err != nil {
			http.Error(rw, err.Error(), http.StatusUnprocessableEntity)
			return
		}
	}
	signed, err := note.Sign(&note.Note{Text: n.Text}, w.cosigner)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	w.size, w.root = cp.Size, cp.Hash
	// The response is the signature line alone, as tlog-witness specifies.
	_, _ = rw.Write(signed[len(n.Text)+1:])
}

func parseAddCheckpoint(body []byte) (old uint64, hashes [][]byte, cp []byte, err error) {
	sc := bufio.NewReader(bytes.NewReader(body))
	line, err := sc.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "old ") {
		return 0, nil, nil, fmt.Errorf("first line must be \"old <size>\"")
	}
	old, err = strconv.ParseUint(strings.TrimSpace(line[4:]), 10, 64)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("old size: %w", err)
	}
	for {
		line, err := sc.ReadString('\n')
		if err != nil {
			return 0, nil, nil, fmt.Errorf("proof: %w", err)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			break
		}
		h, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("proof hash: %w", err)
		}
		hashes = append(hashes, h)
	}
	cp, err = io.ReadAll(sc)
	return old, hashes, cp, err
}
