package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"canhgac/internal/agent"
	"canhgac/internal/agent/spool"
	"canhgac/internal/fleet"
	"canhgac/internal/inventory"
)

const agentUsage = `Usage:
  canhgac agent enroll --server URL --token T [--server-fingerprint SHA256] [--state FILE]
  canhgac agent run [--state FILE] [--queue DIR]
  canhgac agent status [--state FILE]
  canhgac agent install [--state FILE] [--queue DIR] [--no-start] [--root DIR]
  canhgac agent uninstall

enroll registers this machine with a canhgac server using an enrollment
token from its web UI or API, and pins the server's certificate: give its
SHA-256 fingerprint (printed by "canhgac serve --tls-auto"), or the server
must have a certificate this machine trusts. The agent's secret is saved
in the state file with mode 0600.

run keeps the agent connected: heartbeats, signed tasks, queued events.
It holds itself to 10% of a core and 150 MiB: over either, inventory and
tasks wait. install makes run a system service (systemd or Windows).
`

// defaultAgentDir is where the agent keeps its state.
func defaultAgentDir() string {
	if runtime.GOOS == "windows" {
		if pd := os.Getenv("ProgramData"); pd != "" {
			return filepath.Join(pd, "canhgac")
		}
		return `C:\ProgramData\canhgac`
	}
	return "/var/lib/canhgac-agent"
}

func runAgent(env *Env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, agentUsage)
		return usageError("agent needs a subcommand: enroll, run, status, install or uninstall")
	}
	fs := newFlags(env, "agent "+args[0])
	fs.Usage = func() { fmt.Fprint(env.Stderr, agentUsage) }
	state := fs.String("state", envDefault(env, "agent-state", filepath.Join(defaultAgentDir(), "agent.json")), "the agent's state file (holds its secret)")
	switch args[0] {
	case "enroll":
		server := fs.String("server", envDefault(env, "agent-server", ""), "the canhgac server's URL, https://…")
		token := fs.String("token", envDefault(env, "agent-token", ""), "an enrollment token (cge_…)")
		fp := fs.String("server-fingerprint", envDefault(env, "agent-server-fingerprint", ""), "SHA-256 fingerprint of the server's certificate")
		insecure := fs.Bool("insecure-http", false, "allow a plain http:// server (testing only: the secret travels in clear)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *server == "" || *token == "" {
			return usageError("agent enroll needs --server and --token")
		}
		if *fp != "" {
			if _, err := agent.NormalizeFingerprint(*fp); err != nil {
				return usageError("--server-fingerprint: " + err.Error())
			}
		}
		ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer cancel()
		inv, err := inventory.Collect(ctx, inventory.Options{})
		if err != nil {
			return err
		}
		h := inv.Host
		if h.MachineID == "" {
			return errors.New("this machine has no machine id (/etc/machine-id); create one with systemd-machine-id-setup")
		}
		st, err := agent.Enroll(ctx, agent.EnrollOptions{Server: *server, Token: *token, Fingerprint: *fp, AllowHTTP: *insecure,
			Host: fleet.EnrollRequest{MachineID: h.MachineID, Hostname: h.Hostname, OSName: h.OSName, OSVersion: h.OSVersion, Arch: h.Arch, Version: version()}})
		if err != nil {
			return err
		}
		if err := st.Save(*state); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "enrolled as agent %d with %s (certificate %s pinned); state in %s\n", st.AgentID, agent.ServerHost(st.Server), st.Fingerprint, *state)
		return nil
	case "run":
		queue := fs.String("queue", envDefault(env, "agent-queue", filepath.Join(defaultAgentDir(), "queue")), "directory of the on-disk event queue")
		asService := fs.Bool("service", false, "run as the Windows service (agent install puts this in the service's command line)")
		var rf ransomFlags
		rf.register(env, fs)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		st, err := agent.LoadState(*state)
		if err != nil {
			return err
		}
		c, err := agent.NewClient(st.Server, st.Fingerprint, st.Secret, nil, st.Fingerprint == "")
		if err != nil {
			return err
		}
		defer c.Close()
		sp, err := spool.Open(*queue, spool.Options{})
		if err != nil {
			return err
		}
		defer sp.Close()
		log := slog.New(slog.NewJSONHandler(env.Stderr, nil))
		collect := func(ctx context.Context) (*inventory.Inventory, error) {
			return inventory.Collect(ctx, inventory.Options{})
		}
		a := &agent.Agent{State: st, Client: c, Spool: sp, Version: version(), Log: log, Inventory: collect,
			InventoryFile: filepath.Join(filepath.Dir(*state), "inventory-sent.json")}
		a.Tasks = map[string]agent.TaskFunc{fleet.TaskInventory: a.InventoryTask(collect)}
		log.Info("agent running", "server", agent.ServerHost(st.Server), "agent", st.AgentID)
		stop := rf.start(a, log, filepath.Dir(*state), filepath.Dir(*queue))
		defer stop()
		return runAgentSupervised(a, *asService)
	case "install":
		return runAgentInstall(env, fs, state, args[1:])
	case "uninstall":
		return runAgentUninstall(env, fs, args[1:])
	case "status":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		st, err := agent.LoadState(*state)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "agent %d of agency %d, server %s, certificate %s, heartbeat %d s\n", st.AgentID, st.AgencyID, st.Server, st.Fingerprint, st.HeartbeatSeconds)
		return nil
	}
	fmt.Fprint(env.Stderr, agentUsage)
	return usageError(fmt.Sprintf("unknown agent subcommand %q", args[0]))
}

// runInventory prints this machine's inventory.
func runInventory(env *Env, args []string) error {
	fs := newFlags(env, "inventory")
	root := fs.String("root", "/", "inventory the file tree at this root (a mounted image) instead of this machine")
	asJSON := fs.Bool("json", false, "print the whole inventory as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	inv, err := inventory.Collect(context.Background(), inventory.Options{Root: *root})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(inv)
	}
	h := inv.Host
	fmt.Fprintf(env.Stdout, "%s: %s %s (%s), kernel %s, %d CPUs, %d MiB\n%d packages\n", h.Hostname, h.OSName, h.OSVersion, h.Arch, h.Kernel, h.CPUs, h.MemTotalMB, len(inv.Packages))
	for _, e := range inv.Errors {
		fmt.Fprintf(env.Stdout, "warning: %s\n", e)
	}
	return nil
}
