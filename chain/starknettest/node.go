package starknettest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/NethermindEth/juno/core/felt"
	"github.com/NethermindEth/starknet.go/curve"

	"github.com/comet-attest/comet/chain/contract"
)

// SpecVersion is the JSON-RPC specification version the node speaks.
const SpecVersion = "0.9.0"

// Class hashes the node reports for the two kinds of contract it hosts.
var (
	accountClassHash = curve.StarknetKeccak([]byte("comet.starknettest.account"))
	anchorClassHash  = curve.StarknetKeccak([]byte("comet.starknettest.anchor"))
)

// Config sets up a Node. The zero value is usable.
type Config struct {
	// ChainID is the chain's short-string id; default "SN_COMET_TEST".
	ChainID string
	// BlockTime is how long a received transaction waits before it is
	// included; 0 includes it when the next request arrives.
	BlockTime time.Duration
	// Fees is the fee model; the zero value means DefaultFeeModel().
	Fees FeeModel
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Node is a loopback Starknet JSON-RPC node. Its methods are safe for
// concurrent use.
type Node struct {
	tb     testing.TB
	spec   *Spec
	codec  *contract.Codec
	srv    *httptest.Server
	cfg    Config
	chain  *felt.Felt // chain id as the felt that transaction hashes commit to
	handle map[string]func(params []json.RawMessage) (any, *rpcError)

	mu         sync.Mutex
	accounts   map[felt.Felt]*felt.Felt // address -> public key
	anchors    map[felt.Felt]bool       // anchor contract addresses
	blocks     []*block
	txs        map[felt.Felt]*txRecord
	mempool    []*txRecord
	faults     []*fault
	calls      map[string]int
	violations []string
}

type block struct {
	number    uint64
	hash      *felt.Felt
	parent    *felt.Felt
	timestamp uint64
	txs       []*txRecord
	state     *state // after this block
}

// New starts a node on 127.0.0.1 and stops it when the test ends. It fails
// the test if the specification cannot be loaded.
func New(tb testing.TB, cfg Config) *Node {
	tb.Helper()
	dir, err := SpecDir()
	if err != nil {
		tb.Fatal(err)
	}
	spec, err := LoadSpec(dir)
	if err != nil {
		tb.Fatal(err)
	}
	codec, err := contract.NewCodec()
	if err != nil {
		tb.Fatal(err)
	}
	if cfg.ChainID == "" {
		cfg.ChainID = "SN_COMET_TEST"
	}
	if cfg.Fees == (FeeModel{}) {
		cfg.Fees = DefaultFeeModel()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	n := &Node{
		tb: tb, spec: spec, codec: codec, cfg: cfg,
		chain:    new(felt.Felt).SetBytes([]byte(cfg.ChainID)),
		accounts: map[felt.Felt]*felt.Felt{},
		anchors:  map[felt.Felt]bool{},
		txs:      map[felt.Felt]*txRecord{},
		calls:    map[string]int{},
	}
	n.handle = n.methods()
	genesis := &block{hash: curve.PoseidonArray(new(felt.Felt)), parent: new(felt.Felt),
		timestamp: uint64(cfg.Now().Unix()), state: newState()}
	n.blocks = []*block{genesis}
	n.srv = httptest.NewServer(http.HandlerFunc(n.serveHTTP))
	tb.Cleanup(n.srv.Close)
	return n
}

// URL is the node's JSON-RPC endpoint.
func (n *Node) URL() string { return n.srv.URL }

// ChainID is the chain's short-string id.
func (n *Node) ChainID() string { return n.cfg.ChainID }

// AddAccount registers an account contract controlled by the Stark key
// pubKey and returns its address (derived from the key, so stable).
func (n *Node) AddAccount(pubKey *felt.Felt) *felt.Felt {
	addr := curve.PoseidonArray(accountClassHash, pubKey)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.accounts[*addr] = new(felt.Felt).Set(pubKey)
	n.head().state.nonces[*addr] = 0
	return addr
}

// DeployAnchor deploys an anchor contract owned by owner (an account
// address) into the current head state and returns its address.
func (n *Node) DeployAnchor(owner *felt.Felt) *felt.Felt {
	n.mu.Lock()
	defer n.mu.Unlock()
	addr := curve.PoseidonArray(anchorClassHash, owner, new(felt.Felt).SetUint64(uint64(len(n.anchors))))
	n.anchors[*addr] = true
	n.head().state.write(addr, contract.OwnerSlot(), owner)
	return addr
}

// Calls returns how many requests for method the node has answered
// ("" counts all methods).
func (n *Node) Calls(method string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if method == "" {
		total := 0
		for _, c := range n.calls {
			total += c
		}
		return total
	}
	return n.calls[method]
}

// Violations lists the spec violations seen so far (each also failed the test).
func (n *Node) Violations() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.violations...)
}

// BlockNumber is the number of the latest block.
func (n *Node) BlockNumber() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.head().number
}

func (n *Node) head() *block { return n.blocks[len(n.blocks)-1] }

func (n *Node) violation(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	n.mu.Lock()
	n.violations = append(n.violations, msg)
	n.mu.Unlock()
	n.tb.Errorf("starknettest: %s", msg)
}

type rpcRequest struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// Spec-fixed errors the node returns.
var (
	errBlockNotFound    = rpcError{Code: 24, Message: "Block not found"}
	errContractNotFound = rpcError{Code: 20, Message: "Contract not found"}
	errEntrypoint       = rpcError{Code: 21, Message: "Requested entrypoint does not exist in the contract"}
	errHashNotFound     = rpcError{Code: 29, Message: "Transaction hash not found"}
	errPageSize         = rpcError{Code: 31, Message: "Requested page size is too big"}
	errContinuation     = rpcError{Code: 33, Message: "The supplied continuation token is invalid or unknown"}
	errParse            = rpcError{Code: -32700, Message: "Parse error"}
	errInvalidRequest   = rpcError{Code: -32600, Message: "Invalid Request"}
	errInvalidParams    = rpcError{Code: -32602, Message: "Invalid params"}
	errInternal         = rpcError{Code: -32603, Message: "Internal error"}
)

func errWith(e rpcError, data any) *rpcError {
	e.Data = data
	return &e
}

// errUnavailable is an injected HTTP 503: it fails the whole HTTP request,
// batch or not, as an overloaded gateway does.
var errUnavailable = errors.New("injected: service unavailable")

func (n *Node) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var out any
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '[' {
		out, err = n.serveBatch(r.Context(), trimmed)
	} else if resp, rerr := n.serveOne(r.Context(), body); resp != nil || rerr != nil {
		out, err = resp, rerr
	}
	switch {
	case errors.Is(err, errUnavailable):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	case err != nil:
		// The client gave up during an injected delay: nobody reads an answer.
	case out == nil:
		// Only notifications, which JSON-RPC 2.0 never answers.
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, out)
	}
}

// serveBatch answers a JSON-RPC 2.0 batch with the responses to its requests
// that have an id, in order, or with nil when all were notifications.
func (n *Node) serveBatch(ctx context.Context, body []byte) (any, error) {
	var batch []json.RawMessage
	if err := json.Unmarshal(body, &batch); err != nil {
		n.violation("batch is not JSON: %v", err)
		return rpcResponse{JSONRPC: "2.0", Error: &errParse}, nil
	}
	if len(batch) == 0 {
		// The specification answers an empty batch with one error, not an array.
		n.violation("empty JSON-RPC batch")
		return rpcResponse{JSONRPC: "2.0", Error: &errInvalidRequest}, nil
	}
	var out []*rpcResponse
	for _, raw := range batch {
		resp, err := n.serveOne(ctx, raw)
		if err != nil {
			return nil, err
		}
		if resp != nil {
			out = append(out, resp)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// serveOne answers one request, or returns nil for a notification (a request
// without an id member), whose result or error nobody receives.
func (n *Node) serveOne(ctx context.Context, raw json.RawMessage) (*rpcResponse, error) {
	if !json.Valid(raw) {
		n.violation("request is not JSON: %q", raw)
		return &rpcResponse{JSONRPC: "2.0", Error: &errParse}, nil
	}
	var req rpcRequest
	if err := json.Unmarshal(raw, &req); err != nil || req.JSONRPC != "2.0" || req.Method == "" || !validID(req.ID) {
		n.violation("malformed JSON-RPC request %q", raw)
		// An id the node could not read is answered as null.
		id := req.ID
		if !validID(id) {
			id = nil
		}
		return &rpcResponse{JSONRPC: "2.0", ID: id, Error: &errInvalidRequest}, nil
	}
	n.mu.Lock()
	n.calls[req.Method]++
	f := n.takeFault(req.Method)
	n.mu.Unlock()
	var resp rpcResponse
	switch {
	case f == nil:
		resp = n.dispatch(req)
	case f.kind == faultSlow:
		if !sleep(ctx, f.delay) {
			return nil, ctx.Err()
		}
		resp = n.dispatch(req)
	case f.kind == faultHTTP:
		return nil, errUnavailable
	default:
		resp = rpcResponse{JSONRPC: "2.0", ID: req.ID, Error: errWith(errInternal, "injected fault")}
	}
	if req.ID == nil {
		return nil, nil
	}
	return &resp, nil
}

// validID says whether a request's id is absent or a string, number or null,
// the only kinds JSON-RPC 2.0 allows.
func validID(id json.RawMessage) bool {
	if id == nil {
		return true
	}
	switch id[0] {
	case '{', '[', 't', 'f':
		return false
	}
	return true
}

func (n *Node) dispatch(req rpcRequest) rpcResponse {
	resp := rpcResponse{JSONRPC: "2.0", ID: req.ID}
	params, err := n.spec.CheckParams(req.Method, req.Params)
	if err != nil {
		n.violation("request: %v", err)
		resp.Error = errWith(errInvalidParams, err.Error())
		return resp
	}
	h, ok := n.handle[req.Method]
	if !ok {
		resp.Error = &rpcError{Code: -32601, Message: "Method not found"}
		return resp
	}
	n.mu.Lock()
	n.mineReady()
	result, rerr := h(params)
	n.mu.Unlock()
	if rerr != nil {
		if err := n.spec.CheckError(req.Method, rerr.Code, rerr.Message); err != nil {
			n.violation("response: %v", err)
		}
		resp.Error = rerr
		return resp
	}
	raw, err := json.Marshal(result)
	if err != nil {
		resp.Error = errWith(errInternal, err.Error())
		return resp
	}
	if err := n.spec.CheckResult(req.Method, raw); err != nil {
		n.violation("response: %v (result %s)", err, raw)
		resp.Error = errWith(errInternal, err.Error())
		return resp
	}
	resp.Result = raw
	return resp
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func hexU64(v uint64) string      { return fmt.Sprintf("%#x", v) }
func hexBig(v *big.Int) string    { return fmt.Sprintf("%#x", v) }
func feltU64(v uint64) *felt.Felt { return new(felt.Felt).SetUint64(v) }
