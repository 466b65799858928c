// Package config loads the configuration of `comet serve` and the other registry commands:
// the built-in defaults, then a YAML file (config.yaml at the repository root is the embedded
// default set-up), then environment variables COMET_<SECTION>_<KEY> (COMET_<KEY> for top-level
// keys), each overriding the one before.
//
// The file is read strictly: an unknown key is an error, so a typo is not silently ignored.
// Secrets are never values here: key settings name the file or the environment variable
// that holds the key. The package does not open databases or create directories; Resolve
// only turns relative paths into paths under the data directory.
package config
