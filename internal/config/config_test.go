package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRepositoryDefaultLoads(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "config.yaml"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Postgres() || c.Anchor.RPCURL != "" {
		t.Errorf("the embedded default must use SQLite and no anchoring: %+v", c)
	}
	if got := c.Path(c.Database.SQLitePath); got != filepath.Join("comet-data", "comet.db") {
		t.Errorf("sqlite path %q", got)
	}
	// The file states the built-in defaults, so that running without it changes nothing.
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("config.yaml differs from Default():\n%+v\n%+v", c, Default())
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, file string
		env        map[string]string
		check      func(Config) bool
		wantErr    bool
		errHas     string // the error names the setting at fault
	}{
		{name: "defaults", check: func(c Config) bool { return c.Server.Addr == "127.0.0.1:8080" }},
		{name: "file", file: "server:\n  addr: 127.0.0.1:9\njobs:\n  poll_interval: 2s\n",
			check: func(c Config) bool { return c.Server.Addr == "127.0.0.1:9" && c.Jobs.PollInterval == 2*time.Second }},
		{name: "env beats file", file: "server:\n  addr: 127.0.0.1:9\n",
			env: map[string]string{"COMET_SERVER_ADDR": "127.0.0.1:10", "COMET_DATA_DIR": "/x", "COMET_SERVER_RATE_PER_SECOND": "2.5", "COMET_DATABASE_DSN": "postgres://h/db"},
			check: func(c Config) bool {
				return c.Server.Addr == "127.0.0.1:10" && c.DataDir == "/x" && c.Server.RatePerSecond == 2.5 && c.Postgres()
			}},
		{name: "unknown key", file: "server:\n  adr: x\n", wantErr: true},
		{name: "bad env value", env: map[string]string{"COMET_JOBS_WORKERS": "many"}, wantErr: true},
		{name: "bad duration", env: map[string]string{"COMET_JOBS_POLL_INTERVAL": "soon"}, wantErr: true},
		{name: "rescue not after timeout", env: map[string]string{"COMET_JOBS_RESCUE_AFTER": "1s"}, wantErr: true},
		{name: "stale lease within a heartbeat", env: map[string]string{"COMET_JOBS_STALE_AFTER": "2s"}, wantErr: true},
		{name: "no heartbeat", env: map[string]string{"COMET_JOBS_HEARTBEAT": "0s"}, wantErr: true},
		{name: "anchoring half configured", env: map[string]string{"COMET_ANCHOR_RPC_URL": "http://127.0.0.1:1"}, wantErr: true},
		{name: "bad origin", env: map[string]string{"COMET_LOG_ORIGIN": "a b"}, wantErr: true},
		{name: "bad synchronous", env: map[string]string{"COMET_DATABASE_SQLITE_SYNCHRONOUS": "off"}, wantErr: true},
		{name: "max relative gradient default", check: func(c Config) bool { return c.Registry.MaxRelativeGradient == 1e-3 }},
		{name: "max relative gradient in file", file: "registry:\n  max_relative_gradient: 2.5e-4\n",
			check: func(c Config) bool { return c.Registry.MaxRelativeGradient == 2.5e-4 }},
		{name: "max relative gradient env beats file", file: "registry:\n  max_relative_gradient: 2.5e-4\n",
			env:   map[string]string{"COMET_REGISTRY_MAX_RELATIVE_GRADIENT": "0.01"},
			check: func(c Config) bool { return c.Registry.MaxRelativeGradient == 0.01 }},
		{name: "max relative gradient zero", env: map[string]string{"COMET_REGISTRY_MAX_RELATIVE_GRADIENT": "0"}, wantErr: true, errHas: "registry.max_relative_gradient"},
		{name: "max relative gradient negative", file: "registry:\n  max_relative_gradient: -1e-3\n", wantErr: true, errHas: "registry.max_relative_gradient"},
		{name: "max relative gradient infinite", env: map[string]string{"COMET_REGISTRY_MAX_RELATIVE_GRADIENT": "+Inf"}, wantErr: true, errHas: "registry.max_relative_gradient"},
		{name: "max relative gradient NaN", env: map[string]string{"COMET_REGISTRY_MAX_RELATIVE_GRADIENT": "NaN"}, wantErr: true, errHas: "registry.max_relative_gradient"},
		{name: "max relative gradient not a number", env: map[string]string{"COMET_REGISTRY_MAX_RELATIVE_GRADIENT": "small"}, wantErr: true, errHas: "COMET_REGISTRY_MAX_RELATIVE_GRADIENT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = write(tc.file)
			}
			c, err := Load(path, env(tc.env))
			if tc.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				if !strings.Contains(err.Error(), tc.errHas) {
					t.Errorf("err = %v, want it to name %s", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestPath(t *testing.T) {
	c := Default()
	c.DataDir = "/d"
	if c.Path("x") != "/d/x" || c.Path("/abs") != "/abs" || c.Path("") != "" {
		t.Error("Path does not resolve relative paths under data_dir")
	}
}

// A broken config file is reported at the line that is wrong, with the key path as the file
// writes it (yaml itself reports some syntax errors at the line of the enclosing block, or of
// a comment above, and unknown keys in Go's words).
func TestYAMLErrors(t *testing.T) {
	const head = "# comet config\n# second comment\nserver:\n  addr: 127.0.0.1:9\n" // lines 1-4
	for _, tc := range []struct {
		name, file string
		want       string
	}{
		{"unknown key", head + "  rate_bursts: 3\n", "line 5: unknown key server.rate_bursts"},
		{"unknown section", head + "logs:\n  dir: x\n", "line 5: unknown key logs"},
		{"not an integer", head + "  rate_burst: 3\n  max_body_bytes: lots\n", `line 6: server.max_body_bytes must be an integer, not "lots"`},
		{"not a duration", head + "jobs:\n  workers: 2\n  poll_interval: soon\n", "line 7: jobs.poll_interval must be a duration"},
		{"a list for a number", head + "jobs:\n  workers: [1]\n", "line 6: jobs.workers must be an integer, not a list"},
		{"witness unknown key", head + "log:\n  witnesses:\n    - {name: w1, url: x, key: k, extra: 1}\n", "line 7: unknown key log.witnesses[0].extra"},
		{"indentation under comments", head + "  # a\n  # b\nlog:\n  dir: log\n origin: x\n", "line 9: "},
		{"indented too far", head + "log:\n  dir: log\n    origin: x\n", "line 7: "},
		{"unclosed list", head + "  # c\n  x: [1, 2\nlog:\n  dir: a\n", "line 6: "},
		{"unclosed quote", head + "log:\n  origin: \"x\n", "line 6: "},
		{"tab", head + "log:\n\tdir: x\n", "line 6: "},
		{"a section not a mapping", "server: 5\n", "line 1: server must be a mapping of keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			err := c.parseYAML([]byte(tc.file))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid with %q", err, tc.want)
			}
			for _, internal := range []string{"config.", "type ", "!!", "yaml:"} {
				if strings.Contains(err.Error(), internal) {
					t.Errorf("err = %v shows %q", err, internal)
				}
			}
		})
	}
}
