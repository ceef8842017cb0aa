package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"canhgac/internal/ransom"
)

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func runRansom(env *Env, args []string) error {
	if len(args) == 0 || args[0] != "watch" {
		return usageError("usage: canhgac ransom watch --dir D [--dir D2]... [--respond alert|suspend|kill] [--json]")
	}
	return ransomWatch(env, args[1:], nil)
}

// ransomWatch runs the ransomware watcher on folders without a server:
// for operators, and for evaluation against simulators. It prints a
// "ready" line once decoys are placed and events flow, then one line per
// detection, until interrupted (or ctx, in tests, ends).
func ransomWatch(env *Env, args []string, ctx context.Context) error {
	fs := newFlags(env, "ransom watch")
	var dirs, excludes, allow listFlag
	fs.Var(&dirs, "dir", "folder to watch, with its subfolders (repeatable)")
	fs.Var(&excludes, "exclude", "path prefix or glob to leave out (repeatable)")
	fs.Var(&allow, "allow", "executable path or sha256:<hex> allowed to do anything (repeatable)")
	respond := fs.String("respond", envDefault(env, "respond", "alert"), "response to a detection: alert, suspend (SIGSTOP) or kill the process tree")
	asJSON := fs.Bool("json", false, "print JSON lines")
	noCanaries := fs.Bool("no-canaries", false, "do not place decoy documents")
	forceInotify := fs.Bool("inotify", false, "use inotify even where fanotify is available (no process attribution)")
	share := fs.Float64("watch-share", 0.5, "share of the system's watch limit to use")
	verbose := fs.Bool("v", false, "log the watcher's notes to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(dirs) == 0 {
		return usageError("--dir is required")
	}
	resp, err := ransom.ParseResponse(*respond)
	if err != nil {
		return usageError(err.Error())
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	var mu sync.Mutex
	enc := json.NewEncoder(env.Stdout)
	cfg := ransom.Config{Dirs: dirs, Exclude: excludes, Allow: allow, Respond: resp, NoCanaries: *noCanaries,
		ForceInotify: *forceInotify, WatchShare: *share,
		Log: slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))}
	cfg.OnDetection = func(d ransom.Detection, action string) {
		mu.Lock()
		defer mu.Unlock()
		if *asJSON {
			_ = enc.Encode(detectionLine{Event: "detection", Time: d.Time.Format(time.RFC3339Nano), Pid: d.Actor.Pid,
				Exe: d.Actor.Exe, UID: d.Actor.UID, User: d.Actor.User, Pids: d.Pids, Files: d.Files, Score: d.Score,
				Reasons: d.Reasons, Canary: d.Canary, Action: action})
			return
		}
		fmt.Fprintf(env.Stdout, "%s DETECTION pid %d %s (user %s) score %.1f action %s\n  reasons: %s\n  files: %s\n",
			d.Time.Format(time.RFC3339), d.Actor.Pid, d.Actor.Exe, d.Actor.User, d.Score, action,
			strings.Join(d.Reasons, "; "), strings.Join(d.Files, ", "))
	}
	w, err := ransom.Start(cfg)
	if err != nil {
		return err
	}
	st := w.Stats()
	mu.Lock()
	if *asJSON {
		_ = enc.Encode(map[string]any{"event": "ready", "source": st.Source, "note": st.Note, "watched_dirs": st.Watched,
			"unwatched_dirs": st.Unwatched, "canaries": st.Canaries, "gated": st.Gated})
	} else {
		fmt.Fprintf(env.Stdout, "ready: watching %d folders with %s, %d decoys placed", st.Watched, st.Source, st.Canaries)
		if st.Unwatched > 0 {
			fmt.Fprintf(env.Stdout, ", %d folders over the watch budget left unwatched", st.Unwatched)
		}
		fmt.Fprintln(env.Stdout)
		if st.Note != "" {
			fmt.Fprintln(env.Stdout, "note:", st.Note)
		}
	}
	mu.Unlock()
	if ctx == nil {
		var cancel context.CancelFunc
		ctx, cancel = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer cancel()
	}
	<-ctx.Done()
	st = w.Stats()
	err = w.Close()
	b, _ := json.Marshal(st)
	fmt.Fprintf(env.Stderr, "canhgac ransom watch: stopped; %s\n", b)
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

type detectionLine struct {
	Event   string   `json:"event"`
	Time    string   `json:"time"`
	Pid     int      `json:"pid"`
	Exe     string   `json:"exe"`
	UID     int      `json:"uid"`
	User    string   `json:"user,omitempty"`
	Pids    []int    `json:"pids"`
	Files   []string `json:"files"`
	Score   float64  `json:"score"`
	Reasons []string `json:"reasons"`
	Canary  bool     `json:"canary"`
	Action  string   `json:"action"`
}
