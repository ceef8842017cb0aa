package ransom

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A source reports file events for the directories it is told to watch
// (each directory alone, not recursively: the Watcher adds subdirectories).
type source interface {
	add(dir string, gate bool) error // gate: hold suspects' opens here too
	remove(dir string)
	run(emit func(Event)) error // until close
	close() error
	attributed() bool // events carry the acting pid
	name() string
	budget() int // directories that may be watched, 0 = unknown
}

// Response is what the watcher does to a process it detects.
type Response string

// Responses, from the mildest.
const (
	RespondAlert   Response = "alert"   // report only
	RespondSuspend Response = "suspend" // stop the process tree (SIGSTOP), report
	RespondKill    Response = "kill"    // stop, then kill the process tree, report
)

// ParseResponse reads a --respond value.
func ParseResponse(s string) (Response, error) {
	switch r := Response(s); r {
	case RespondAlert, RespondSuspend, RespondKill:
		return r, nil
	}
	return "", fmt.Errorf("unknown response %q (want alert, suspend or kill)", s)
}

// Config says what to watch and how to respond.
type Config struct {
	Dirs    []string
	Exclude []string // path prefixes, or globs matched against a path and its base name
	Policy  Policy
	Respond Response
	// NoCanaries leaves decoys out (they are on by default).
	NoCanaries bool
	// CanaryDirs is how many subfolders of each watched folder get decoys
	// besides the folder itself (default 32, shallowest first).
	CanaryDirs int
	// WatchShare is the share of the system's watch limit the watcher may
	// use (default 0.5).
	WatchShare float64
	// MaxDirs caps the folders watched, below the share (0: no cap).
	MaxDirs int
	// QueueSize bounds the events waiting for analysis (default 65,536);
	// beyond it events are dropped and counted.
	QueueSize int
	// Allow lists programs that may do anything: an executable path, or
	// "sha256:<hex>" of an executable.
	Allow []string
	// ForceInotify uses inotify even where fanotify is available.
	ForceInotify bool
	// WebRoots are folders a web server serves: new or changed executable
	// web files there are checked for web shell traits (they are watched
	// too, as Dirs are).
	WebRoots []string
	// OnWebshell is called for each web shell found under a web root.
	OnWebshell func(WebshellFinding)
	// SystemPaths are folders whose files are baselined by hash and whose
	// every change is reported to OnFIMChange (no decoys go there).
	SystemPaths []string
	OnFIMChange func(FIMChange)
	// NoGate turns off holding back suspect processes' opens (fanotify
	// permission events) until their earlier writes are analysed.
	NoGate bool
	// OnDetection is called, from the analysis goroutine, for each detection.
	OnDetection func(Detection, string)
	Log         *slog.Logger

	// slowAnalysis delays each analysed event: tests stand in a slow disk
	// with it, to fill the queue.
	slowAnalysis time.Duration
}

// Stats describes the watcher's state for the agent status and operators.
type Stats struct {
	Source       string   `json:"source"`
	Note         string   `json:"note,omitempty"`
	Watched      int      `json:"watched_dirs"`
	Budget       int      `json:"watch_budget"`
	Unwatched    int      `json:"unwatched_dirs"`
	UnwatchedEx  []string `json:"unwatched_sample,omitempty"`
	Canaries     int      `json:"canaries"`
	Known        int      `json:"known_files"`
	Events       int64    `json:"events"`
	Dropped      int64    `json:"dropped"`
	Coalesced    int64    `json:"coalesced"`
	Inspected    int64    `json:"inspected"`
	Unreadable   int64    `json:"unreadable"`
	Skipped      int64    `json:"skipped_unreadable_dirs"`
	Detections   int64    `json:"detections"`
	Webshells    int64    `json:"webshells"`
	FIMChanges   int64    `json:"fim_changes"`
	FIMFiles     int      `json:"fim_baseline_files"`
	Allowed      int64    `json:"allowed_detections"`
	BaselineDone bool     `json:"baseline_done"`
	Gated        bool     `json:"gated"`
	GateEvents   int64    `json:"gate_events"`
	GateWaits    int64    `json:"gate_waits"`
	GateDenied   int64    `json:"gate_denied"`
	MissingRoots []string `json:"missing_roots,omitempty"`
}

// Watcher watches folders for ransomware behaviour.
type Watcher struct {
	cfg   Config
	log   *slog.Logger
	src   source
	note  string
	queue chan Event
	done  chan struct{}
	wg    sync.WaitGroup

	mu          sync.Mutex // guards det, canaries, ignore, the counters below
	det         *Detector
	canaries    map[string]canary
	ignore      map[string]int // unattributed sources: our own events still to skip, per path
	watched     map[string]bool
	started     bool            // directories are being watched: decoys placed now raise events
	roots       map[string]bool // root -> present
	budget      int
	unwatched   int
	unwatchedEx []string
	skipped     int64
	allowHash   map[string]string // exe -> sha256, cached
	users       map[int]string

	pendMu  sync.Mutex
	pending map[string]bool // writes queued and not yet analysed

	events, dropped, coalesced, detections, allowed, webshells, fimChanges atomic.Int64
	fim                                                                    *fimBaseline
	baselineDone                                                           atomic.Bool

	// The permission gate's view, kept by emit (the reader goroutine):
	// which programs overwrote, renamed or deleted files lately, which were
	// detected, and how far the analysis has got.
	gateMu     sync.Mutex
	gated      bool
	recent     map[string]bool      // files created lately: writing them is not overwriting
	newDirs    map[string]time.Time // folders created lately, until when
	suspects   map[string]time.Time // actor key -> until
	flagged    map[string]bool
	progMu     sync.Mutex
	progCond   *sync.Cond
	enqueued   int64
	processed  int64
	gateWaits  atomic.Int64
	gateDenied atomic.Int64
}

// gater is a source that can hold back opens (fanotify permission events).
type gater interface {
	enableGate(suspect, await func(Actor) bool, anySuspect func() bool) error
	drain()
	gateEvents() int64
}

// Start places decoys, begins watching and returns once events flow. A
// baseline of the files' content is taken in the background.
func Start(cfg Config) (*Watcher, error) {
	if len(cfg.Dirs)+len(cfg.WebRoots)+len(cfg.SystemPaths) == 0 {
		return nil, errors.New("no folder to watch")
	}
	if cfg.Respond == "" {
		cfg.Respond = RespondAlert
	}
	if cfg.CanaryDirs == 0 {
		cfg.CanaryDirs = 32
	}
	if cfg.WatchShare <= 0 || cfg.WatchShare > 1 {
		cfg.WatchShare = 0.5
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 65536
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	roots := map[string]bool{}
	var dirs []string
	var webRoots []string
	for _, d := range cfg.WebRoots {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("web root %s: %w", d, err)
		}
		webRoots = append(webRoots, abs)
	}
	cfg.WebRoots = webRoots
	for _, d := range append(slices.Clone(cfg.Dirs), webRoots...) {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", d, err)
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", d, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("watch %s: not a directory", d)
		}
		if !roots[abs] {
			roots[abs] = true
			dirs = append(dirs, abs)
		}
	}
	cfg.Dirs = dirs
	src, note, err := newSource(cfg.ForceInotify)
	if err != nil {
		return nil, err
	}
	w := &Watcher{cfg: cfg, log: cfg.Log, src: src, note: note,
		queue: make(chan Event, cfg.QueueSize), done: make(chan struct{}),
		det: NewDetector(cfg.Policy, os.Getpid()), canaries: map[string]canary{}, ignore: map[string]int{},
		watched: map[string]bool{}, roots: roots, pending: map[string]bool{}, allowHash: map[string]string{}, users: map[int]string{},
		recent: map[string]bool{}, newDirs: map[string]time.Time{}, suspects: map[string]time.Time{}, flagged: map[string]bool{}}
	w.progCond = sync.NewCond(&w.progMu)
	if g, ok := src.(gater); ok && !cfg.NoGate {
		if err := g.enableGate(w.suspect, w.await, w.anySuspect); err != nil {
			w.note = strings.TrimPrefix(w.note+"; ", "; ") + fmt.Sprintf("permission events unavailable (%v): fast encryptors are not held back", err)
		} else {
			w.gated = true
		}
	}
	if b := src.budget(); b > 0 {
		w.budget = int(float64(b) * cfg.WatchShare)
	} else {
		w.budget = 100_000
	}
	if cfg.MaxDirs > 0 && cfg.MaxDirs < w.budget {
		w.budget = cfg.MaxDirs
	}
	if note != "" {
		w.log.Warn("ransom watcher", "note", note)
	}
	var trees [][]string
	for _, root := range dirs {
		trees = append(trees, w.listDirs(root))
	}
	var sysRoots []string
	for _, d := range cfg.SystemPaths {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("system path %s: %w", d, err)
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			continue // not on this machine
		}
		sysRoots = append(sysRoots, abs)
	}
	if len(sysRoots) > 0 {
		w.fim = newFIMBaseline(sysRoots)
	}
	if !cfg.NoCanaries {
		for _, tree := range trees {
			w.placeCanaries(tree)
		}
	}
	for _, tree := range trees {
		for _, d := range tree {
			w.watch(d)
		}
	}
	for _, root := range sysRoots {
		for _, d := range w.listDirs(root) {
			w.watch(d)
		}
	}
	if w.fim != nil {
		w.wg.Add(1)
		go func() { defer w.wg.Done(); w.fim.learn(w.done) }()
	}
	w.mu.Lock()
	w.started = true
	w.mu.Unlock()
	w.wg.Add(2)
	go func() {
		defer w.wg.Done()
		if err := src.run(w.emit); err != nil && !w.closed() {
			w.log.Error("ransom watcher: event source stopped", "err", err)
		}
	}()
	go w.analyse()
	w.wg.Add(1)
	go w.scanProcesses()
	// Learn what the files hold: for up to two seconds before reporting
	// ready, the rest in the background.
	files := make(chan string, 1024)
	go func() {
		for _, tree := range trees {
			for _, d := range tree {
				w.listFiles(d, files)
			}
		}
		close(files)
	}()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		p, ok := <-files
		if !ok {
			w.baselineDone.Store(true)
			return w, nil
		}
		w.learn(p)
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		n := 0
		for p := range files {
			select {
			case <-w.done:
				for range files {
				}
				return
			default:
			}
			w.learn(p)
			if n++; n%256 == 0 {
				time.Sleep(20 * time.Millisecond) // keep the baseline gentle on the disk and CPU
			}
		}
		w.baselineDone.Store(true)
	}()
	return w, nil
}

func (w *Watcher) learn(p string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.det.known[p]; ok {
		return // already seen through an event
	}
	if err := w.det.Learn(p); err != nil {
		w.det.Unreadable++
	}
}

// excluded applies the configured exclusions to a path.
func (w *Watcher) excluded(p string) bool {
	base := filepath.Base(p)
	for _, x := range w.cfg.Exclude {
		if within(p, x) {
			return true
		}
		if ok, _ := filepath.Match(x, p); ok {
			return true
		}
		if ok, _ := filepath.Match(x, base); ok {
			return true
		}
	}
	return false
}

// listDirs returns root and its subdirectories, shallowest first, skipping
// exclusions, symlinks and unreadable folders (counted).
func (w *Watcher) listDirs(root string) []string {
	out := []string{root}
	for i := 0; i < len(out); i++ {
		ents, err := os.ReadDir(out[i])
		if err != nil {
			w.mu.Lock()
			w.skipped++
			w.mu.Unlock()
			continue
		}
		for _, e := range ents {
			if e.IsDir() {
				p := filepath.Join(out[i], e.Name())
				if !w.excluded(p) {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

func (w *Watcher) listFiles(dir string, out chan<- string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			p := filepath.Join(dir, e.Name())
			if !w.excluded(p) {
				select {
				case out <- p:
				case <-w.done:
					return
				}
			}
		}
	}
}

// watch adds one directory within the budget; beyond it the directory is
// counted as unwatched.
func (w *Watcher) watch(dir string) { w.watchGated(dir, !w.isSystem(dir)) }

// isSystem reports whether dir is under a system path: those folders are
// watched for changes, but their opens (every exec of /usr/bin) are never
// held by the gate.
func (w *Watcher) isSystem(dir string) bool {
	return w.fim != nil && w.fim.covers(dir) && !w.underDirs(dir)
}

func (w *Watcher) underDirs(dir string) bool {
	for _, d := range append(slices.Clone(w.cfg.Dirs), w.cfg.WebRoots...) {
		if within(dir, d) {
			return true
		}
	}
	return false
}

func (w *Watcher) watchGated(dir string, gate bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watched[dir] {
		return
	}
	if len(w.watched) >= w.budget {
		w.unwatched++
		if len(w.unwatchedEx) < 20 {
			w.unwatchedEx = append(w.unwatchedEx, dir)
		}
		return
	}
	if err := w.src.add(dir, gate); err != nil {
		w.skipped++
		return
	}
	w.watched[dir] = true
}

// placeCanaries puts decoys in a tree's top folder and its shallowest
// subfolders.
func (w *Watcher) placeCanaries(tree []string) {
	n := min(len(tree), 1+w.cfg.CanaryDirs)
	for _, dir := range tree[:n] {
		for _, name := range canaryNames(dir) {
			w.addCanary(filepath.Join(dir, name))
		}
	}
}

func (w *Watcher) addCanary(p string) {
	c, err := placeCanary(p)
	if err != nil {
		w.log.Debug("ransom watcher: decoy not placed", "path", p, "err", err)
		return
	}
	w.mu.Lock()
	w.canaries[p] = c
	w.det.AddCanary(p)
	if !w.src.attributed() && w.started {
		// Without pids our own create and write of the decoy cannot be told
		// from anyone else's: skip exactly those two events.
		w.ignore[p] = 2
	}
	w.mu.Unlock()
}

// emit is called by the source for each event; it never blocks. A write to
// a file whose previous write is still queued is coalesced with it.
func (w *Watcher) emit(ev Event) {
	w.events.Add(1)
	if ev.Op == 0 {
		w.dropped.Add(1) // kernel queue overflow
		return
	}
	if w.gated && ev.IsDir && (ev.Op == OpCreate || ev.Op == OpRename) {
		// Files created in a new folder before it was marked arrive as
		// writes without a create: they are new, not overwrites.
		w.gateMu.Lock()
		if len(w.newDirs) > 10_000 {
			clear(w.newDirs)
		}
		w.newDirs[ev.Path] = ev.Time.Add(suspectFor)
		w.gateMu.Unlock()
	}
	if w.gated && !ev.IsDir && ev.Actor.Pid != 0 {
		w.gateMu.Lock()
		switch ev.Op {
		case OpCreate:
			if len(w.recent) > 100_000 {
				clear(w.recent)
			}
			w.recent[ev.Path] = true
		case OpWrite:
			if w.inNewDir(ev.Path, ev.Time) {
				break
			}
			if !w.recent[ev.Path] {
				w.suspects[ev.Actor.key()] = ev.Time.Add(suspectFor)
			}
		case OpDelete, OpRename:
			if ev.From != "" || ev.Op == OpDelete {
				w.suspects[ev.Actor.key()] = ev.Time.Add(suspectFor)
			}
			delete(w.recent, ev.Path)
		}
		w.gateMu.Unlock()
	}
	if ev.Op == OpWrite {
		w.pendMu.Lock()
		if w.pending[ev.Path] {
			w.pendMu.Unlock()
			w.coalesced.Add(1)
			return
		}
		w.pending[ev.Path] = true
		w.pendMu.Unlock()
	}
	select {
	case w.queue <- ev:
		w.progMu.Lock()
		w.enqueued++
		w.progMu.Unlock()
	default:
		w.dropped.Add(1)
		if ev.Op == OpWrite {
			w.pendMu.Lock()
			delete(w.pending, ev.Path)
			w.pendMu.Unlock()
		}
	}
}

func (w *Watcher) analyse() {
	defer w.wg.Done()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastSlow := time.Now()
	for {
		select {
		case <-w.done:
			return
		case ev := <-w.queue:
			if ev.Op == OpWrite {
				w.pendMu.Lock()
				delete(w.pending, ev.Path)
				w.pendMu.Unlock()
			}
			if w.cfg.slowAnalysis > 0 {
				time.Sleep(w.cfg.slowAnalysis)
			}
			w.handle(ev)
			w.progMu.Lock()
			w.processed++
			w.progCond.Broadcast()
			w.progMu.Unlock()
		case now := <-tick.C:
			w.mu.Lock()
			dets := w.det.Tick(now)
			w.mu.Unlock()
			for _, d := range dets {
				w.report(d)
			}
			if w.fim != nil {
				for _, c := range w.fim.due(now) {
					w.reportFIM(c)
				}
			}
			if now.Sub(lastSlow) >= 2*time.Second {
				lastSlow = now
				w.housekeep(now)
			}
		}
	}
}

func (w *Watcher) handle(ev Event) {
	if ev.IsDir {
		switch ev.Op {
		case OpCreate:
			w.newTree(ev.Path)
		case OpRename:
			if ev.From == "" {
				w.newTree(ev.Path)
			} else {
				w.mu.Lock()
				for d := range w.watched {
					if within(d, ev.From) {
						delete(w.watched, d)
						w.watched[ev.Path+d[len(ev.From):]] = true
					}
				}
				w.mu.Unlock()
			}
		case OpDelete:
			w.mu.Lock()
			delete(w.watched, ev.Path)
			w.mu.Unlock()
		}
	}
	if w.excluded(ev.Path) {
		return
	}
	w.mu.Lock()
	if n, ok := w.ignore[ev.Path]; ok && (ev.Op == OpCreate || ev.Op == OpWrite) {
		if n <= 1 {
			delete(w.ignore, ev.Path)
		} else {
			w.ignore[ev.Path] = n - 1
		}
		w.mu.Unlock()
		return
	}
	d := w.det.Handle(ev)
	w.mu.Unlock()
	if d != nil {
		w.report(d)
	}
	if w.fim != nil && !ev.IsDir {
		w.checkFIM(ev)
	}
	if len(w.cfg.WebRoots) > 0 && !ev.IsDir && (ev.Op == OpWrite || ev.Op == OpRename) && IsWebExecutable(ev.Path) &&
		(ev.Actor.Pid == 0 || ev.Actor.Pid != os.Getpid()) {
		w.checkWeb(ev)
	}
}

// checkFIM reports changes to baselined system files.
func (w *Watcher) checkFIM(ev Event) {
	var changes []*FIMChange
	switch ev.Op {
	case OpWrite:
		if w.fim.covers(ev.Path) {
			changes = append(changes, w.fim.observe(ev.Path, false, ev.Actor, ev.Time))
		}
	case OpDelete:
		if w.fim.covers(ev.Path) {
			changes = append(changes, w.fim.observe(ev.Path, true, ev.Actor, ev.Time))
		}
	case OpRename:
		if ev.From != "" && w.fim.covers(ev.From) {
			changes = append(changes, w.fim.observe(ev.From, true, ev.Actor, ev.Time))
		}
		if w.fim.covers(ev.Path) {
			changes = append(changes, w.fim.observe(ev.Path, false, ev.Actor, ev.Time))
		}
	}
	for _, c := range changes {
		if c != nil {
			w.reportFIM(*c)
		}
	}
}

func (w *Watcher) reportFIM(c FIMChange) {
	if c.Actor.Pid != 0 && c.Actor.User == "" {
		c.Actor.User = w.userName(c.Actor.UID)
	}
	w.fimChanges.Add(1)
	if w.cfg.OnFIMChange != nil {
		w.cfg.OnFIMChange(c)
	}
}

// checkWeb looks at an executable web file written or moved under a web root.
func (w *Watcher) checkWeb(ev Event) {
	for _, root := range w.cfg.WebRoots {
		if !within(ev.Path, root) {
			continue
		}
		isNew := ev.Op == OpRename
		w.mu.Lock()
		if _, ok := w.det.created[ev.Path]; ok {
			isNew = true
		}
		w.mu.Unlock()
		f, err := checkWebFile(ev.Path, root, ev.Actor, isNew, ev.Time)
		if err != nil || f == nil {
			return
		}
		if f.Actor.Pid != 0 && f.Actor.User == "" {
			f.Actor.User = w.userName(f.Actor.UID)
		}
		w.webshells.Add(1)
		w.log.Warn("web shell suspected", "path", f.Path, "score", f.Score, "reasons", strings.Join(f.Reasons, "; "))
		if w.cfg.OnWebshell != nil {
			w.cfg.OnWebshell(*f)
		}
		return
	}
}

// scanProcesses watches for commands that delete shadow copies or backups:
// evidence against the program that ran them, enough on its own.
func (w *Watcher) scanProcesses() {
	defer w.wg.Done()
	var ps procScanner
	tick := time.NewTicker(procScanEvery)
	defer tick.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-tick.C:
		}
		ps.scan(func(cmd, parent Actor, cmdline, reason string) {
			actor := parent
			if actor.Pid <= 1 {
				actor = cmd
			}
			if len(cmdline) > 200 {
				cmdline = cmdline[:200] + "…"
			}
			w.mu.Lock()
			d := w.det.Signal(actor, "recovery:"+reason, 2, reason+": "+cmdline, time.Now())
			if d != nil && cmd.Pid != actor.Pid {
				d.Pids = append(d.Pids, cmd.Pid)
			}
			w.mu.Unlock()
			if d != nil {
				w.report(d)
			}
		})
	}
}

// newTree watches a directory that appeared (created or moved in) and
// everything already inside it: files written before the mark are new
// files, not overwrites.
func (w *Watcher) newTree(dir string) {
	if w.excluded(dir) {
		return
	}
	tree := w.listDirs(dir)
	for _, d := range tree {
		w.watch(d)
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range tree {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if e.Type().IsRegular() {
				w.det.created[filepath.Join(d, e.Name())] = now
			}
		}
	}
}

// housekeep re-creates decoys that went missing without a detection (their
// folder was emptied by a person, say), re-watches roots that were deleted
// and created again, and forgets old bookkeeping.
func (w *Watcher) housekeep(now time.Time) {
	if w.gated {
		w.gateMu.Lock()
		for k, until := range w.suspects {
			if now.After(until) {
				delete(w.suspects, k)
			}
		}
		for k, until := range w.newDirs {
			if now.After(until) {
				delete(w.newDirs, k)
			}
		}
		w.gateMu.Unlock()
	}
	w.mu.Lock()
	w.det.Sweep(now)
	var lost []string
	for p := range w.canaries {
		if !w.det.IsCanary(p) { // dropped after a legitimate folder delete
			lost = append(lost, p)
		}
	}
	for _, p := range lost {
		delete(w.canaries, p)
	}
	var back []string
	for root, present := range w.roots {
		_, err := os.Stat(root)
		switch {
		case err != nil && present:
			w.roots[root] = false
			for d := range w.watched {
				if within(d, root) {
					delete(w.watched, d)
				}
			}
			w.log.Warn("ransom watcher: watched folder is gone", "dir", root)
		case err == nil && !present:
			w.roots[root] = true
			back = append(back, root)
		}
	}
	w.mu.Unlock()
	for _, p := range lost {
		if _, err := os.Stat(filepath.Dir(p)); err == nil {
			w.addCanary(p)
		}
	}
	for _, root := range back {
		w.log.Info("ransom watcher: watched folder is back", "dir", root)
		tree := w.listDirs(root)
		if !w.cfg.NoCanaries {
			w.placeCanaries(tree)
		}
		for _, d := range tree {
			w.watch(d)
		}
	}
}

// inNewDir reports whether a folder above path was created lately (its
// subfolders may have been created before they were marked, so the
// creation of the files in them was not seen). gateMu is held.
func (w *Watcher) inNewDir(path string, t time.Time) bool {
	if len(w.newDirs) == 0 {
		return false
	}
	for p, i := filepath.Dir(path), 0; i < 16 && len(p) > 1; p, i = filepath.Dir(p), i+1 {
		if until, ok := w.newDirs[p]; ok && t.Before(until) {
			return true
		}
	}
	return false
}

// suspect tells the gate whether an open by a must wait for the analysis:
// a has overwritten, renamed or deleted files in the last ten seconds, and
// has not already been detected under the alert-only response.
func (w *Watcher) suspect(a Actor) bool {
	k := a.key()
	w.gateMu.Lock()
	defer w.gateMu.Unlock()
	if w.flagged[k] {
		return w.cfg.Respond != RespondAlert
	}
	until, ok := w.suspects[k]
	if !ok {
		return false
	}
	if time.Now().After(until) {
		delete(w.suspects, k)
		return false
	}
	return true
}

// anySuspect reports whether any process is suspect or detected now.
func (w *Watcher) anySuspect() bool {
	w.gateMu.Lock()
	defer w.gateMu.Unlock()
	return len(w.suspects) > 0 || (len(w.flagged) > 0 && w.cfg.Respond != RespondAlert)
}

// suspectFor is how long a process that overwrote, renamed or deleted a
// file stays suspect (its opens held for the analysis).
const suspectFor = 10 * time.Second

// gateTimeout bounds how long an open waits for the analysis, so a stalled
// watcher slows a suspect down but never hangs it.
const gateTimeout = 250 * time.Millisecond

// await holds an open by a suspect until every event queued so far has
// been analysed, then refuses it if a has been detected (and the response
// is not alert-only).
func (w *Watcher) await(a Actor) bool {
	w.gateWaits.Add(1)
	if g, ok := w.src.(gater); ok {
		g.drain()
	}
	deadline := time.Now().Add(gateTimeout)
	t := time.AfterFunc(gateTimeout, func() {
		w.progMu.Lock()
		w.progCond.Broadcast()
		w.progMu.Unlock()
	})
	defer t.Stop()
	w.progMu.Lock()
	target := w.enqueued
	for w.processed < target && time.Now().Before(deadline) && !w.closed() {
		w.progCond.Wait()
	}
	w.progMu.Unlock()
	w.gateMu.Lock()
	deny := w.flagged[a.key()] && w.cfg.Respond != RespondAlert
	w.gateMu.Unlock()
	if deny {
		w.gateDenied.Add(1)
	}
	return !deny
}

// report applies the allowlist and the response, then hands the detection on.
func (w *Watcher) report(d *Detection) {
	if w.allowedExe(d.Actor.Exe) {
		w.allowed.Add(1)
		w.log.Info("ransom watcher: allowlisted program", "exe", d.Actor.Exe, "score", d.Score)
		return
	}
	w.detections.Add(1)
	if d.Actor.User == "" && d.Actor.Pid != 0 {
		d.Actor.User = w.userName(d.Actor.UID)
	}
	w.gateMu.Lock()
	w.flagged[d.Actor.key()] = true
	w.gateMu.Unlock()
	action := string(RespondAlert)
	if w.cfg.Respond != RespondAlert {
		action = respond(w.cfg.Respond, d.Pids)
	}
	w.log.Warn("ransomware suspected", "pid", d.Actor.Pid, "exe", d.Actor.Exe, "score", d.Score,
		"reasons", strings.Join(d.Reasons, "; "), "action", action)
	if w.cfg.OnDetection != nil {
		w.cfg.OnDetection(*d, action)
	}
}

func (w *Watcher) allowedExe(exe string) bool {
	if exe == "" || len(w.cfg.Allow) == 0 {
		return false
	}
	for _, a := range w.cfg.Allow {
		if a == exe {
			return true
		}
	}
	w.mu.Lock()
	sum, ok := w.allowHash[exe]
	w.mu.Unlock()
	if !ok {
		if f, err := os.Open(exe); err == nil {
			h := sha256.New()
			if _, err := io.Copy(h, f); err == nil {
				sum = "sha256:" + hex.EncodeToString(h.Sum(nil))
			}
			f.Close()
		}
		w.mu.Lock()
		w.allowHash[exe] = sum
		w.mu.Unlock()
	}
	return sum != "" && slices.Contains(w.cfg.Allow, sum)
}

func (w *Watcher) closed() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// userName resolves a uid for reports, once per uid.
func (w *Watcher) userName(uid int) string {
	if uid < 0 {
		return ""
	}
	w.mu.Lock()
	name, ok := w.users[uid]
	w.mu.Unlock()
	if ok {
		return name
	}
	name = strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	w.mu.Lock()
	w.users[uid] = name
	w.mu.Unlock()
	return name
}

// Stats reports the watcher's counters.
func (w *Watcher) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := Stats{Source: w.src.name(), Note: w.note, Watched: len(w.watched), Budget: w.budget,
		Unwatched: w.unwatched, UnwatchedEx: slices.Clone(w.unwatchedEx), Canaries: len(w.canaries),
		Known: w.det.Known(), Events: w.events.Load(), Dropped: w.dropped.Load(),
		Coalesced: w.coalesced.Load(), Inspected: w.det.Inspected, Unreadable: w.det.Unreadable,
		Skipped: w.skipped, Detections: w.detections.Load(), Webshells: w.webshells.Load(), FIMChanges: w.fimChanges.Load(), Allowed: w.allowed.Load(),
		BaselineDone: w.baselineDone.Load(), Gated: w.gated, GateEvents: w.gateEvents(), GateWaits: w.gateWaits.Load(),
		GateDenied: w.gateDenied.Load()}
	if w.fim != nil {
		w.fim.mu.Lock()
		st.FIMFiles = len(w.fim.files)
		w.fim.mu.Unlock()
	}
	for r, present := range w.roots {
		if !present {
			st.MissingRoots = append(st.MissingRoots, r)
		}
	}
	return st
}

func (w *Watcher) gateEvents() int64 {
	if g, ok := w.src.(gater); ok {
		return g.gateEvents()
	}
	return 0
}

// Canaries lists the decoys in place.
func (w *Watcher) Canaries() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.canaries))
	for p := range w.canaries {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Close stops watching and removes the decoys that are still intact (a
// touched decoy is left as evidence).
func (w *Watcher) Close() error {
	select {
	case <-w.done:
		return nil
	default:
	}
	close(w.done)
	w.progMu.Lock()
	w.progCond.Broadcast() // gate waits end now
	w.progMu.Unlock()
	err := w.src.close()
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	for p, c := range w.canaries {
		if c.intact() {
			os.Remove(p)
		}
	}
	return err
}
