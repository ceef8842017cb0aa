package ransom

import (
	"regexp"
	"strings"
	"time"
)

// Commands that destroy a machine's means of recovery. Ransomware runs
// them just before (or while) encrypting; administrators almost never do.
var recoveryKillers = []struct {
	re     *regexp.Regexp
	reason string
}{
	{regexp.MustCompile(`\bvssadmin(\.exe)?\b.*\bdelete\s+shadows\b`), "shadow copies deleted (vssadmin delete shadows)"},
	{regexp.MustCompile(`\bvssadmin(\.exe)?\b.*\bresize\s+shadowstorage\b`), "shadow copy storage shrunk (vssadmin resize shadowstorage)"},
	{regexp.MustCompile(`\bwmic(\.exe)?\b.*\bshadowcopy\b.*\bdelete\b`), "shadow copies deleted (wmic shadowcopy delete)"},
	{regexp.MustCompile(`win32_shadowcopy\b.*\b(delete|remove)`), "shadow copies deleted (PowerShell Win32_ShadowCopy)"},
	{regexp.MustCompile(`\bwbadmin(\.exe)?\b.*\bdelete\s+(catalog|systemstatebackup|backup)\b`), "backups deleted (wbadmin delete)"},
	{regexp.MustCompile(`\bbcdedit(\.exe)?\b.*\brecoveryenabled\s+no\b`), "Windows recovery disabled (bcdedit recoveryenabled no)"},
	{regexp.MustCompile(`\bbcdedit(\.exe)?\b.*\bbootstatuspolicy\s+ignoreallfailures\b`), "boot recovery disabled (bcdedit bootstatuspolicy)"},
}

// recoveryKiller reports whether a command line destroys backups or shadow
// copies, and how, in words.
func recoveryKiller(cmdline string) (string, bool) {
	c := strings.ToLower(cmdline)
	for _, k := range recoveryKillers {
		if k.re.MatchString(c) {
			return k.reason, true
		}
	}
	return "", false
}

// Signal adds evidence that is not about one file (a command that deletes
// shadow copies, say) to an actor and judges it.
func (d *Detector) Signal(a Actor, key string, weight float64, reason string, t time.Time) *Detection {
	if a.Pid != 0 && a.Pid == d.self {
		return nil
	}
	s := d.state(a)
	s.signals[key] = evidence{t, weight, reason}
	return d.judge(s, t)
}
