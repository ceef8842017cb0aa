package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"canhgac/internal/agent"
)

const agentServiceUsage = `Usage:
  canhgac agent install [--state FILE] [--queue DIR] [--no-start] [--root DIR]
  canhgac agent uninstall [--root DIR]

install makes "canhgac agent run" a system service that starts at boot
and is restarted when it fails: the systemd unit canhgac-agent.service on
Linux (written to /etc/systemd/system, then enabled and started with
systemctl), the service canhgac-agent on Windows. It runs this executable
where it is now; enroll first. --root writes the unit under DIR instead
of / and runs no systemctl. uninstall stops and removes the service and
keeps the agent's state.
`

// runAgentInstall is `canhgac agent install`.
func runAgentInstall(env *Env, fs *flag.FlagSet, state *string, args []string) error {
	fs.Usage = func() { fmt.Fprint(env.Stderr, agentServiceUsage) }
	queue := fs.String("queue", envDefault(env, "agent-queue", filepath.Join(defaultAgentDir(), "queue")), "directory of the on-disk event queue")
	noStart := fs.Bool("no-start", false, "install and enable the service, but do not start it now")
	root := fs.String("root", "", "write the systemd unit under this directory instead of / and run no systemctl")
	if err := parseServiceFlags(fs, args); err != nil {
		return err
	}
	where, err := agent.InstallService(agent.InstallOptions{State: *state, Queue: *queue, Root: *root, NoStart: *noStart, Out: env.Stdout})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "agent service installed (%s)\n", where)
	return nil
}

// runAgentUninstall is `canhgac agent uninstall`.
func runAgentUninstall(env *Env, fs *flag.FlagSet, args []string) error {
	fs.Usage = func() { fmt.Fprint(env.Stderr, agentServiceUsage) }
	root := fs.String("root", "", "remove the systemd unit under this directory instead of / and run no systemctl")
	if err := parseServiceFlags(fs, args); err != nil {
		return err
	}
	return agent.UninstallService(agent.InstallOptions{Root: *root, Out: env.Stdout})
}

func parseServiceFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError(err.Error())
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return usageError(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	return nil
}

// runAgentSupervised runs a under a resource watchdog (10% of a core,
// 150 MiB): its figures go into each heartbeat, and inventory collection
// and tasks wait while the agent is over a limit. Started by the Windows
// service control manager (asService, or detected), the agent runs as
// that service; otherwise until SIGINT or SIGTERM.
func runAgentSupervised(a *agent.Agent, asService bool) error {
	wd := &agent.Watchdog{}
	prev := a.Status
	a.Status = func() map[string]any {
		st := map[string]any{}
		if prev != nil {
			st = prev()
		}
		st["watchdog"] = wd.Status()
		return st
	}
	if a.Inventory != nil {
		a.Inventory = agent.Gate(wd, a.Inventory)
	}
	a.Tasks = wd.GateTasks(a.Tasks)
	run := func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go wd.Run(ctx)
		return a.Run(ctx)
	}
	if handled, err := agent.RunService(agent.ServiceName, run, asService); handled {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	return run(ctx)
}
