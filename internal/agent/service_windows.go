package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// ServiceName is the name of the agent's system service (systemd unit
// canhgac-agent.service, Windows service canhgac-agent).
const ServiceName = "canhgac-agent"

// InstallOptions say how to install the agent as a system service.
type InstallOptions struct {
	Exe   string // the canhgac binary; default: this executable
	State string // --state for `agent run`
	Queue string // --queue for `agent run`
	// Root writes a systemd unit under a directory; not on Windows.
	Root    string
	NoStart bool      // install, but do not start now
	Out     io.Writer // progress messages; nil: none
}

// RunService runs run under the service control manager when this
// process was started by it (handled=true), cancelling run's context when
// the service is asked to stop or the machine shuts down. Started any
// other way, it returns handled=false and the caller runs the agent
// itself. forced (the --service that InstallService puts on the service's
// command line) skips the guess: svc.IsWindowsService looks for a parent
// services.exe in session 0, which another service manager (Wine's) does
// not give.
func RunService(name string, run func(ctx context.Context) error, forced bool) (handled bool, err error) {
	if !forced {
		isSvc, err := svc.IsWindowsService()
		if err != nil {
			return false, fmt.Errorf("cannot tell whether this is a Windows service: %w", err)
		}
		if !isSvc {
			return false, nil
		}
	}
	h := &serviceHandler{run: run}
	if err := svc.Run(name, h); err != nil {
		return true, err
	}
	return true, h.err
}

type serviceHandler struct {
	run func(ctx context.Context) error
	err error
}

// Execute is called by svc.Run: it starts the agent and answers the
// service control manager until the agent ends or is told to stop.
func (h *serviceHandler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.run(ctx) }()
	const accepts = svc.AcceptStop | svc.AcceptShutdown
	status <- svc.Status{State: svc.Running, Accepts: accepts}
	for {
		select {
		case err := <-done:
			// The agent stopped on its own (revoked, or a fatal error):
			// a non-zero exit code lets the recovery actions restart it.
			h.err = err
			if err != nil {
				return true, 1
			}
			return false, 0
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending, WaitHint: 20000}
				cancel()
				select {
				case h.err = <-done:
				case <-time.After(20 * time.Second):
					h.err = errors.New("the agent did not stop within 20 s")
				}
				return false, 0
			}
		}
	}
}

// InstallService installs the agent as the automatically started Windows
// service canhgac-agent, restarted by the service control manager when it
// fails, and starts it unless NoStart. It returns the service's name.
func InstallService(opt InstallOptions) (string, error) {
	if opt.Root != "" {
		return "", errors.New("--root writes a systemd unit; it has no meaning on Windows")
	}
	exe := opt.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return "", fmt.Errorf("cannot find this executable: %w", err)
		}
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	var err error
	if exe, err = filepath.Abs(exe); err != nil {
		return "", err
	}
	state, queue := opt.State, opt.Queue
	if state == "" || queue == "" {
		return "", errors.New("agent install needs the state file and queue directory")
	}
	if state, err = filepath.Abs(state); err != nil {
		return "", err
	}
	if queue, err = filepath.Abs(queue); err != nil {
		return "", err
	}
	if _, err := os.Stat(state); err != nil {
		return "", fmt.Errorf("no agent state at %s: run `canhgac agent enroll` first (%v)", state, err)
	}
	m, err := mgr.Connect()
	if err != nil {
		return "", adminHint(err)
	}
	defer m.Disconnect()
	if s, err := m.OpenService(ServiceName); err == nil {
		s.Close()
		return "", fmt.Errorf("the service %s is already installed; run `canhgac agent uninstall` first", ServiceName)
	}
	cfg := mgr.Config{
		DisplayName: "canhgac endpoint agent",
		Description: "Reports this machine's inventory and events to the canhgac server and runs its signed tasks.",
		StartType:   mgr.StartAutomatic,
	}
	s, err := m.CreateService(ServiceName, exe, cfg, "agent", "run", "--service", "--state", state, "--queue", queue)
	if err != nil {
		return "", adminHint(err)
	}
	defer s.Close()
	say(opt.Out, "installed service %s: %s agent run --service --state %s --queue %s", ServiceName, exe, state, queue)
	// Delayed start keeps the agent out of the boot's rush. It is set on
	// its own: a service manager without it (Wine's) still gets a
	// working service.
	if cur, err := s.Config(); err == nil {
		cur.DelayedAutoStart = true
		if err := s.UpdateConfig(cur); err != nil {
			say(opt.Out, "warning: could not set delayed automatic start: %v", err)
		}
	}
	restart := mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: 5 * time.Second}
	if err := s.SetRecoveryActions([]mgr.RecoveryAction{restart, restart, restart}, 24*60*60); err != nil {
		say(opt.Out, "warning: could not set the restart-on-failure actions: %v", err)
	} else if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		say(opt.Out, "warning: %v", err)
	}
	if opt.NoStart {
		return ServiceName, nil
	}
	if err := s.Start(); err != nil {
		return ServiceName, fmt.Errorf("installed, but starting it failed: %w", err)
	}
	say(opt.Out, "started %s", ServiceName)
	return ServiceName, nil
}

// UninstallService stops the service and removes it. The agent's state
// and queue are left in place. Removing a service that is not installed
// is not an error.
func UninstallService(opt InstallOptions) error {
	if opt.Root != "" {
		return errors.New("--root removes a systemd unit; it has no meaning on Windows")
	}
	m, err := mgr.Connect()
	if err != nil {
		return adminHint(err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(ServiceName)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		say(opt.Out, "%s is not installed", ServiceName)
		return nil
	}
	if err != nil {
		return adminHint(err)
	}
	defer s.Close()
	if st, err := s.Query(); err == nil && st.State != svc.Stopped {
		if _, err := s.Control(svc.Stop); err == nil {
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
				if st, err := s.Query(); err != nil || st.State == svc.Stopped {
					break
				}
			}
			say(opt.Out, "stopped %s", ServiceName)
		}
	}
	if err := s.Delete(); err != nil {
		return adminHint(err)
	}
	say(opt.Out, "removed service %s", ServiceName)
	return nil
}

func adminHint(err error) error {
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return fmt.Errorf("%w (run from an administrator prompt)", err)
	}
	return err
}

func say(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
