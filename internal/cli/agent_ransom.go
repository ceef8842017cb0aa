package cli

import (
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"canhgac/internal/agent"
	"canhgac/internal/ransom"
	"canhgac/internal/textfold"
)

// ransomFlags configure the agent's ransomware watcher.
type ransomFlags struct {
	off      bool
	dirs     listFlag
	excludes listFlag
	allow    listFlag
	webRoots listFlag
	fimPaths listFlag
	respond  string
}

func (rf *ransomFlags) register(env *Env, fs *flag.FlagSet) {
	fs.BoolVar(&rf.off, "no-ransom", envDefault(env, "no-ransom", "") != "", "do not watch for ransomware")
	fs.Var(&rf.dirs, "ransom-dir", "folder to watch for ransomware (repeatable; default: home, shared, web, database-dump and backup folders that exist)")
	fs.Var(&rf.excludes, "ransom-exclude", "path prefix or glob the ransomware watcher leaves out (repeatable)")
	fs.Var(&rf.allow, "ransom-allow", "executable path or sha256:<hex> the ransomware watcher never reports (repeatable)")
	fs.Var(&rf.webRoots, "web-root", "web root checked for web shells (repeatable; default: /var/www, /srv/www, /usr/share/nginx/html or C:\\inetpub\\wwwroot where they exist)")
	fs.Var(&rf.fimPaths, "fim-path", "system folder whose files are baselined and every change reported (repeatable; default: /etc and the binary folders)")
	fs.StringVar(&rf.respond, "ransom-respond", envDefault(env, "ransom-respond", "alert"), "response to ransomware: alert, suspend or kill the process tree")
}

// defaultRansomDirs are the folders users' documents, shares, web roots,
// database dumps and backups live in, where they exist on this machine.
func defaultRansomDirs() []string {
	var cand []string
	if runtime.GOOS == "windows" {
		cand = []string{`C:\Users`, `C:\inetpub\wwwroot`, `C:\Shares`, `C:\Backup`, `D:\`}
	} else {
		cand = []string{"/home", "/root", "/srv", "/var/www", "/var/backups", "/backup", "/backups",
			"/data", "/var/lib/mysql-files", "/var/lib/postgresql/backups", "/opt/backup"}
	}
	var out []string
	for _, d := range cand {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// defaultWebRoots are the usual web server document roots that exist here.
func defaultWebRoots() []string {
	cand := []string{"/var/www", "/srv/www", "/usr/share/nginx/html"}
	if runtime.GOOS == "windows" {
		cand = []string{`C:\inetpub\wwwroot`}
	}
	var out []string
	for _, d := range cand {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// defaultFIMPaths are the system folders whose changes matter: config,
// binaries, cron and systemd units.
func defaultFIMPaths() []string {
	if runtime.GOOS == "windows" {
		return nil // Run keys and services: not yet
	}
	return []string{"/etc", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/var/spool/cron", "/usr/lib/systemd/system"}
}

// start runs the watcher inside the agent: each detection is queued as a
// durable event for the server, which raises the alert; the watcher's
// state goes into every heartbeat. The agent's own folders are excluded.
// It returns the function that stops it.
func (rf *ransomFlags) start(a *agent.Agent, log *slog.Logger, ownDirs ...string) func() {
	if rf.off {
		return func() {}
	}
	resp, err := ransom.ParseResponse(rf.respond)
	if err != nil {
		log.Error("ransomware watcher not started", "err", err)
		return func() {}
	}
	dirs := []string(rf.dirs)
	if len(dirs) == 0 {
		dirs = defaultRansomDirs()
	}
	note := func(s string) func() {
		prev := a.Status
		a.Status = func() map[string]any {
			m := map[string]any{}
			if prev != nil {
				m = prev()
			}
			m["ransom"] = map[string]any{"note": s}
			return m
		}
		return func() {}
	}
	if len(dirs) == 0 {
		return note("no folder to watch")
	}
	webRoots, fimPaths := []string(rf.webRoots), []string(rf.fimPaths)
	if len(rf.dirs) == 0 {
		// Defaults only when the operator chose nothing: a --ransom-dir
		// run (tests, a single share) watches just that.
		if len(webRoots) == 0 {
			webRoots = defaultWebRoots()
		}
		if len(fimPaths) == 0 {
			fimPaths = defaultFIMPaths()
		}
	}
	// Mass deletion in backup folders is evidence: the watched folders
	// named for backups (backup, sao lưu) are those.
	var backupDirs []string
	for _, d := range dirs {
		n := strings.ToLower(textfold.Fold(filepath.Base(d)))
		if strings.Contains(n, "backup") || strings.Contains(strings.ReplaceAll(n, "-", " "), "sao luu") || strings.Contains(n, "saoluu") {
			backupDirs = append(backupDirs, d)
		}
	}
	cfg := ransom.Config{Dirs: dirs, WebRoots: webRoots, SystemPaths: fimPaths, Policy: ransom.Policy{BackupDirs: backupDirs}, Exclude: append(append([]string{}, rf.excludes...), ownDirs...), Allow: rf.allow,
		Respond: resp, Log: log,
		OnFIMChange: func(c ransom.FIMChange) {
			if err := a.Emit(ransom.FIMEventKind, c); err != nil {
				log.Error("system file change not queued", "err", err)
			}
		},
		OnWebshell: func(f ransom.WebshellFinding) {
			if err := a.Emit(ransom.WebshellEventKind, f); err != nil {
				log.Error("web shell finding not queued", "err", err)
			}
		},
		OnDetection: func(d ransom.Detection, action string) {
			// An agent event is at most 64 KB: 20 files make the point.
			d.Files = d.Files[:min(len(d.Files), 20)]
			for i, f := range d.Files {
				if len(f) > 1000 {
					d.Files[i] = f[:1000]
				}
			}
			if err := a.Emit(ransom.EventKind, ransom.AgentEvent{Detection: d, Action: action}); err != nil {
				log.Error("ransomware detection not queued", "err", err)
			}
		}}
	w, err := ransom.Start(cfg)
	if err != nil {
		log.Error("ransomware watcher not started", "err", err)
		return note("not started: " + err.Error())
	}
	st := w.Stats()
	log.Info("ransomware watcher started", "dirs", strings.Join(dirs, ","), "source", st.Source, "watched", st.Watched,
		"unwatched", st.Unwatched, "canaries", st.Canaries)
	prev := a.Status
	a.Status = func() map[string]any {
		m := map[string]any{}
		if prev != nil {
			m = prev()
		}
		m["ransom"] = w.Stats()
		return m
	}
	return func() { w.Close() }
}
