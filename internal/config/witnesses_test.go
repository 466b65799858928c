package config

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// cosignerKey is a fresh witness verifier key named name, as litewitness prints it.
func cosignerKey(t *testing.T, name string) string {
	t.Helper()
	_, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	k, err := f_note.VKeyToCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestWitnessPolicy(t *testing.T) {
	a, b := cosignerKey(t, "witness.example/a"), cosignerKey(t, "witness.example/b")
	originKey := cosignerKey(t, "comet.localhost/log")
	dir := t.TempDir()
	load := func(t *testing.T, yaml string, environ map[string]string) (Config, error) {
		t.Helper()
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		return Load(p, env(environ))
	}
	two := "log:\n  witnesses:\n    - {name: a, url: \"http://127.0.0.1:7380\", key: \"" + a + "\"}\n    - {url: \"https://witness.example/b/\", key: \"" + b + "\"}\n"

	c, err := load(t, two+"  witness_quorum: 2\n  witness_timeout: 2s\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Log.Witnesses) != 2 || c.Log.Witnesses[0].Name != "a" || c.Log.Witnesses[1].Key != b || c.Log.WitnessQuorum != 2 || c.Log.WitnessTimeout != 2*time.Second {
		t.Errorf("parsed %+v", c.Log)
	}
	// The scalar settings have their environment form; the list does not, and says so.
	c, err = load(t, two, map[string]string{"COMET_LOG_WITNESS_QUORUM": "1", "COMET_LOG_WITNESS_TIMEOUT": "750ms"})
	if err != nil || c.Log.WitnessQuorum != 1 || c.Log.WitnessTimeout != 750*time.Millisecond {
		t.Errorf("environment overrides: %+v %v", c.Log, err)
	}
	if _, err := load(t, "", map[string]string{"COMET_LOG_WITNESSES": "http://w"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "config file") {
		t.Errorf("COMET_LOG_WITNESSES: %v", err)
	}

	for _, tc := range []struct{ name, yaml, errHas string }{
		{"quorum above the witnesses", two + "  witness_quorum: 3\n", "log.witness_quorum 3 is outside 0..2"},
		{"negative quorum", two + "  witness_quorum: -1\n", "log.witness_quorum"},
		{"quorum without witnesses", "log:\n  witness_quorum: 1\n", "log.witness_quorum 1 is outside 0..0"},
		{"zero timeout", two + "  witness_timeout: 0s\n", "log.witness_timeout"},
		{"not a key", "log:\n  witnesses:\n    - {url: \"http://w\", key: \"nope\"}\n", "log.witnesses[0].key"},
		{"key named like the log", "log:\n  witnesses:\n    - {url: \"http://w\", key: \"" + originKey + "\"}\n", "the log's own origin"},
		{"key twice", "log:\n  witnesses:\n    - {name: x, url: \"http://w1\", key: \"" + a + "\"}\n    - {name: y, url: \"http://w2\", key: \"" + a + "\"}\n", "log.witnesses[1].key"},
		{"name twice", "log:\n  witnesses:\n    - {name: x, url: \"http://w1\", key: \"" + a + "\"}\n    - {name: x, url: \"http://w2\", key: \"" + b + "\"}\n", "log.witnesses[1].name \"x\" is not unique"},
		{"default name clashes", "log:\n  witnesses:\n    - {name: witness.example/b, url: \"http://w1\", key: \"" + a + "\"}\n    - {url: \"http://w2\", key: \"" + b + "\"}\n", "log.witnesses[1].name"},
		{"url twice", "log:\n  witnesses:\n    - {url: \"http://w/\", key: \"" + a + "\"}\n    - {url: \"http://w\", key: \"" + b + "\"}\n", "log.witnesses[1].url"},
		{"not http", "log:\n  witnesses:\n    - {url: \"ftp://w\", key: \"" + a + "\"}\n", "log.witnesses[0].url"},
		{"no host", "log:\n  witnesses:\n    - {url: \"http:///x\", key: \"" + a + "\"}\n", "log.witnesses[0].url"},
		{"unknown field", "log:\n  witnesses:\n    - {url: \"http://w\", key: \"" + a + "\", quorum: 1}\n", "quorum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.yaml, nil)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("err = %v, want ErrInvalid naming %q", err, tc.errHas)
			}
		})
	}
}
