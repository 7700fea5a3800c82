// Package platform is shopd's plumbing with no business rules: configuration
// from flags and environment, logging.
package platform

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Env reads configuration from SHOPD_* variables. A value may also come from
// a file named by the variable with a _FILE suffix (SHOPD_DATABASE_URL_FILE),
// the way Kubernetes and Vault agents hand out secrets.
type Env func(key string) string

// Lookup returns the value of key, or of the file named by key_FILE.
func (env Env) Lookup(key string) (string, error) {
	if v := env(key); v != "" {
		return v, nil
	}
	if path := env(key + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", key, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// Flags binds flags whose defaults come from the environment, so that a
// flag on the command line wins over SHOPD_* and SHOPD_* wins over the
// built-in default. Errors in the environment are collected and reported by
// Parse with the variable's name.
type Flags struct {
	*flag.FlagSet
	env  Env
	errs []error
}

// NewFlags returns a flag set for a command.
func NewFlags(name string, env Env) *Flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return &Flags{FlagSet: fs, env: env}
}

func (f *Flags) fromEnv(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	v, err := f.env.Lookup(key)
	if err != nil {
		f.errs = append(f.errs, err)
		return "", false
	}
	return v, v != ""
}

// String binds a string flag with an environment variable.
func (f *Flags) String(name, key, def, usage string) *string {
	builtin := def
	if v, ok := f.fromEnv(key); ok {
		def = v
	}
	return hideEnv(f, name, builtin, f.FlagSet.String(name, def, usageWithEnv(usage, key)))
}

// hideEnv makes the help show a flag's built-in default, never the value
// it took from the environment: that may be a secret (a Stripe key, a
// database URL with its password), and help output ends up in logs.
func hideEnv[T any](f *Flags, name string, builtin any, p *T) *T {
	f.Lookup(name).DefValue = fmt.Sprint(builtin)
	return p
}

// Int binds an integer flag with an environment variable.
func (f *Flags) Int(name, key string, def int, usage string) *int {
	builtin := def
	if v, ok := f.fromEnv(key); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: not an integer", key, v))
		}
		def = n
	}
	return hideEnv(f, name, builtin, f.FlagSet.Int(name, def, usageWithEnv(usage, key)))
}

// Bool binds a boolean flag with an environment variable.
func (f *Flags) Bool(name, key string, def bool, usage string) *bool {
	builtin := def
	if v, ok := f.fromEnv(key); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: not a boolean (true/false)", key, v))
		}
		def = b
	}
	return hideEnv(f, name, builtin, f.FlagSet.Bool(name, def, usageWithEnv(usage, key)))
}

// Duration binds a duration flag with an environment variable.
func (f *Flags) Duration(name, key string, def time.Duration, usage string) *time.Duration {
	builtin := def
	if v, ok := f.fromEnv(key); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: not a duration (like 30s)", key, v))
		}
		def = d
	}
	return hideEnv(f, name, builtin, f.FlagSet.Duration(name, def, usageWithEnv(usage, key)))
}

// Parse parses the arguments after reporting any bad environment value.
func (f *Flags) Parse(args []string) error {
	if len(f.errs) > 0 {
		return errors.Join(f.errs...)
	}
	return f.FlagSet.Parse(args)
}

func usageWithEnv(usage, key string) string {
	if key == "" {
		return usage
	}
	return usage + " (env " + key + ")"
}

// Database says where shopd keeps its data; the fields are bound to flags.
type Database struct {
	DataDir *string
	URL     *string
}

// BindDatabase adds --data-dir and --database-url to a command.
func BindDatabase(f *Flags) Database {
	return Database{
		DataDir: f.String("data-dir", "SHOPD_DATA_DIR", "./shopd-data", "directory of the embedded SQLite store"),
		URL:     f.String("database-url", "SHOPD_DATABASE_URL", "", "PostgreSQL URL (postgres://…); empty uses SQLite in --data-dir"),
	}
}

// Source returns the store to open: --database-url if set, else the SQLite
// file in the data directory.
func (d Database) Source() string {
	if *d.URL != "" {
		return *d.URL
	}
	return filepath.Join(*d.DataDir, "shopd.db")
}

// Validate checks the database settings.
func (d Database) Validate() error {
	if u := *d.URL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		return errors.New("--database-url must start with postgres:// or postgresql:// (leave it empty for the embedded SQLite store)")
	}
	if *d.URL == "" && *d.DataDir == "" {
		return errors.New("--data-dir must not be empty")
	}
	return nil
}

// ValidateAddr checks a HOST:PORT listen address.
func ValidateAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q must be HOST:PORT, like 127.0.0.1:8080: %v", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("--addr %q: port must be a number from 0 to 65535", addr)
	}
	if host == "" {
		return fmt.Errorf("--addr %q: give a host, like 127.0.0.1 or 0.0.0.0", addr)
	}
	return nil
}
