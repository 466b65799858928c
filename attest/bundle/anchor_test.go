package bundle_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/comet-attest/comet/attest/bundle"
)

const goodReceipt = `{"chain":"starknet","network":"SN_SEPOLIA","contract":"0xabc","tx_hash":"0x1f","block_number":7,"tree_size":3,"root":"` +
	"0000000000000000000000000000000000000000000000000000000000000001" + `","finality":"ACCEPTED_ON_L2"}`

func TestParseAnchorReceipt(t *testing.T) {
	r, err := bundle.ParseAnchorReceipt(json.RawMessage(goodReceipt))
	if err != nil || r.TreeSize != 3 || *r.BlockNumber != 7 || r.TxHash != "0x1f" {
		t.Fatalf("%+v %v", r, err)
	}
	for name, bad := range map[string]string{
		"other chain":   strings.Replace(goodReceipt, `"starknet"`, `"ethereum"`, 1),
		"size zero":     strings.Replace(goodReceipt, `"tree_size":3`, `"tree_size":0`, 1),
		"short root":    strings.Replace(goodReceipt, `"root":"00`, `"root":"`, 1),
		"upper hex":     strings.Replace(goodReceipt, `"0xabc"`, `"0xABC"`, 1),
		"no tx":         strings.Replace(goodReceipt, `"tx_hash":"0x1f"`, `"tx_hash":""`, 1),
		"unknown field": strings.Replace(goodReceipt, `{`, `{"extra":1,`, 1),
		"trailing":      goodReceipt + "{}",
		"not an object": `[]`,
		"over the size": strings.Replace(goodReceipt, `"network":"SN_SEPOLIA"`, `"network":"`+strings.Repeat("x", 4<<10)+`"`, 1),
	} {
		if _, err := bundle.ParseAnchorReceipt(json.RawMessage(bad)); !errors.Is(err, bundle.ErrAnchorReceipt) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseAnchorReceipt(f *testing.F) {
	f.Add([]byte(goodReceipt))
	f.Add([]byte(`{"chain":"starknet"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := bundle.ParseAnchorReceipt(data)
		if err != nil {
			return
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bundle.ParseAnchorReceipt(again); err != nil {
			t.Fatalf("re-encoded receipt rejected: %v", err)
		}
	})
}
