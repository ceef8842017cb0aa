//go:build !windows

package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	agentdeploy "canhgac/deploy/agent"
)

// ServiceName is the name of the agent's system service (systemd unit
// canhgac-agent.service, Windows service canhgac-agent).
const ServiceName = "canhgac-agent"

// InstallOptions say how to install the agent as a system service.
type InstallOptions struct {
	Exe   string // the canhgac binary; default: this executable
	State string // --state for `agent run`
	Queue string // --queue for `agent run`
	// Root, if set, writes the unit under this directory instead of / and
	// runs no systemctl (for tests and image builds). Not on Windows.
	Root    string
	NoStart bool      // install and enable, but do not start now
	Out     io.Writer // progress messages; nil: none
}

// unitDir is where systemd units are installed.
const unitDir = "/etc/systemd/system"

// defaultStateDir is where the packaged unit lets the agent write.
const defaultStateDir = "/var/lib/canhgac-agent"

// RunService runs run under the platform's service manager when this
// process was started by it. Only Windows needs that; elsewhere it returns
// handled=false and the caller runs the agent itself (systemd runs
// `agent run` as it is), or an error if asked to (forced).
func RunService(name string, run func(ctx context.Context) error, forced bool) (handled bool, err error) {
	if forced {
		return true, errors.New("--service is for Windows; systemd runs `canhgac agent run` as it is")
	}
	return false, nil
}

// UnitPath is where InstallService writes the systemd unit.
func UnitPath(root string) string {
	return filepath.Join(rootOr(root), unitDir, ServiceName+".service")
}

func rootOr(root string) string {
	if root == "" {
		return "/"
	}
	return root
}

// InstallService installs the agent as the systemd service canhgac-agent,
// enables it and (unless NoStart) starts it. It returns the unit's path.
func InstallService(opt InstallOptions) (string, error) {
	exe, state, queue, err := servicePaths(opt)
	if err != nil {
		return "", err
	}
	if opt.Root == "" {
		if runtime.GOOS != "linux" {
			return "", fmt.Errorf("agent install knows systemd (Linux) and Windows services; on %s run `canhgac agent run` from the system's service manager", runtime.GOOS)
		}
		if _, err := os.Stat("/run/systemd/system"); err != nil {
			return "", errors.New("this machine does not run systemd; run `canhgac agent run --state … --queue …` from its init system instead")
		}
		if _, err := os.Stat(state); err != nil {
			return "", fmt.Errorf("no agent state at %s: run `canhgac agent enroll` first (%v)", state, err)
		}
		// ProtectSystem=strict: the queue directory must exist before the
		// unit starts for its ReadWritePaths to apply.
		if err := os.MkdirAll(queue, 0o700); err != nil {
			return "", err
		}
	}
	unit, err := SystemdUnit(exe, state, queue)
	if err != nil {
		return "", err
	}
	path := UnitPath(opt.Root)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", rootHint(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(unit), 0o644); err != nil {
		return "", rootHint(err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil { // whatever the umask
		os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", rootHint(err)
	}
	say(opt.Out, "wrote %s", path)
	if opt.Root != "" {
		return path, nil
	}
	if err := systemctl(opt.Out, "daemon-reload"); err != nil {
		return path, err
	}
	args := []string{"enable", ServiceName}
	if !opt.NoStart {
		args = []string{"enable", "--now", ServiceName}
	}
	return path, systemctl(opt.Out, args...)
}

// UninstallService stops and disables the service and removes its unit.
// The agent's state and queue are left in place. Removing a service that
// is not installed is not an error.
func UninstallService(opt InstallOptions) error {
	path := UnitPath(opt.Root)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		say(opt.Out, "%s is not installed (no %s)", ServiceName, path)
		return nil
	}
	if opt.Root == "" {
		if err := systemctl(opt.Out, "disable", "--now", ServiceName); err != nil {
			return err
		}
	}
	if err := os.Remove(path); err != nil {
		return rootHint(err)
	}
	say(opt.Out, "removed %s", path)
	if opt.Root == "" {
		return systemctl(opt.Out, "daemon-reload")
	}
	return nil
}

// SystemdUnit is the packaged unit (deploy/agent/canhgac-agent.service)
// with ExecStart running exe with these state and queue paths, and their
// directories writable if they are outside /var/lib/canhgac-agent.
func SystemdUnit(exe, state, queue string) (string, error) {
	for _, p := range []string{exe, state, queue} {
		if !strings.HasPrefix(p, "/") {
			return "", fmt.Errorf("%q is not an absolute path", p)
		}
		if strings.ContainsAny(p, "\n\r\x00") {
			return "", fmt.Errorf("%q contains a line break", p)
		}
	}
	execLine := "ExecStart=" + strings.Join([]string{systemdQuote(exe), "agent", "run", "--state", systemdQuote(state), "--queue", systemdQuote(queue)}, " ")
	var extra []string
	for _, d := range []string{filepath.Dir(state), queue} {
		if d != defaultStateDir && !strings.HasPrefix(d, defaultStateDir+"/") && !contains(extra, d) {
			extra = append(extra, d)
		}
	}
	var out strings.Builder
	sawExec := false
	for _, line := range strings.SplitAfter(agentdeploy.SystemdUnit, "\n") {
		switch {
		case strings.HasPrefix(line, "ExecStart="):
			line = execLine + "\n"
			sawExec = true
		case strings.HasPrefix(line, "ReadWritePaths=") && len(extra) > 0:
			// "-": a missing directory does not stop the unit from starting.
			for _, d := range extra {
				line = strings.TrimSuffix(line, "\n") + " -" + systemdQuote(d) + "\n"
			}
		}
		out.WriteString(line)
	}
	if !sawExec {
		return "", errors.New("the embedded unit has no ExecStart line")
	}
	return out.String(), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// systemdQuote quotes one ExecStart word: % and $ are escaped always (they
// are specifiers and variables to systemd); words with spaces, quotes or
// backslashes are double-quoted.
func systemdQuote(s string) string {
	s = strings.NewReplacer("%", "%%", "$", "$$").Replace(s)
	if !strings.ContainsAny(s, " \t\"'\\;") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// servicePaths makes the executable, state and queue paths absolute and
// checks that the service will be able to reach the executable.
func servicePaths(opt InstallOptions) (exe, state, queue string, err error) {
	exe = opt.Exe
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return "", "", "", fmt.Errorf("cannot find this executable: %w", err)
		}
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	if opt.State == "" {
		opt.State = filepath.Join(defaultStateDir, "agent.json")
	}
	if opt.Queue == "" {
		opt.Queue = filepath.Join(defaultStateDir, "queue")
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return "", "", "", err
	}
	if state, err = filepath.Abs(opt.State); err != nil {
		return "", "", "", err
	}
	if queue, err = filepath.Abs(opt.Queue); err != nil {
		return "", "", "", err
	}
	for _, tmp := range []string{"/tmp/", "/var/tmp/"} {
		if opt.Root == "" && strings.HasPrefix(exe, tmp) {
			return "", "", "", fmt.Errorf("%s is under %s, which the service does not see (PrivateTmp); copy it to /usr/local/bin first", exe, tmp)
		}
	}
	return exe, state, queue, nil
}

func systemctl(out io.Writer, args ...string) error {
	say(out, "systemctl %s", strings.Join(args, " "))
	cmd := exec.Command("systemctl", args...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(b)))
	}
	return nil
}

func rootHint(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w (run as root, e.g. with sudo)", err)
	}
	return err
}

func say(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
