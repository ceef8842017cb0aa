package ransom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// File integrity monitoring of system paths (/etc, binaries, cron and
// systemd entries): a baseline of SHA-256 hashes taken gently in the
// background, then every change seen by the event source reported with
// who made it, the hashes before and after, and a line diff for small text
// files.

// FIMChange is one change to a monitored system file.
type FIMChange struct {
	Time   time.Time `json:"time"`
	Path   string    `json:"path"`
	Change string    `json:"change"` // created, modified, deleted
	Actor  Actor     `json:"actor"`
	Before string    `json:"sha256_before,omitempty"`
	After  string    `json:"sha256_after,omitempty"`
	Size   int64     `json:"size"`
	Diff   string    `json:"diff,omitempty"` // for text files up to maxDiffFile
}

// maxDiffFile bounds the text files whose content is kept for diffs.
const maxDiffFile = 64 << 10

// maxDiffText bounds a diff's size in a report.
const maxDiffText = 16 << 10

// maxFIMFile bounds the files hashed (larger ones are hashed up to this).
const maxFIMFile = 256 << 20

type fimEntry struct {
	sum  string
	size int64
	text []byte // kept for diffs when small text
}

// fimBaseline holds what the system files held when last seen.
type fimBaseline struct {
	mu    sync.Mutex
	roots []string
	files map[string]fimEntry
	// New files are reported a second late: an editor's or sed's temporary
	// file, renamed over the real one or removed at once, is not news.
	pending map[string]*FIMChange
}

func newFIMBaseline(roots []string) *fimBaseline {
	return &fimBaseline{roots: roots, files: map[string]fimEntry{}, pending: map[string]*FIMChange{}}
}

// fimHold is how long a new file's report waits.
const fimHold = time.Second

// due returns the held reports of new files older than fimHold.
func (b *fimBaseline) due(now time.Time) []FIMChange {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []FIMChange
	for p, c := range b.pending {
		if now.Sub(c.Time) >= fimHold {
			out = append(out, *c)
			delete(b.pending, p)
		}
	}
	return out
}

func (b *fimBaseline) covers(path string) bool {
	for _, r := range b.roots {
		if within(path, r) {
			return true
		}
	}
	return false
}

// hashFile reads a file for the baseline: its hash, size and, when it is
// small text, its content.
func hashFile(path string) (fimEntry, error) {
	f, err := openForInspect(path)
	if err != nil {
		return fimEntry{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fimEntry{}, err
	}
	if !st.Mode().IsRegular() {
		return fimEntry{}, errNotRegular
	}
	h := sha256.New()
	var keep bytes.Buffer
	var w io.Writer = h
	if st.Size() <= maxDiffFile {
		w = io.MultiWriter(h, &keep)
	}
	if _, err := io.Copy(w, io.LimitReader(f, maxFIMFile)); err != nil {
		return fimEntry{}, err
	}
	e := fimEntry{sum: hex.EncodeToString(h.Sum(nil)), size: st.Size()}
	if keep.Len() > 0 && looksText(keep.Bytes()) {
		e.text = keep.Bytes()
	}
	return e, nil
}

// learn hashes everything under the roots, pausing every 64 files so that
// the baseline never takes a core (the issue with scheduled FIM scans).
func (b *fimBaseline) learn(done <-chan struct{}) {
	n := 0
	for _, root := range b.roots {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			select {
			case <-done:
				return filepath.SkipAll
			default:
			}
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			e, err := hashFile(p)
			if err != nil {
				return nil
			}
			b.mu.Lock()
			if _, seen := b.files[p]; !seen {
				b.files[p] = e
			}
			b.mu.Unlock()
			if n++; n%64 == 0 {
				time.Sleep(10 * time.Millisecond)
			}
			return nil
		})
	}
}

// observe compares a file with its baseline after an event and returns
// the change, if any, updating the baseline.
func (b *fimBaseline) observe(path string, gone bool, a Actor, t time.Time) *FIMChange {
	var cur fimEntry
	var err error
	if !gone {
		cur, err = hashFile(path)
		if err != nil {
			gone = os.IsNotExist(err)
			if !gone {
				return nil
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	prev, had := b.files[path]
	if gone {
		delete(b.files, path)
	} else {
		b.files[path] = cur
	}
	if held, ok := b.pending[path]; ok {
		// A new file not yet reported: it vanished (a temporary file), or
		// its report gets the latest content.
		if gone {
			delete(b.pending, path)
			return nil
		}
		held.After, held.Size = cur.sum, cur.size
		if cur.text != nil {
			held.Diff = lineDiff(nil, cur.text)
		}
		return nil
	}
	c := &FIMChange{Time: t, Path: path, Actor: a, Size: cur.size}
	switch {
	case gone && !had:
		return nil
	case gone:
		c.Change, c.Before = "deleted", prev.sum
	case !had:
		c.Change, c.After = "created", cur.sum
		if cur.text != nil {
			c.Diff = lineDiff(nil, cur.text)
		}
		b.pending[path] = c
		return nil
	case prev.sum == cur.sum:
		return nil
	default:
		c.Change, c.Before, c.After = "modified", prev.sum, cur.sum
		if prev.text != nil && cur.text != nil {
			c.Diff = lineDiff(prev.text, cur.text)
		}
	}
	return c
}

// lineDiff is a unified-style diff of two small texts ("-" removed, "+"
// added lines, with no context), at most 200 lines.
func lineDiff(a, b []byte) string {
	al, bl := splitLines(a), splitLines(b)
	// Trim the common head and tail, then an LCS table on the rest.
	for len(al) > 0 && len(bl) > 0 && al[0] == bl[0] {
		al, bl = al[1:], bl[1:]
	}
	for len(al) > 0 && len(bl) > 0 && al[len(al)-1] == bl[len(bl)-1] {
		al, bl = al[:len(al)-1], bl[:len(bl)-1]
	}
	var out []string
	if len(al)*len(bl) > 4_000_000 {
		for _, l := range al {
			out = append(out, "-"+l)
		}
		for _, l := range bl {
			out = append(out, "+"+l)
		}
	} else {
		n, m := len(al), len(bl)
		lcs := make([][]int32, n+1)
		for i := range lcs {
			lcs[i] = make([]int32, m+1)
		}
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if al[i] == bl[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && al[i] == bl[j]:
				i, j = i+1, j+1
			case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
				out = append(out, "+"+bl[j])
				j++
			default:
				out = append(out, "-"+al[i])
				i++
			}
		}
	}
	if len(out) > 200 {
		out = append(out[:200], fmt.Sprintf("… %d more lines", len(out)-200))
	}
	d := strings.Join(out, "\n")
	if len(d) > maxDiffText {
		d = clip(d, maxDiffText) // agent events are at most 64 KB
	}
	return d
}

func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}
