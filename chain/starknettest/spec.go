package starknettest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/comet-attest/comet/internal/shareddata"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ErrSpec marks a request or response that the Starknet JSON-RPC
// specification forbids.
var ErrSpec = errors.New("starknettest: spec violation")

// specFiles are the OpenRPC documents whose methods the node may serve.
var specFiles = []string{"starknet_api_openrpc.json", "starknet_write_api.json"}

// specBase is a made-up root under which the documents are registered; the
// write API's refs ("./api/starknet_api_openrpc.json#...") are relative to
// the specification repository's root, not to the file that holds them, so
// the main document is registered a second time under api/ (see SOURCES.md).
const specBase = "https://starknet-specs.invalid/v0.9.0/"

type paramSpec struct {
	name     string
	required bool
	schema   *jsonschema.Schema
}

type methodSpec struct {
	params []paramSpec
	result *jsonschema.Schema
	// confirmed and preConfirmed are the two branches of a block result's
	// oneOf: a pre-confirmed block also passes the confirmed branch's
	// looser parts, so the branch is picked by the presence of block_hash.
	confirmed, preConfirmed *jsonschema.Schema
	errors                  map[int]string
}

// Spec validates JSON-RPC traffic against the official OpenRPC documents.
type Spec struct {
	methods map[string]*methodSpec
}

// SpecDir finds the shared v0.9.0 specification beside the repository:
// <root>/../shared/starknet-specs/v0.9.0/api.
func SpecDir() (string, error) {
	return shareddata.Find("starknet-specs", "v0.9.0", "api")
}

// blockMethods return a confirmed or a pre-confirmed block.
var blockMethods = map[string]bool{
	"starknet_getBlockWithTxHashes": true,
	"starknet_getBlockWithTxs":      true,
	"starknet_getBlockWithReceipts": true,
}

// LoadSpec compiles the parameter and result schemas of every method in the
// documents under dir.
func LoadSpec(dir string) (*Spec, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	docs := map[string]map[string]any{}
	for _, name := range specFiles {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("starknettest: load spec: %w", err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("starknettest: parse %s: %w", name, err)
		}
		m, ok := doc.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("starknettest: %s is not an object", name)
		}
		docs[name] = m
		if err := c.AddResource(specBase+name, doc); err != nil {
			return nil, fmt.Errorf("starknettest: add %s: %w", name, err)
		}
		if name == specFiles[0] {
			if err := c.AddResource(specBase+"api/"+name, doc); err != nil {
				return nil, fmt.Errorf("starknettest: add api/%s: %w", name, err)
			}
		}
	}
	s := &Spec{methods: map[string]*methodSpec{}}
	for _, name := range specFiles {
		methods, _ := docs[name]["methods"].([]any)
		for i, mv := range methods {
			m, _ := mv.(map[string]any)
			mname, _ := m["name"].(string)
			ptr := fmt.Sprintf("%s%s#/methods/%d", specBase, name, i)
			ms := &methodSpec{errors: map[int]string{}}
			params, _ := m["params"].([]any)
			for j, pv := range params {
				p, _ := pv.(map[string]any)
				sch, err := c.Compile(fmt.Sprintf("%s/params/%d/schema", ptr, j))
				if err != nil {
					return nil, fmt.Errorf("starknettest: compile %s param %d: %w", mname, j, err)
				}
				pname, _ := p["name"].(string)
				req, _ := p["required"].(bool)
				ms.params = append(ms.params, paramSpec{name: pname, required: req, schema: sch})
			}
			var err error
			if blockMethods[mname] {
				if ms.confirmed, err = c.Compile(ptr + "/result/schema/oneOf/0"); err == nil {
					ms.preConfirmed, err = c.Compile(ptr + "/result/schema/oneOf/1")
				}
			} else {
				ms.result, err = c.Compile(ptr + "/result/schema")
			}
			if err != nil {
				return nil, fmt.Errorf("starknettest: compile %s result: %w", mname, err)
			}
			errs, _ := m["errors"].([]any)
			for _, ev := range errs {
				code, msg, err := resolveError(docs, name, ev)
				if err != nil {
					return nil, fmt.Errorf("starknettest: %s errors: %w", mname, err)
				}
				ms.errors[code] = msg
			}
			s.methods[mname] = ms
		}
	}
	return s, nil
}

// resolveError follows an error's $ref (local or "./api/<file>#...") to the
// code and message the specification fixes for it.
func resolveError(docs map[string]map[string]any, file string, ev any) (int, string, error) {
	e, _ := ev.(map[string]any)
	if ref, ok := e["$ref"].(string); ok {
		target, frag, _ := strings.Cut(ref, "#")
		if target != "" {
			file = filepath.Base(target)
		}
		var cur any = docs[file]
		for _, part := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
			obj, _ := cur.(map[string]any)
			cur = obj[part]
		}
		e, _ = cur.(map[string]any)
	}
	num, ok := e["code"].(json.Number)
	msg, _ := e["message"].(string)
	if !ok {
		return 0, "", fmt.Errorf("error without code: %v", ev)
	}
	code, err := num.Int64()
	return int(code), msg, err
}

func decode(raw []byte) (any, error) {
	return jsonschema.UnmarshalJSON(bytes.NewReader(raw))
}

func (s *Spec) method(name string) (*methodSpec, error) {
	m, ok := s.methods[name]
	if !ok {
		return nil, fmt.Errorf("%w: method %q is not in the specification", ErrSpec, name)
	}
	return m, nil
}

// CheckParams validates a request's params, given by position (as
// starknet.go sends them) or by name (as starknet.js does), and returns them
// in the specification's order, nil where an optional one is absent.
//
// The specification marks the transaction lookups by-name, yet both forms
// are taken for every method: starknet.go v0.17.1 sends those lookups by
// position too, and Juno and Pathfinder answer them either way.
func (s *Spec) CheckParams(method string, raw json.RawMessage) ([]json.RawMessage, error) {
	m, err := s.method(method)
	if err != nil {
		return nil, err
	}
	byName := map[string]json.RawMessage{}
	trimmed := bytes.TrimSpace(raw)
	switch {
	case len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")):
	case trimmed[0] == '[':
		var list []json.RawMessage
		if err := json.Unmarshal(trimmed, &list); err != nil {
			return nil, fmt.Errorf("%w: %s params: %v", ErrSpec, method, err)
		}
		if len(list) > len(m.params) {
			return nil, fmt.Errorf("%w: %s takes %d params, got %d", ErrSpec, method, len(m.params), len(list))
		}
		for i, v := range list {
			byName[m.params[i].name] = v
		}
	case trimmed[0] == '{':
		if err := json.Unmarshal(trimmed, &byName); err != nil {
			return nil, fmt.Errorf("%w: %s params: %v", ErrSpec, method, err)
		}
		for k := range byName {
			if !m.hasParam(k) {
				return nil, fmt.Errorf("%w: %s has no param %q", ErrSpec, method, k)
			}
		}
	default:
		return nil, fmt.Errorf("%w: %s params are neither array nor object", ErrSpec, method)
	}
	ordered := make([]json.RawMessage, len(m.params))
	for i, p := range m.params {
		v, ok := byName[p.name]
		if !ok {
			if p.required {
				return nil, fmt.Errorf("%w: %s misses required param %q", ErrSpec, method, p.name)
			}
			continue
		}
		inst, err := decode(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %s param %s: %v", ErrSpec, method, p.name, err)
		}
		if err := p.schema.Validate(inst); err != nil {
			return nil, fmt.Errorf("%w: %s param %s: %v", ErrSpec, method, p.name, err)
		}
		ordered[i] = v
	}
	return ordered, nil
}

func (m *methodSpec) hasParam(name string) bool {
	for _, p := range m.params {
		if p.name == name {
			return true
		}
	}
	return false
}

// CheckResult validates a successful response's result.
func (s *Spec) CheckResult(method string, raw []byte) error {
	m, err := s.method(method)
	if err != nil {
		return err
	}
	inst, err := decode(raw)
	if err != nil {
		return fmt.Errorf("%w: %s result: %v", ErrSpec, method, err)
	}
	sch := m.result
	if sch == nil {
		sch = m.preConfirmed
		if obj, ok := inst.(map[string]any); ok {
			if _, confirmed := obj["block_hash"]; confirmed {
				sch = m.confirmed
			}
		}
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%w: %s result: %v", ErrSpec, method, err)
	}
	return nil
}

// CheckError validates an error response: a code and message the method
// lists, or one of JSON-RPC's own codes (-32700 to -32600), which any
// server may return.
func (s *Spec) CheckError(method string, code int, message string) error {
	if code <= -32600 && code >= -32700 {
		return nil
	}
	m, err := s.method(method)
	if err != nil {
		return err
	}
	want, ok := m.errors[code]
	if !ok {
		return fmt.Errorf("%w: %s may not return error code %d", ErrSpec, method, code)
	}
	if want != message {
		return fmt.Errorf("%w: %s error %d message %q, spec says %q", ErrSpec, method, code, message, want)
	}
	return nil
}
