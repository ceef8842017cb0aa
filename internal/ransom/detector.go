package ransom

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"canhgac/internal/textfold"
)

// Op is what happened to a file.
type Op uint8

// File operations the event sources report.
const (
	OpCreate Op = iota + 1 // a new name appeared
	OpWrite                // a file opened for writing was closed
	OpDelete               // a name was removed
	OpRename               // From was renamed to Path
)

func (o Op) String() string {
	switch o {
	case OpCreate:
		return "create"
	case OpWrite:
		return "write"
	case OpDelete:
		return "delete"
	case OpRename:
		return "rename"
	}
	return "op?"
}

// Actor is the process behind an event, as far as the event source can
// tell. Pid 0 means unattributed (inotify, ReadDirectoryChangesW).
type Actor struct {
	Pid  int    `json:"pid"`
	Exe  string `json:"exe,omitempty"`
	UID  int    `json:"uid"`
	User string `json:"user,omitempty"`
}

// key groups events by program and user, so that a ransomware's worker
// processes and threads count together.
func (a Actor) key() string {
	switch {
	case a.Pid == 0:
		return "unattributed"
	case a.Exe == "":
		return fmt.Sprintf("pid:%d", a.Pid)
	}
	return fmt.Sprintf("%s|%d", a.Exe, a.UID)
}

// Event is one file operation under a watched folder.
type Event struct {
	Op    Op
	Path  string // the file (for OpRename, its new name)
	From  string // OpRename: the old name
	IsDir bool
	Actor Actor
	Time  time.Time
}

// Detection is a judgement that a process is encrypting or destroying files.
type Detection struct {
	Time    time.Time `json:"time"`
	Actor   Actor     `json:"actor"`
	Pids    []int     `json:"pids"`
	Score   float64   `json:"score"`
	Reasons []string  `json:"reasons"`
	Files   []string  `json:"files"`
	Canary  bool      `json:"canary"`
}

// Policy holds the detector's thresholds; the zero value means defaults.
type Policy struct {
	// Threshold is the score at which a process is reported (default 2:
	// two files destroyed, or one with a ransom note).
	Threshold float64
	// Window is how long evidence counts (default 10 minutes), so a slow
	// encryptor that takes one file a minute is still added up.
	Window time.Duration
	// MaxFiles bounds the files whose content digest is remembered
	// (default 200,000).
	MaxFiles int
	// BackupDirs are folders where mass deletion is a signal.
	BackupDirs []string
}

func (p Policy) withDefaults() Policy {
	if p.Threshold <= 0 {
		p.Threshold = 2
	}
	if p.Window <= 0 {
		p.Window = 10 * time.Minute
	}
	if p.MaxFiles <= 0 {
		p.MaxFiles = 200_000
	}
	return p
}

// Detector turns file events into detections. It reads the files it is
// told about (to judge what was written) and keeps per-process evidence
// over a sliding window. It is not safe for concurrent use: the Watcher
// feeds it from one goroutine, in event order.
type Detector struct {
	pol      Policy
	self     int
	known    map[string]*Digest
	created  map[string]time.Time // new names, so a later write is not an overwrite
	wrote    map[string]bool      // new files written once: the next write overwrites
	renamed  map[string]Kind      // new name -> the kind its old name promised
	canaries map[string]bool
	exts     map[string]bool // extensions present when watching began
	actors   map[string]*actorState
	pending  []pendingCanary
	// Stats
	Inspected, Unreadable int64
}

type evidence struct {
	t      time.Time
	weight float64
	reason string
}

type actorState struct {
	actor     Actor
	pids      map[int]bool
	files     map[string]evidence // per original file: at most weight 1
	signals   map[string]evidence // per kind of signal (notes, shadow copies...)
	fresh     []stamped           // new files written lately (read only if an original is deleted)
	texts     []stamped           // new small text files, hashed once other evidence appears
	renameExt map[string][]stamped
	notes     map[[32]byte]map[string]bool
	backupDel []time.Time
	reported  time.Time
	lastScore float64
	touched   []string
}

type stamped struct {
	path string
	t    time.Time
}

type pendingCanary struct {
	path  string
	actor Actor
	due   time.Time
	why   string
}

// NewDetector returns a detector; self is the watcher's own pid, whose
// events (placing canaries) are ignored.
func NewDetector(pol Policy, self int) *Detector {
	return &Detector{
		pol: pol.withDefaults(), self: self,
		known: map[string]*Digest{}, created: map[string]time.Time{}, wrote: map[string]bool{}, renamed: map[string]Kind{},
		canaries: map[string]bool{}, exts: map[string]bool{}, actors: map[string]*actorState{},
	}
}

// AddCanary marks path as a decoy: any change to it is a detection.
func (d *Detector) AddCanary(path string) { d.canaries[path] = true }

// RemoveCanary forgets a decoy (the watcher removed it itself).
func (d *Detector) RemoveCanary(path string) { delete(d.canaries, path) }

// IsCanary reports whether path is a decoy.
func (d *Detector) IsCanary(path string) bool { return d.canaries[path] }

// Learn records a file's current content as its baseline.
func (d *Detector) Learn(path string) error {
	fd, err := Inspect(path, ExpectedKind(path), nil)
	if err != nil {
		return err
	}
	d.remember(path, fd.Digest)
	if e := strings.ToLower(filepath.Ext(path)); e != "" {
		d.exts[e] = true
	}
	return nil
}

func (d *Detector) remember(path string, dg Digest) {
	if _, ok := d.known[path]; !ok && len(d.known) >= d.pol.MaxFiles {
		return
	}
	d.known[path] = &dg
}

// Known reports how many files have a remembered digest.
func (d *Detector) Known() int { return len(d.known) }

func (d *Detector) state(a Actor) *actorState {
	k := a.key()
	s := d.actors[k]
	if s == nil {
		s = &actorState{actor: a, pids: map[int]bool{}, files: map[string]evidence{},
			signals: map[string]evidence{}, renameExt: map[string][]stamped{},
			notes: map[[32]byte]map[string]bool{}}
		d.actors[k] = s
	}
	if a.Pid != 0 {
		s.pids[a.Pid] = true
		s.actor.Pid = a.Pid
	}
	return s
}

// Handle judges one event and returns a detection when the acting
// process's score reaches the threshold (at most one per process every 30 s
// while it keeps going, each with the files so far).
func (d *Detector) Handle(ev Event) *Detection {
	if ev.Actor.Pid != 0 && ev.Actor.Pid == d.self {
		return nil
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if ev.IsDir {
		if ev.Op == OpRename {
			d.moveTree(ev.From, ev.Path)
		}
		return nil
	}
	s := d.state(ev.Actor)
	switch ev.Op {
	case OpCreate:
		d.created[ev.Path] = ev.Time
		if d.canaries[ev.Path] {
			return nil
		}
	case OpWrite:
		if d.canaries[ev.Path] {
			return d.canaryHit(s, ev, "decoy file modified: "+ev.Path)
		}
		d.onWrite(s, ev)
	case OpDelete:
		if d.canaries[ev.Path] {
			if c, ok := d.encryptedCopy(s, ev.Path); ok {
				return d.canaryHit(s, ev, "decoy file replaced by an encrypted copy "+filepath.Base(c)+": "+ev.Path)
			}
			// A decoy deleted with its whole folder is someone tidying up;
			// a decoy deleted alone is not. Decide once the folder's fate
			// is known.
			d.pending = append(d.pending, pendingCanary{ev.Path, ev.Actor, ev.Time.Add(300 * time.Millisecond),
				"decoy file deleted: " + ev.Path})
			return nil
		}
		d.onDelete(s, ev)
	case OpRename:
		if d.canaries[ev.From] {
			return d.canaryHit(s, ev, "decoy file renamed: "+ev.From+" → "+ev.Path)
		}
		d.onRename(s, ev)
	}
	return d.judge(s, ev.Time)
}

// Tick settles decoy deletions whose grace has passed; call it a few times
// a second.
func (d *Detector) Tick(now time.Time) []*Detection {
	var out []*Detection
	keep := d.pending[:0]
	for _, p := range d.pending {
		if now.Before(p.due) {
			keep = append(keep, p)
			continue
		}
		if _, err := os.Stat(filepath.Dir(p.path)); os.IsNotExist(err) {
			delete(d.canaries, p.path) // folder removed: a legitimate delete
			continue
		}
		s := d.state(p.actor)
		if det := d.canaryHit(s, Event{Op: OpDelete, Path: p.path, Actor: p.actor, Time: now}, p.why); det != nil {
			out = append(out, det)
		}
	}
	d.pending = keep
	return out
}

func (d *Detector) canaryHit(s *actorState, ev Event, why string) *Detection {
	s.signals["canary:"+ev.Path] = evidence{ev.Time, 100, why}
	s.touched = appendSample(s.touched, ev.Path)
	det := d.judge(s, ev.Time)
	if det != nil {
		det.Canary = true
	}
	return det
}

func (d *Detector) inspect(path string, expected Kind, prev *Digest) (Finding, bool) {
	fd, err := Inspect(path, expected, prev)
	if err != nil {
		d.Unreadable++
		return fd, false
	}
	d.Inspected++
	return fd, true
}

func (d *Detector) onWrite(s *actorState, ev Event) {
	expected, wasRenamed := d.renamed[ev.Path]
	if !wasRenamed {
		expected = ExpectedKind(ev.Path)
	}
	prev := d.known[ev.Path]
	_, isNew := d.created[ev.Path]
	isNew = isNew && prev == nil && !wasRenamed && !d.wrote[ev.Path]
	if isNew {
		// A new file destroys nothing, and most are a copy, an unpacked
		// archive or a build's output: it is not read now. Encryptors that
		// write a copy and delete the original are judged when they delete
		// (the copy is read then); notes by their name, or by their content
		// once there is other evidence.
		if len(d.wrote) > 500_000 {
			clear(d.wrote)
		}
		d.wrote[ev.Path] = true // a later write is an overwrite
		s.fresh = appendBounded(s.fresh, stamped{ev.Path, ev.Time}, 512)
		name := filepath.Base(ev.Path)
		if noteExts[strings.ToLower(filepath.Ext(name))] {
			if noteLike(name) {
				s.signals["note-name"] = evidence{ev.Time, 1, "ransom note created: " + name}
			}
			s.texts = appendBounded(s.texts, stamped{ev.Path, ev.Time}, 256)
		}
		return
	}
	fd, err := Inspect(ev.Path, expected, prev)
	if err != nil {
		d.Unreadable++
		return
	}
	d.Inspected++
	d.remember(ev.Path, fd.Digest)
	if bad, why := fd.Destroyed(prev); bad {
		d.addFile(s, ev.Path, ev.Time, 1, "overwrote "+filepath.Base(ev.Path)+": "+why)
	}
}

// appendBounded appends x, dropping the oldest entries beyond n.
func appendBounded(list []stamped, x stamped, n int) []stamped {
	if len(list) >= n {
		list = append(list[:0], list[len(list)-n/2:]...)
	}
	return append(list, x)
}

// encryptedCopy finds, among the actor's new files, the copy of orig that
// an encryptor would write ("a.docx.locked") and reads it: it reports the
// copy if it looks like ciphertext.
func (d *Detector) encryptedCopy(s *actorState, orig string) (string, bool) {
	for i := len(s.fresh) - 1; i >= 0; i-- {
		if e := s.fresh[i]; copyOf(e.path, orig) {
			fd, err := inspectNew(e.path, KindUnknown)
			if err != nil {
				d.Unreadable++
				return "", false
			}
			d.Inspected++
			return e.path, fd.EncryptedLooking()
		}
	}
	return "", false
}

// copyOf reports whether the new file's name derives from the original's,
// as encryptors name their output: "a.docx" → "a.docx.locked",
// "a.docx.[id].crypt", or "a.locked".
func copyOf(newPath, orig string) bool {
	if filepath.Dir(newPath) != filepath.Dir(orig) || newPath == orig {
		return false
	}
	nb, ob := filepath.Base(newPath), filepath.Base(orig)
	if strings.HasPrefix(nb, ob) && len(nb) > len(ob) {
		return true
	}
	stem := strings.TrimSuffix(ob, filepath.Ext(ob))
	return stem != "" && strings.TrimSuffix(nb, filepath.Ext(nb)) == stem
}

func (d *Detector) onDelete(s *actorState, ev Event) {
	prev := d.known[ev.Path]
	delete(d.known, ev.Path)
	delete(d.created, ev.Path)
	delete(d.wrote, ev.Path)
	delete(d.renamed, ev.Path)
	if prev != nil && (prev.Kind == KindEmpty || !prev.Valid) {
		return
	}
	s.fresh = slices.DeleteFunc(s.fresh, func(x stamped) bool { return x.path == ev.Path })
	// Only documents count as lost: a file whose content canhgac could not
	// name (a git pack, a cache entry) is no one's document.
	doc := ExpectedKind(ev.Path) != KindUnknown || (prev != nil && prev.Kind != KindUnknown)
	if doc && len(s.fresh) > 0 {
		// An original removed after its encrypted copy was written.
		if c, ok := d.encryptedCopy(s, ev.Path); ok {
			d.addFile(s, ev.Path, ev.Time, 1, "replaced "+filepath.Base(ev.Path)+" by an encrypted copy "+filepath.Base(c))
		} else if last := s.fresh[len(s.fresh)-1]; c == "" && filepath.Dir(last.path) == filepath.Dir(ev.Path) {
			if fd, err := inspectNew(last.path, KindUnknown); err == nil && fd.EncryptedLooking() {
				d.addFile(s, ev.Path, ev.Time, 0.5, "deleted "+filepath.Base(ev.Path)+" after writing encrypted files")
			}
		}
	}
	for _, b := range d.pol.BackupDirs {
		if within(ev.Path, b) {
			s.backupDel = append(s.backupDel, ev.Time)
			s.backupDel = slices.DeleteFunc(s.backupDel, func(t time.Time) bool { return t.Before(ev.Time.Add(-time.Minute)) })
			if len(s.backupDel) >= 20 {
				s.signals["backup-delete"] = evidence{ev.Time, 1, fmt.Sprintf("mass deletion in backup folder %s", b)}
			}
			break
		}
	}
}

// benignSuffixes are extensions that editors, downloaders, package managers
// and log rotation rename files to: never a ransomware's new extension.
var benignSuffixes = map[string]bool{".bak": true, ".tmp": true, ".old": true, ".orig": true,
	".swp": true, ".part": true, ".crdownload": true, ".dpkg-new": true, ".dpkg-old": true,
	".dpkg-dist": true, ".rpmnew": true, ".rpmsave": true, ".new": true, ".save": true, ".gz": true,
	".xz": true, ".bz2": true, ".zst": true, ".lock": true, ".backup": true, "": true}

func (d *Detector) onRename(s *actorState, ev Event) {
	prev := d.known[ev.From]
	target := d.known[ev.Path]
	delete(d.known, ev.From)
	fromKind, wasRenamed := d.renamed[ev.From]
	if !wasRenamed {
		fromKind = ExpectedKind(ev.From)
	}
	delete(d.renamed, ev.From)
	_, fromNew := d.created[ev.From]
	delete(d.created, ev.From)
	delete(d.wrote, ev.From)
	if fromNew || ev.From == "" {
		// A new file moved into place (atomic save, rsync, dpkg, or an
		// encryptor writing a temp file): judge it against what it
		// replaces, or against what its name promises.
		d.created[ev.Path] = ev.Time
		fd, ok := d.inspect(ev.Path, ExpectedKind(ev.Path), target)
		if !ok {
			return
		}
		d.remember(ev.Path, fd.Digest)
		if target == nil {
			if fd.Mismatch && fd.EncryptedLooking() {
				d.addFile(s, ev.Path, ev.Time, 1, "replaced "+filepath.Base(ev.Path)+": content type changed from "+fd.Expected.String()+" to unrecognisable")
			}
			return
		}
		if bad, why := fd.Destroyed(target); bad {
			d.addFile(s, ev.Path, ev.Time, 1, "replaced "+filepath.Base(ev.Path)+": "+why)
		}
		return
	}
	oldExt, newExt := strings.ToLower(filepath.Ext(ev.From)), strings.ToLower(filepath.Ext(ev.Path))
	if newExt != oldExt {
		d.renamed[ev.Path] = fromKind
	}
	fd, ok := d.inspect(ev.Path, fromKind, prev)
	if ok {
		d.remember(ev.Path, fd.Digest)
		if bad, why := fd.Destroyed(prev); bad {
			d.addFile(s, ev.From, ev.Time, 1, "renamed "+filepath.Base(ev.From)+" to "+filepath.Base(ev.Path)+": "+why)
		}
	}
	if newExt != oldExt && !d.exts[newExt] && !benignSuffixes[newExt] && !isDigits(newExt) && fromKind != KindUnknown {
		cut := ev.Time.Add(-d.pol.Window)
		list := slices.DeleteFunc(s.renameExt[newExt], func(x stamped) bool { return x.t.Before(cut) })
		list = append(list, stamped{ev.From, ev.Time})
		s.renameExt[newExt] = list
		if len(list) >= 3 {
			for _, x := range list {
				d.addFile(s, x.path, x.t, 0.7, fmt.Sprintf("%d files renamed to the new extension %s", len(list), newExt))
			}
		}
	}
}

func isDigits(ext string) bool {
	if len(ext) < 2 {
		return false
	}
	for _, c := range ext[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// noteNames are words ransom notes are named with, folded and lowercased.
var noteWords = []string{"decrypt", "ransom", "recover", "restore", "unlock", "encrypted", "readme_for", "read_me",
	"giai ma", "khoi phuc"}

func noteLike(name string) bool {
	n := strings.ToLower(textfold.Fold(name))
	switch strings.ToLower(filepath.Ext(n)) {
	case ".txt", ".html", ".htm", ".hta", ".rtf", ".url":
	default:
		return false
	}
	if n == "_readme.txt" || strings.HasPrefix(n, "!!!") {
		return true
	}
	for _, w := range noteWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// noteExts are the extensions ransom notes are written with.
var noteExts = map[string]bool{".txt": true, ".html": true, ".htm": true, ".hta": true, ".rtf": true, ".url": true}

// noteCopies hashes the actor's new small text files (once it has
// destroyed something: copying a tree also creates identical small files)
// and raises a signal when the same text was dropped into three folders.
func (d *Detector) noteCopies(s *actorState) {
	for _, e := range s.texts {
		f, err := openForInspect(e.path)
		if err != nil {
			continue
		}
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() || st.Size() == 0 || st.Size() > 64<<10 {
			f.Close()
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			continue
		}
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		dirs := s.notes[sum]
		if dirs == nil {
			if len(s.notes) > 1000 {
				clear(s.notes)
			}
			dirs = map[string]bool{}
			s.notes[sum] = dirs
		}
		dirs[filepath.Dir(e.path)] = true
		if len(dirs) >= 3 {
			s.signals["note-copies"] = evidence{e.t, 1, fmt.Sprintf("the same text file %s created in %d folders", filepath.Base(e.path), len(dirs))}
		}
	}
	s.texts = s.texts[:0]
}

func (d *Detector) addFile(s *actorState, path string, t time.Time, w float64, reason string) {
	if old, ok := s.files[path]; ok && old.weight >= w {
		return
	}
	s.files[path] = evidence{t, w, reason}
	s.touched = appendSample(s.touched, path)
}

// appendSample keeps the first 50 paths.
func appendSample(list []string, p string) []string {
	if len(list) >= 50 || slices.Contains(list, p) {
		return list
	}
	return append(list, p)
}

// judge sums the actor's evidence in the window and reports it when it
// crosses the threshold. Copies of a note only count alongside other
// evidence: copying a tree also creates identical small files.
func (d *Detector) judge(s *actorState, now time.Time) *Detection {
	cut := now.Add(-d.pol.Window)
	score, fileScore := 0.0, 0.0
	var reasons []string
	seen := map[string]bool{}
	for p, e := range s.files {
		if e.t.Before(cut) {
			delete(s.files, p)
			continue
		}
		fileScore += e.weight
		if r := generalise(e.reason); !seen[r] {
			seen[r] = true
			reasons = append(reasons, e.reason)
		}
	}
	score = fileScore
	if fileScore > 0 && len(s.texts) > 0 {
		d.noteCopies(s)
	}
	for k, e := range s.signals {
		if e.t.Before(cut) {
			delete(s.signals, k)
			continue
		}
		if k == "note-copies" && fileScore == 0 {
			continue
		}
		score += e.weight
		reasons = append(reasons, e.reason)
	}
	if score < d.pol.Threshold {
		return nil
	}
	// One report per process every 30 s: the first carries the response,
	// later ones the files added since.
	if !s.reported.IsZero() && now.Sub(s.reported) < 30*time.Second {
		return nil
	}
	s.reported, s.lastScore = now, score
	slices.Sort(reasons)
	if len(reasons) > 10 {
		reasons = reasons[:10]
	}
	pids := make([]int, 0, len(s.pids))
	for p := range s.pids {
		pids = append(pids, p)
	}
	slices.Sort(pids)
	return &Detection{Time: now, Actor: s.actor, Pids: pids, Score: score, Reasons: reasons,
		Files: slices.Clone(s.touched)}
}

// generalise folds per-file reasons into one line per kind of reason, so
// that fifty overwritten files give one reason with an example.
func generalise(r string) string {
	if i := strings.Index(r, ": "); i >= 0 {
		verb, _, _ := strings.Cut(r, " ")
		return verb + r[i:]
	}
	return r
}

// moveTree renames every remembered path under from to under to.
func (d *Detector) moveTree(from, to string) {
	prefix := from + string(filepath.Separator)
	for p, dg := range d.known {
		if strings.HasPrefix(p, prefix) {
			delete(d.known, p)
			d.known[to+p[len(from):]] = dg
		}
	}
	for p := range d.canaries {
		if strings.HasPrefix(p, prefix) {
			delete(d.canaries, p)
			d.canaries[to+p[len(from):]] = true
		}
	}
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}

// Sweep forgets evidence and bookkeeping older than the window, bounding
// memory under a long stream of benign events.
func (d *Detector) Sweep(now time.Time) {
	cut := now.Add(-d.pol.Window)
	for p, t := range d.created {
		if t.Before(cut) {
			delete(d.created, p)
			delete(d.wrote, p)
		}
	}
	for k, s := range d.actors {
		d.judge(s, now) // drops expired evidence
		s.fresh = slices.DeleteFunc(s.fresh, func(x stamped) bool { return x.t.Before(cut) })
		s.texts = slices.DeleteFunc(s.texts, func(x stamped) bool { return x.t.Before(cut) })
		if len(s.files) == 0 && len(s.signals) == 0 && len(s.fresh) == 0 && len(s.texts) == 0 {
			delete(d.actors, k)
		}
	}
	if len(d.renamed) > 100_000 {
		clear(d.renamed)
	}
}
