package config

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// parseYAML decodes a config file over c. Its errors name the line and the key path as the
// file has them (line 8: unknown key server.rate_bursts), not yaml's Go wording ("field
// rate_bursts not found in type config.Server") nor the line of the block around a syntax
// error, which yaml reports for some (an indentation error under a comment is reported at
// the comment).
func (c *Config) parseYAML(b []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return syntaxError(b, err)
	}
	if len(doc.Content) == 0 {
		return nil // empty, or only comments
	}
	if err := checkNode(doc.Content[0], reflect.TypeFor[Config](), ""); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := doc.Content[0].Decode(c); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

var yamlPrefixRE = regexp.MustCompile(`^yaml: (line \d+: )?`)

// syntaxError reports a syntax error at the first line from which on no prefix of the file
// parses: the line after the longest prefix that still does. yaml's own line is often that of
// the enclosing block.
func syntaxError(b []byte, err error) error {
	lines := bytes.SplitAfter(b, []byte("\n"))
	at := len(lines)
	for at > 1 && yaml.Unmarshal(bytes.Join(lines[:at-1], nil), new(yaml.Node)) != nil {
		at--
	}
	return fmt.Errorf("%w: line %d: %s", ErrInvalid, at, yamlPrefixRE.ReplaceAllString(err.Error(), ""))
}

var durationType = reflect.TypeFor[time.Duration]()

// checkNode checks a YAML node against the type it decodes into, naming a key the type does
// not have and a value of the wrong kind by their path from the top of the file.
func checkNode(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // an empty value leaves the default
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("line %d: %s must be a mapping of keys, not %s", n.Line, name(path), kindOf(n))
		}
		fields := make(map[string]reflect.Type, t.NumField())
		for i := range t.NumField() {
			fields[strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]] = t.Field(i).Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := strings.TrimPrefix(path+"."+k.Value, ".")
			ft, ok := fields[k.Value]
			if !ok {
				return fmt.Errorf("line %d: unknown key %s", k.Line, key)
			}
			if err := checkNode(v, ft, key); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("line %d: %s must be a list, not %s", n.Line, path, kindOf(n))
		}
		for i, e := range n.Content {
			if err := checkNode(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	default:
		if n.Kind != yaml.ScalarNode || n.Decode(reflect.New(t).Interface()) != nil {
			return fmt.Errorf("line %d: %s must be %s, not %s", n.Line, path, scalarKind(t), kindOf(n))
		}
	}
	return nil
}

// name is the path of a section, or "the file" for the top.
func name(path string) string {
	if path == "" {
		return "the file"
	}
	return path
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

func scalarKind(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as 30s or 200ms"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return "an integer"
	case t.Kind() == reflect.Float64:
		return "a number"
	}
	return "a string"
}
