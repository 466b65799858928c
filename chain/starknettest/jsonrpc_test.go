package starknettest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// post sends body as one HTTP request and returns the status and the body.
func post(t *testing.T, n *Node, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(n.URL(), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(out)
}

// Every method takes its params by name too, in any order, and the by-name
// transaction lookups by position as well.
func TestNamedParams(t *testing.T) {
	f := newFixture(t)
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"starknet_getNonce","params":{"contract_address":"` + f.acct.Address.String() + `","block_id":"latest"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"starknet_getNonce","params":["latest","` + f.acct.Address.String() + `"]}`,
		`{"jsonrpc":"2.0","id":1,"method":"starknet_getStorageAt","params":{"block_id":"latest","key":"0x1","contract_address":"` + f.anchor.String() + `"}}`,
	} {
		var out rpcResponse
		if _, raw := post(t, f.n, body); json.Unmarshal([]byte(raw), &out) != nil || out.Error != nil || string(out.Result) != `"0x0"` {
			t.Errorf("%s: answer %s", body, raw)
		}
	}
	for _, params := range []string{`{"transaction_hash":"0x5"}`, `["0x5"]`} {
		var out rpcResponse
		_, raw := post(t, f.n, `{"jsonrpc":"2.0","id":"a","method":"starknet_getTransactionReceipt","params":`+params+`}`)
		if json.Unmarshal([]byte(raw), &out) != nil || out.Error == nil || out.Error.Code != errHashNotFound.Code || string(out.ID) != `"a"` {
			t.Errorf("receipt %s: answer %s", params, raw)
		}
	}
}

// Batches and notifications as JSON-RPC 2.0 section 4.1 and 6 say.
func TestBatchesAndNotifications(t *testing.T) {
	n := New(t, Config{})
	tests := []struct {
		name, body string
		status     int
		want       string // JSON the answer must equal; "" for no body
	}{
		{"batch in order", `[{"jsonrpc":"2.0","id":2,"method":"starknet_blockNumber"},{"jsonrpc":"2.0","id":"x","method":"starknet_specVersion","params":[]}]`,
			200, `[{"jsonrpc":"2.0","id":2,"result":0},{"jsonrpc":"2.0","id":"x","result":"0.9.0"}]`},
		{"notifications left out", `[{"jsonrpc":"2.0","method":"starknet_blockNumber"},{"jsonrpc":"2.0","id":null,"method":"starknet_blockNumber"}]`,
			200, `[{"jsonrpc":"2.0","id":null,"result":0}]`},
		{"only notifications", `[{"jsonrpc":"2.0","method":"starknet_blockNumber"},{"jsonrpc":"2.0","method":"starknet_chainId"}]`, 204, ""},
		{"one notification", `{"jsonrpc":"2.0","method":"starknet_blockNumber"}`, 204, ""},
		{"method not served", `[{"jsonrpc":"2.0","id":1,"method":"starknet_getStateUpdate","params":{"block_id":"latest"}}]`,
			200, `[{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}]`},
	}
	for _, tc := range tests {
		status, body := post(t, n, tc.body)
		if status != tc.status || !sameJSON(body, tc.want) {
			t.Errorf("%s: HTTP %d %s; want %d %s", tc.name, status, body, tc.status, tc.want)
		}
	}
	if got := n.Calls("starknet_blockNumber"); got != 5 {
		t.Errorf("blockNumber answered %d times, want 5 (notifications run too)", got)
	}
}

// Requests that are not JSON-RPC 2.0 are answered with the specification's
// errors, and each is a violation of the client that sent it.
func TestInvalidBatches(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"empty batch", `[]`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"not JSON", `[{"jsonrpc":"2.0",`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`},
		{"not a request", `[1]`, `[{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}]`},
		{"object id", `{"jsonrpc":"2.0","id":{},"method":"starknet_chainId"}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}`},
	}
	for _, tc := range tests {
		rec := &recorder{TB: t}
		n := New(rec, Config{})
		if status, body := post(t, n, tc.body); status != 200 || !sameJSON(body, tc.want) {
			t.Errorf("%s: HTTP %d %s; want %s", tc.name, status, body, tc.want)
		}
		if rec.count() != 1 {
			t.Errorf("%s: recorded %v, want one violation", tc.name, rec.errs)
		}
	}
}

func sameJSON(a, b string) bool {
	if b == "" {
		return a == ""
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return string(xs) == string(ys)
}
