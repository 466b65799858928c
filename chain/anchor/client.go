package anchor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/NethermindEth/juno/core/felt"
	"github.com/NethermindEth/starknet.go/account"
	"github.com/NethermindEth/starknet.go/client"
	"github.com/NethermindEth/starknet.go/curve"
	"github.com/NethermindEth/starknet.go/rpc"

	"github.com/comet-attest/comet/chain/contract"
)

// Config says which node, account and contract the client uses.
type Config struct {
	// RPCURL is the node's JSON-RPC v0.9.0 HTTP endpoint.
	RPCURL string
	// AccountAddress is the owner account's address (hex felt). The account
	// must be a Cairo 2 account with the standard __execute__ multicall.
	AccountAddress string
	// PrivateKeyFile names a file holding the account's Stark private key as
	// hex; PrivateKeyEnv names an environment variable holding it instead.
	// Exactly one must be set, unless the account is left out too: a client
	// without an account is read-only (views, events, transaction lookups),
	// which is all a verifier needs.
	PrivateKeyFile string
	PrivateKeyEnv  string
	// ContractAddress is the deployed anchor contract (hex felt).
	ContractAddress string
	// ChainID, when set, must equal the node's chain id (e.g. "SN_MAIN").
	ChainID string
	// FeeMultiplier scales the estimated resources into the transaction's
	// bounds; default 1.5.
	FeeMultiplier float64
	// PollInterval is how often WaitReceipt asks; default 2s.
	PollInterval time.Duration
	// CallTimeout bounds each RPC call; default 30s.
	CallTimeout time.Duration
	// DroppedAfter is how many consecutive polls may find a sent transaction
	// unknown before WaitReceipt calls it dropped; default 5.
	DroppedAfter int
	// HTTPClient is used for RPC calls if set; the client wraps its transport
	// to count calls.
	HTTPClient *http.Client
	// Logger gets debug lines per transaction; default slog.Default().
	Logger *slog.Logger
}

func (cfg *Config) setDefaults() {
	if cfg.FeeMultiplier <= 0 {
		cfg.FeeMultiplier = 1.5
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.DroppedAfter <= 0 {
		cfg.DroppedAfter = 5
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
}

// Client anchors checkpoints through one account into one anchor contract.
// It is safe for concurrent reads; send one transaction at a time per
// account, as nonces are taken from the node.
type Client struct {
	cfg      Config
	codec    *contract.Codec
	provider *rpc.Provider
	acct     *account.Account
	address  *felt.Felt
	anchor   *felt.Felt
	calls    atomic.Uint64
	log      *slog.Logger
}

// counter counts HTTP round trips, one per JSON-RPC call.
type counter struct {
	next http.RoundTripper
	n    *atomic.Uint64
}

func (c counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func parseFelt(name, s string) (*felt.Felt, error) {
	f, err := new(felt.Felt).SetString(strings.TrimSpace(s))
	if err != nil || f.IsZero() {
		return nil, fmt.Errorf("%w: %s %q is not a non-zero hex felt", ErrConfig, name, s)
	}
	return f, nil
}

func (cfg *Config) privateKey() (*big.Int, error) {
	var raw string
	switch {
	case (cfg.PrivateKeyFile == "") == (cfg.PrivateKeyEnv == ""):
		return nil, fmt.Errorf("%w: set exactly one of the private key file and environment variable", ErrConfig)
	case cfg.PrivateKeyFile != "":
		b, err := os.ReadFile(cfg.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: read private key: %w", ErrConfig, err)
		}
		raw = string(b)
	default:
		v, ok := os.LookupEnv(cfg.PrivateKeyEnv)
		if !ok {
			return nil, fmt.Errorf("%w: environment variable %s is not set", ErrConfig, cfg.PrivateKeyEnv)
		}
		raw = v
	}
	f, err := parseFelt("private key", raw)
	if err != nil {
		// Never echo the key itself.
		return nil, fmt.Errorf("%w: the private key is not a non-zero hex felt", ErrConfig)
	}
	return f.BigInt(new(big.Int)), nil
}

// New checks the configuration, connects to the node and checks that it
// speaks JSON-RPC v0.9.0, is on the configured chain, and hosts the contract.
func New(ctx context.Context, cfg Config) (*Client, error) {
	cfg.setDefaults()
	if cfg.RPCURL == "" {
		return nil, fmt.Errorf("%w: no RPC URL", ErrConfig)
	}
	readOnly := cfg.AccountAddress == "" && cfg.PrivateKeyFile == "" && cfg.PrivateKeyEnv == ""
	var (
		addr *felt.Felt
		priv *big.Int
		err  error
	)
	if !readOnly {
		if addr, err = parseFelt("account address", cfg.AccountAddress); err != nil {
			return nil, err
		}
		if priv, err = cfg.privateKey(); err != nil {
			return nil, err
		}
	}
	anchorAddr, err := parseFelt("contract address", cfg.ContractAddress)
	if err != nil {
		return nil, err
	}
	codec, err := contract.NewCodec()
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, codec: codec, address: addr, anchor: anchorAddr, log: cfg.Logger}
	hc := &http.Client{Timeout: cfg.CallTimeout}
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient
		hc = &cp
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = counter{next: next, n: &c.calls}

	cctx, cancel := context.WithTimeout(ctx, cfg.CallTimeout)
	defer cancel()
	c.provider, err = rpc.NewProvider(cctx, cfg.RPCURL, client.WithHTTPClient(hc))
	if errors.Is(err, rpc.ErrIncompatibleVersion) {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err != nil {
		return nil, classify(ctx, "connect", err)
	}
	if !readOnly {
		pubX, _ := curve.PrivateKeyToPoint(priv)
		pub := new(felt.Felt).SetBigInt(pubX).String()
		c.acct, err = account.NewAccount(c.provider, addr, pub, account.SetNewMemKeystore(pub, priv), account.CairoV2)
		if err != nil {
			return nil, classify(ctx, "chain id", err)
		}
	}
	chainID, err := c.provider.ChainID(cctx) // cached by NewAccount when there is one
	if err != nil {
		return nil, classify(ctx, "chain id", err)
	}
	if cfg.ChainID != "" && chainID != cfg.ChainID {
		return nil, fmt.Errorf("%w: node is on chain %q, configuration says %q", ErrConfig, chainID, cfg.ChainID)
	}
	if _, err := c.provider.ClassHashAt(cctx, rpc.WithBlockTag(rpc.BlockTagLatest), anchorAddr); err != nil {
		return nil, classify(ctx, "check contract", err)
	}
	return c, nil
}

// RPCCalls is the number of JSON-RPC calls the client has made.
func (c *Client) RPCCalls() uint64 { return c.calls.Load() }

// do runs one RPC call under the per-call timeout and classifies its error.
func do[T any](ctx context.Context, c *Client, op string, f func(context.Context) (T, error)) (T, error) {
	cctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	v, err := f(cctx)
	return v, classify(ctx, op, err)
}

func hexHash(f *felt.Felt) string { return f.String() }

// RootAt reads the root anchored for origin at exactly size; ErrNotFound
// when that size was never anchored (the contract answers 0).
func (c *Client) RootAt(ctx context.Context, origin string, size uint64) ([32]byte, error) {
	cd, err := c.codec.EncodeInputs(contract.FnRootAt, contract.LogID(origin), size)
	if err != nil {
		return [32]byte{}, err
	}
	out, err := c.view(ctx, contract.FnRootAt, cd)
	if err != nil {
		return [32]byte{}, err
	}
	root := out[0].([32]byte)
	if root == ([32]byte{}) {
		return root, fmt.Errorf("%w: %q has no root anchored at size %d", ErrNotFound, origin, size)
	}
	return root, nil
}

// CheckRoot compares a checkpoint's root at size with the root anchored for
// origin at that size: ErrMismatch if they differ, ErrNotFound if that size
// was never anchored. (A checkpoint at another size is checked by proving it
// consistent with an anchored one; that proof is the log's, not this
// package's.)
func (c *Client) CheckRoot(ctx context.Context, origin string, size uint64, root [32]byte) error {
	anchored, err := c.RootAt(ctx, origin, size)
	if err != nil {
		return err
	}
	if anchored != root {
		return fmt.Errorf("%w: %q at size %d: anchored %x, presented %x", ErrMismatch, origin, size, anchored, root)
	}
	return nil
}

// Latest reads the largest size anchored for origin, 0 if none.
func (c *Client) Latest(ctx context.Context, origin string) (uint64, error) {
	cd, err := c.codec.EncodeInputs(contract.FnLatest, contract.LogID(origin))
	if err != nil {
		return 0, err
	}
	out, err := c.view(ctx, contract.FnLatest, cd)
	if err != nil {
		return 0, err
	}
	return out[0].(uint64), nil
}

func (c *Client) view(ctx context.Context, fn string, calldata []*felt.Felt) ([]any, error) {
	call := rpc.FunctionCall{ContractAddress: c.anchor, EntryPointSelector: c.codec.Selector(fn), Calldata: calldata}
	raw, err := do(ctx, c, fn, func(ctx context.Context) ([]*felt.Felt, error) {
		return c.provider.Call(ctx, call, rpc.WithBlockTag(rpc.BlockTagLatest))
	})
	if err != nil {
		return nil, err
	}
	out, err := c.codec.DecodeOutputs(fn, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidResponse, fn, err)
	}
	return out, nil
}

// Event is one Anchored event of a log.
type Event struct {
	Size        uint64
	Root        [32]byte
	BlockNumber uint64
	BlockHash   string
	TxHash      string
}

// eventsPage is the chunk size of starknet_getEvents requests.
const eventsPage = 100

// Events lists the log's Anchored events from fromBlock to the latest block,
// following continuation tokens.
func (c *Client) Events(ctx context.Context, origin string, fromBlock uint64) ([]Event, error) {
	id := contract.LogID(origin)
	in := rpc.EventsInput{
		EventFilter: rpc.EventFilter{
			FromBlock: rpc.WithBlockNumber(fromBlock),
			ToBlock:   rpc.WithBlockTag(rpc.BlockTagLatest),
			Address:   c.anchor,
			Keys:      c.codec.AnchoredFilter(id),
		},
		ResultPageRequest: rpc.ResultPageRequest{ChunkSize: eventsPage},
	}
	var out []Event
	for {
		chunk, err := do(ctx, c, "get events", func(ctx context.Context) (*rpc.EventChunk, error) {
			return c.provider.Events(ctx, in)
		})
		if err != nil {
			return nil, err
		}
		for _, e := range chunk.Events {
			a, err := c.codec.DecodeAnchoredEvent(e.Keys, e.Data)
			if err != nil || !a.LogID.Equal(id) || !e.FromAddress.Equal(c.anchor) {
				return nil, fmt.Errorf("%w: event in tx %s: not an Anchored event of this log (%v)", ErrInvalidResponse, e.TransactionHash, err)
			}
			ev := Event{Size: a.Size, Root: a.Root, BlockNumber: e.BlockNumber, TxHash: hexHash(e.TransactionHash)}
			if e.BlockHash != nil {
				ev.BlockHash = hexHash(e.BlockHash)
			}
			out = append(out, ev)
		}
		if chunk.ContinuationToken == "" {
			return out, nil
		}
		in.ContinuationToken = chunk.ContinuationToken
	}
}
