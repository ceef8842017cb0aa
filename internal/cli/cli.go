// Package cli implements canhgac's subcommands: the control plane (serve)
// and the offline commands operators script against.
package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// Version is set at build time with -ldflags "-X canhgac/internal/cli.Version=…".
var Version = "dev"

// version returns the build version, falling back to the module's VCS stamp.
func version() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return Version
}

// Env carries a command's streams, so tests can run commands in-process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

type command struct {
	name, summary string
	run           func(env *Env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the control plane: JSON API and web UI", runServe},
		{"user", "manage users: user add | user list | user passwd", runUser},
		{"token", "manage API tokens: token create", runToken},
		{"migrate", "bring the database schema up to date and exit", runMigrate},
		{"page", "judge a saved web page for defacement: page check", runPage},
		{"agent", "the endpoint agent: agent enroll | agent run | agent status", runAgent},
		{"ransom", "watch folders for ransomware without a server: ransom watch --dir D …", runRansom},
		{"inventory", "print this machine's software and host inventory (--json)", runInventory},
		{"bench", "measure this machine: bench webmon --sites N … | bench agents --count N …", runBench},
		{"version", "print the build version", runVersion},
		{"help", "list the subcommands", nil},
	}
}

// Main runs the command line and returns the process exit code.
func Main(env *Env, args []string) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 {
		usage(env.Stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	if name == "help" || name == "-h" || name == "--help" {
		usage(env.Stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			err := c.run(env, rest)
			if err == flag.ErrHelp {
				return 0
			}
			if err != nil {
				fmt.Fprintf(env.Stderr, "canhgac %s: %v\n", name, err)
				if _, ok := err.(usageError); ok {
					return 2
				}
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(env.Stderr, "canhgac: unknown command %q\n\n", name)
	usage(env.Stderr)
	return 2
}

type usageError string

func (e usageError) Error() string { return string(e) }

func usage(w io.Writer) {
	fmt.Fprintf(w, "canhgac %s — security operations for a province's agencies\n\nUsage: canhgac <command> [flags]\n\nCommands:\n", version())
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'canhgac <command> -h' for a command's flags. Flags may also be set as CANHGAC_<FLAG> environment variables.\n")
}

func runVersion(env *Env, args []string) error {
	fmt.Fprintf(env.Stdout, "canhgac %s\n", version())
	return nil
}

// newFlags builds a flag set whose defaults can come from CANHGAC_* variables.
func newFlags(env *Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("canhgac "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// envDefault returns CANHGAC_<NAME> (NAME upper-cased, '-' as '_') or def.
func envDefault(env *Env, name, def string) string {
	if v := env.Getenv("CANHGAC_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); v != "" {
		return v
	}
	return def
}

// storageFlags are the flags every command that opens the database shares.
type storageFlags struct {
	data, db string
}

func (s *storageFlags) register(env *Env, fs *flag.FlagSet) {
	fs.StringVar(&s.data, "data", envDefault(env, "data", "./canhgac-data"), "data directory (SQLite database, TLS certificate)")
	fs.StringVar(&s.db, "db", envDefault(env, "db", ""), "PostgreSQL URL (postgres://…); empty uses SQLite in the data directory")
}
