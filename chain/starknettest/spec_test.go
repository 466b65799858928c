package starknettest

import (
	"errors"
	"testing"
)

func loadSpec(t testing.TB) *Spec {
	t.Helper()
	dir, err := SpecDir()
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadSpec(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSpecRejects(t *testing.T) {
	s := loadSpec(t)
	check := func(method, params string) error {
		_, err := s.CheckParams(method, []byte(params))
		return err
	}
	tests := []struct {
		name string
		err  error
	}{
		{"unknown method", check("starknet_nope", "")},
		{"missing param", check("starknet_getNonce", `["latest"]`)},
		{"extra param", check("starknet_chainId", `[1]`)},
		{"bad block tag", check("starknet_getNonce", `["pending","0x1"]`)},
		{"bad felt", check("starknet_getNonce", `["latest","0x01"]`)},
		{"named unknown", check("starknet_getNonce", `{"block_id":"latest","contract_address":"0x1","x":1}`)},
		{"result type", s.CheckResult("starknet_blockNumber", []byte(`"0x1"`))},
		{"pre-confirmed with hash", s.CheckResult("starknet_getBlockWithTxHashes", []byte(`{"block_hash":"0x1","transactions":[]}`))},
		{"status enum", s.CheckResult("starknet_getTransactionStatus", []byte(`{"finality_status":"REJECTED"}`))},
		{"error not listed", s.CheckError("starknet_getNonce", 29, "Transaction hash not found")},
		{"error message", s.CheckError("starknet_getTransactionReceipt", 29, "not found")},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, ErrSpec) {
			t.Errorf("%s: got %v, want ErrSpec", tc.name, tc.err)
		}
	}
	for name, err := range map[string]error{
		"positional": check("starknet_getNonce", `["latest","0x1"]`),
		"named":      check("starknet_getNonce", `{"block_id":{"block_number":3},"contract_address":"0x1"}`),
		"result":     s.CheckResult("starknet_blockNumber", []byte(`7`)),
		"error":      s.CheckError("starknet_getTransactionReceipt", 29, "Transaction hash not found"),
		"jsonrpc":    s.CheckError("starknet_call", -32603, "Internal error"),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Named params come back in the specification's order, as handlers read them.
func TestSpecParamOrder(t *testing.T) {
	s := loadSpec(t)
	for _, raw := range []string{`{"contract_address":"0x1","block_id":"latest"}`, `["latest","0x1"]`} {
		p, err := s.CheckParams("starknet_getNonce", []byte(raw))
		if err != nil || len(p) != 2 || string(p[0]) != `"latest"` || string(p[1]) != `"0x1"` {
			t.Errorf("%s: params %q, %v", raw, p, err)
		}
	}
}
