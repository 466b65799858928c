package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	f_note "github.com/transparency-dev/formats/note"
)

// ErrInvalid reports a configuration that cannot be used.
var ErrInvalid = errors.New("invalid configuration")

// Config is everything the registry needs to run.
type Config struct {
	Server   Server   `yaml:"server"`
	DataDir  string   `yaml:"data_dir"`
	Database Database `yaml:"database"`
	Log      Log      `yaml:"log"`
	Registry Registry `yaml:"registry"`
	Jobs     Jobs     `yaml:"jobs"`
	Anchor   Anchor   `yaml:"anchor"`
	Trust    Trust    `yaml:"trust"`
}

// Server is the HTTP listener and its limits.
type Server struct {
	Addr            string        `yaml:"addr"`
	MaxBodyBytes    int64         `yaml:"max_body_bytes"`
	ReadTimeout     time.Duration `yaml:"read_timeout"`
	WriteTimeout    time.Duration `yaml:"write_timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// RatePerSecond and RateBurst bound the requests of one API key (or, without a key, one
	// client address): a token bucket per caller.
	RatePerSecond float64 `yaml:"rate_per_second"`
	RateBurst     int     `yaml:"rate_burst"`
	// FailedAuthPerSecond bounds failed authentications (unknown, revoked or wrong keys) per
	// client address, and FailedAuthGlobalPerSecond those of all addresses together: guesses
	// cost a database lookup each, and an address can change its key ids at will.
	FailedAuthPerSecond       float64 `yaml:"failed_auth_per_second"`
	FailedAuthGlobalPerSecond float64 `yaml:"failed_auth_global_per_second"`
	// TrustedProxies are the addresses or CIDR ranges of reverse proxies whose
	// X-Forwarded-For and X-Real-IP headers name the client; empty trusts none, and the
	// client address is the connection's.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// AdminSessionIdle ends an admin console session unused this long, and AdminSessionMax
	// ends it this long after login however it is used.
	AdminSessionIdle time.Duration `yaml:"admin_session_idle"`
	AdminSessionMax  time.Duration `yaml:"admin_session_max"`
	// AdminSecureCookie marks the session cookie Secure even when the request came without
	// TLS: for a registry behind a reverse proxy that terminates TLS.
	AdminSecureCookie bool `yaml:"admin_secure_cookie"`
}

// Database selects SQLite (the default) or PostgreSQL (when DSN is set).
type Database struct {
	// SQLitePath is the SQLite file, relative to DataDir unless absolute.
	SQLitePath string `yaml:"sqlite_path"`
	// DSN is a PostgreSQL connection string; when set, PostgreSQL is used.
	DSN string `yaml:"dsn"`
	// Schema is the PostgreSQL schema holding every table (created if missing); empty means
	// the connection's search_path.
	Schema string `yaml:"schema"`
	// SQLiteSynchronous is SQLite's synchronous pragma: "full" makes every acknowledged
	// write survive power loss; "normal" (WAL) survives a crash of the process only.
	SQLiteSynchronous string `yaml:"sqlite_synchronous"`
}

// Log is the transparency log on local disk.
type Log struct {
	Dir    string `yaml:"dir"`
	Origin string `yaml:"origin"`
	// KeyFile or KeyEnv hold the checkpoint signing key (signed-note private key whose name
	// is Origin). When both are empty, KeyFile defaults to keys/log.key under DataDir and
	// is generated on first start.
	KeyFile string `yaml:"key_file"`
	KeyEnv  string `yaml:"key_env"`
	// CheckpointInterval is how often a checkpoint is published.
	CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
	// Witnesses are asked to cosign every checkpoint (C2SP tlog-witness); a checkpoint is
	// published only once WitnessQuorum of them have. They are set in the YAML file only:
	// a list has no COMET_LOG_WITNESSES environment form. The trust root's witness policy is
	// these keys and this quorum.
	Witnesses     []Witness `yaml:"witnesses"`
	WitnessQuorum int       `yaml:"witness_quorum"`
	// WitnessTimeout bounds one round of asking the witnesses for a checkpoint.
	WitnessTimeout time.Duration `yaml:"witness_timeout"`
}

// Witness is one witness of the log.
type Witness struct {
	// Name labels the witness in logs and metrics; default the name in Key.
	Name string `yaml:"name"`
	// URL is the witness's tlog-witness base URL (http or https); checkpoints are posted to
	// URL/add-checkpoint.
	URL string `yaml:"url"`
	// Key is the witness's signed-note verifier key (Ed25519), used as a cosignature/v1 key.
	Key string `yaml:"key"`
}

// Registry is the registry's own identity and published key set.
type Registry struct {
	// Name is the signed-note name of the attestation key generated on first start.
	Name string `yaml:"name"`
	// KeyFile or KeyEnv hold the attestation signing key, as for Log.
	KeyFile string `yaml:"key_file"`
	KeyEnv  string `yaml:"key_env"`
	// CircuitKeysDir holds the published proving and verifying keys, one directory per
	// circuit id. Proofs are verified only against these keys.
	CircuitKeysDir string `yaml:"circuit_keys_dir"`
	// MaxRelativeGradient is the loosest optimality the registry attests: the largest
	// gradient bound a proof may state relative to the scale of its data. A proof whose
	// tolerance allows more says too little about the weights to be worth attesting.
	MaxRelativeGradient float64 `yaml:"max_relative_gradient"`
	// RequireCeremony refuses to publish circuit keys that did not come from a multi-party
	// ceremony with at least MinCeremonyContributions contributions to each phase.
	RequireCeremony          bool `yaml:"require_ceremony"`
	MinCeremonyContributions int  `yaml:"min_ceremony_contributions"`
}

// Jobs tunes the River job queue.
type Jobs struct {
	Workers      int           `yaml:"workers"`
	PollInterval time.Duration `yaml:"poll_interval"`
	MaxAttempts  int           `yaml:"max_attempts"`
	JobTimeout   time.Duration `yaml:"job_timeout"`
	RescueAfter  time.Duration `yaml:"rescue_after"`
	// Heartbeat and StaleAfter recover, on PostgreSQL, the submissions of a worker that
	// died: a verifying job renews its lease every Heartbeat, and a lease not renewed for
	// StaleAfter is requeued by a live process, long before RescueAfter.
	Heartbeat  time.Duration `yaml:"heartbeat"`
	StaleAfter time.Duration `yaml:"stale_after"`
}

// Anchor configures anchoring on Starknet; it is off unless RPCURL is set.
type Anchor struct {
	RPCURL     string        `yaml:"rpc_url"`
	ChainID    string        `yaml:"chain_id"`
	Contract   string        `yaml:"contract"`
	Account    string        `yaml:"account"`
	KeyFile    string        `yaml:"key_file"`
	KeyEnv     string        `yaml:"key_env"`
	Interval   time.Duration `yaml:"interval"`
	MaxEntries int           `yaml:"max_entries"`
}

// Trust configures the trust root the registry publishes: a chain of signed versions, each
// signed by the root key of the one before (docs/attestation.md).
type Trust struct {
	// The root key signs trust root versions; default keys/root.key, generated on first start.
	RootKeyFile string `yaml:"root_key_file"`
	RootKeyEnv  string `yaml:"root_key_env"`
	// PreviousRootKeyFile or PreviousRootKeyEnv names the root key of the newest version when
	// the root key is being rotated: it signs the hand-over to the new key.
	PreviousRootKeyFile string `yaml:"previous_root_key_file"`
	PreviousRootKeyEnv  string `yaml:"previous_root_key_env"`
	// Expiry is how long a version is valid; a new one is issued when half of it has passed.
	Expiry time.Duration `yaml:"expiry"`
}

// Default is the configuration before any file or environment variable is applied.
func Default() Config {
	return Config{
		Server: Server{
			Addr:            "127.0.0.1:8080",
			MaxBodyBytes:    8 << 20,
			ReadTimeout:     30 * time.Second,
			WriteTimeout:    60 * time.Second,
			ShutdownTimeout: 15 * time.Second,
			RatePerSecond:   50,
			RateBurst:       100,

			FailedAuthPerSecond:       2,
			FailedAuthGlobalPerSecond: 100,
			TrustedProxies:            []string{},
			AdminSessionIdle:          12 * time.Hour,
			AdminSessionMax:           7 * 24 * time.Hour,
		},
		DataDir:  "./comet-data",
		Database: Database{SQLitePath: "comet.db", SQLiteSynchronous: "full"},
		Log: Log{
			Dir:                "log",
			Origin:             "comet.localhost/log",
			CheckpointInterval: 200 * time.Millisecond,
			Witnesses:          []Witness{}, // as `witnesses: []` in config.yaml decodes
			WitnessTimeout:     5 * time.Second,
		},
		Registry: Registry{Name: "comet.localhost", CircuitKeysDir: "circuits", MaxRelativeGradient: 1e-3, MinCeremonyContributions: 2},
		Jobs: Jobs{
			Workers:      4,
			PollInterval: 50 * time.Millisecond,
			MaxAttempts:  10,
			JobTimeout:   5 * time.Minute,
			RescueAfter:  10 * time.Minute,
			Heartbeat:    2 * time.Second,
			StaleAfter:   15 * time.Second,
		},
		Anchor: Anchor{Interval: 10 * time.Minute, MaxEntries: 1000},
		Trust:  Trust{Expiry: 365 * 24 * time.Hour},
	}
}

// Load reads the defaults, the YAML file at path (skipped when path is empty) and the
// environment (through getenv, normally os.Getenv), and validates the result.
func Load(path string, getenv func(string) string) (Config, error) {
	c := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("read config: %w", err)
		}
		if err := c.parseYAML(b); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(reflect.ValueOf(&c).Elem(), "COMET", getenv); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate rejects settings that cannot work together.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...))
	}
	if c.Server.Addr == "" {
		bad("server.addr is empty")
	}
	if c.Server.MaxBodyBytes < 1024 {
		bad("server.max_body_bytes %d is below 1024", c.Server.MaxBodyBytes)
	}
	if c.Server.RatePerSecond <= 0 || c.Server.RateBurst < 1 {
		bad("server.rate_per_second and server.rate_burst must be positive")
	}
	if c.Server.FailedAuthPerSecond <= 0 || c.Server.FailedAuthGlobalPerSecond < c.Server.FailedAuthPerSecond {
		bad("server.failed_auth_per_second %g must be positive and at most server.failed_auth_global_per_second %g", c.Server.FailedAuthPerSecond, c.Server.FailedAuthGlobalPerSecond)
	}
	if c.Server.AdminSessionIdle <= 0 || c.Server.AdminSessionMax < c.Server.AdminSessionIdle {
		bad("server.admin_session_idle %s must be positive and at most server.admin_session_max %s", c.Server.AdminSessionIdle, c.Server.AdminSessionMax)
	}
	for _, p := range c.Server.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			bad("server.trusted_proxies: %q is neither an IP address nor a CIDR range", p)
		}
	}
	if c.DataDir == "" {
		bad("data_dir is empty")
	}
	switch c.Database.SQLiteSynchronous {
	case "full", "normal":
	default:
		bad("database.sqlite_synchronous %q is neither full nor normal", c.Database.SQLiteSynchronous)
	}
	if c.Log.Origin == "" || strings.ContainsAny(c.Log.Origin, " +\n") {
		bad("log.origin %q must be non-empty with no spaces or '+'", c.Log.Origin)
	}
	if c.Log.CheckpointInterval < 100*time.Millisecond {
		bad("log.checkpoint_interval %s is below tessera's 100ms minimum", c.Log.CheckpointInterval)
	}
	for _, err := range c.Log.validateWitnesses() {
		bad("%w", err)
	}
	if c.Registry.Name == "" || strings.ContainsAny(c.Registry.Name, " +\n") {
		bad("registry.name %q must be non-empty with no spaces or '+'", c.Registry.Name)
	}
	// Written so that NaN, which no comparison satisfies, is refused too.
	if g := c.Registry.MaxRelativeGradient; !(g > 0) || math.IsInf(g, 1) {
		bad("registry.max_relative_gradient %g must be positive and finite", g)
	}
	if c.Jobs.Workers < 1 || c.Jobs.MaxAttempts < 1 || c.Jobs.PollInterval <= 0 {
		bad("jobs.workers, jobs.max_attempts and jobs.poll_interval must be positive")
	}
	if c.Jobs.RescueAfter <= c.Jobs.JobTimeout {
		bad("jobs.rescue_after %s must be longer than jobs.job_timeout %s", c.Jobs.RescueAfter, c.Jobs.JobTimeout)
	}
	// Three missed beats before a live worker's lease looks dead: a pause of one beat (a
	// slow transaction, a GC) must not hand its submission to a second worker.
	if c.Jobs.Heartbeat <= 0 || c.Jobs.StaleAfter < 3*c.Jobs.Heartbeat {
		bad("jobs.heartbeat %s must be positive and jobs.stale_after %s at least three heartbeats", c.Jobs.Heartbeat, c.Jobs.StaleAfter)
	}
	if c.Anchor.RPCURL != "" && (c.Anchor.Contract == "" || c.Anchor.Account == "" || (c.Anchor.KeyFile == "" && c.Anchor.KeyEnv == "")) {
		bad("anchor.rpc_url is set: anchor.contract, anchor.account and anchor.key_file or anchor.key_env are needed too")
	}
	return errors.Join(errs...)
}

// validateWitnesses checks the witness policy: each witness's URL and key, names and keys
// unique (and none the log's origin, which names the log's own signature), the quorum.
func (l *Log) validateWitnesses() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if q := l.WitnessQuorum; q < 0 || q > len(l.Witnesses) {
		bad("log.witness_quorum %d is outside 0..%d (the number of log.witnesses)", q, len(l.Witnesses))
	}
	if l.WitnessTimeout <= 0 {
		bad("log.witness_timeout %s must be positive", l.WitnessTimeout)
	}
	names, keyNames, urls := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i, w := range l.Witnesses {
		field := fmt.Sprintf("log.witnesses[%d]", i)
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			bad("%s.url %q must be an http:// or https:// URL without query or fragment", field, w.URL)
		} else if urls[strings.TrimSuffix(w.URL, "/")] {
			bad("%s.url %q is listed twice", field, w.URL)
		} else {
			urls[strings.TrimSuffix(w.URL, "/")] = true
		}
		v, err := f_note.NewVerifierForCosignatureV1(w.Key)
		if err != nil {
			bad("%s.key %q is not a signed-note verifier key usable for cosignature/v1: %v", field, w.Key, err)
			continue
		}
		switch {
		case v.Name() == l.Origin:
			bad("%s.key is named %q, the log's own origin", field, v.Name())
		case keyNames[v.Name()]:
			bad("%s.key: a witness key named %q is listed twice", field, v.Name())
		}
		keyNames[v.Name()] = true
		name := w.Name
		if name == "" {
			name = v.Name()
		}
		if names[name] {
			bad("%s.name %q is not unique", field, name)
		}
		names[name] = true
	}
	return errs
}

// Postgres reports whether the registry uses PostgreSQL.
func (c *Config) Postgres() bool { return c.Database.DSN != "" }

// Path resolves p against DataDir: absolute paths are kept, relative ones are under it.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.DataDir, p)
}

// applyEnv overrides every field of v whose variable is set: prefix_YAMLKEY, upper-cased,
// recursing into sections.
func applyEnv(v reflect.Value, prefix string, getenv func(string) string) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key := strings.Split(f.Tag.Get("yaml"), ",")[0]
		name := prefix + "_" + strings.ToUpper(key)
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
			// A list of sections (log.witnesses) is set in the YAML file only.
			if getenv(name) != "" {
				return fmt.Errorf("%w: %s is set, but %s is a list: set it in the config file", ErrInvalid, name, key)
			}
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			if err := applyEnv(fv, name, getenv); err != nil {
				return err
			}
			continue
		}
		s := getenv(name)
		if s == "" {
			continue
		}
		if err := setValue(fv, s); err != nil {
			return fmt.Errorf("%w: %s=%q: %w", ErrInvalid, name, s, err)
		}
	}
	return nil
}

func setValue(v reflect.Value, s string) error {
	switch {
	case v.Type() == reflect.TypeFor[time.Duration]():
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case v.Kind() == reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		v.SetFloat(x)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}
