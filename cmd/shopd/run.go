package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/platform"
)

// command is a shopd subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, c *cli, args []string) error
}

// cli is what every command gets from run: the environment and the
// standard streams, so tests can drive commands in-process.
type cli struct {
	env    platform.Env
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func commands() []command {
	return []command{
		{"serve", "run the API server (and background workers)", serveCmd},
		{"migrate", "apply database migrations and exit", migrateCmd},
		{"seed", "fill the store with a realistic catalog and customers", seedCmd},
		{"admin", "staff tasks: admin create-key --role ROLE", adminCmd},
		{"inventory", "stock tasks: inventory import FILE.csv", inventoryCmd},
		{"payments", "payment tasks: payments reconcile", paymentsCmd},
		{"bill", "run the subscription renewals and dunning retries that are due", billCmd},
		{"allocate", "allocate a box plan's period: allocate --plan P --period YYYY-MM", allocateCmd},
		{"backup", "write a consistent online backup: backup --to FILE", backupCmd},
		{"restore", "restore a backup into an empty store: restore --from FILE", restoreCmd},
		{"loadtest", "drive a running shopd over HTTP: loadtest browse|catalog|drop|renewals|mixed --target URL", loadtestCmd},
		{"reference-server", "serve the fixed 1 KB JSON that loadtest catalog compares the storefront with", referenceServerCmd},
		{"version", "print the version", versionCmd},
	}
}

// usageError is a mistake in how a command was called (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError.
func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// run runs the shopd command line and returns the process exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{env: platform.Env(getenv), stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		c.usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, cmd := range commands() {
		if cmd.name != args[0] {
			continue
		}
		err := cmd.run(ctx, c, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(*usageError)):
			fmt.Fprintf(stderr, "shopd %s: %v\nRun `shopd %s -h` for help.\n", cmd.name, err, cmd.name)
			return 2
		default:
			fmt.Fprintf(stderr, "shopd %s: %v\n", cmd.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "shopd: unknown command %q\n\n", args[0])
	c.usage()
	return 2
}

func (c *cli) usage() {
	var b strings.Builder
	b.WriteString("shopd — commerce for subscriptions and product drops.\n\nUsage: shopd COMMAND [flags]\n\nCommands:\n")
	for _, cmd := range commands() {
		fmt.Fprintf(&b, "  %-8s %s\n", cmd.name, cmd.summary)
	}
	b.WriteString("\nRun `shopd COMMAND -h` for a command's flags. Every flag can also be set\nwith its SHOPD_* environment variable (flags win), or read from a file named\nby SHOPD_*_FILE.\n")
	fmt.Fprint(c.stderr, b.String())
}

// flags returns a flag set for a command with its usage text.
func (c *cli) flags(name, synopsis, about string) *platform.Flags {
	f := platform.NewFlags("shopd "+name, c.env)
	f.SetOutput(c.stderr)
	f.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: shopd %s %s\n\n%s\n\nFlags:\n", name, synopsis, about)
		f.PrintDefaults()
	}
	return f
}

// parse parses flags, turning problems into usage errors.
func parse(f *platform.Flags, args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if f.NArg() > 0 {
		return usagef("unexpected argument %q", f.Arg(0))
	}
	return nil
}

func versionCmd(ctx context.Context, c *cli, args []string) error {
	f := c.flags("version", "", "Prints the shopd version.")
	if err := parse(f, args); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "shopd %s %s %s/%s\n", shopd.BuildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
