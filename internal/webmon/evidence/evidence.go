// Package evidence implements a content-addressed, compressed snapshot store
// on the local file system for website-monitoring evidence such as the raw
// HTML of baseline and current page fetches and PNG screenshots.
//
// # Layout
//
// Every object is addressed by its key, the lowercase hexadecimal SHA-256 of
// its uncompressed content. An object with key k is stored in the file
//
//	<dir>/<k[0:2]>/<k>
//
// that is, in one of at most 256 shard directories named after the first two
// hex digits of the key. Each object file is a single gzip stream (RFC 1952)
// holding the uncompressed content. Content that is already compressed (PNG,
// JPEG, GIF, WebP, gzip, zip, zstd; recognised by its leading magic bytes) is
// written with gzip.NoCompression, which wraps it in stored deflate blocks so
// that no CPU time is spent on a futile compression attempt; all other content
// is written with gzip.DefaultCompression. Either way every object is a plain
// gzip file and can be inspected with standard tools such as zcat.
//
// Files whose names start with ".tmp-" are in-progress writes. No other files
// are created by the store, and files and directories with other names are
// ignored.
//
// # Durability
//
// [Store.Put] writes an object to a temporary file in its shard directory,
// fsyncs the file, renames it to its final name and then fsyncs the shard
// directory (and the store directory when the shard directory was newly
// created). Because rename is atomic, a crash at any point (including
// kill -9 or power loss) leaves either no object or a complete one under the
// final name; it never exposes a partially written object. Temporary files
// left behind by a crash are removed by [Open]. A directory should therefore
// be used by at most one process at a time: Open in a second process could
// remove a temporary file that the first process is still writing.
//
// [Store.Get] verifies the SHA-256 of every object it returns, so damage on
// disk is reported as [ErrCorrupt] rather than returned as evidence.
//
// # Retention
//
// The modification time of an object file records when it was last stored:
// storing content that is already present does not rewrite the object but
// sets its modification time to the current time. [Store.Prune] uses these
// times to remove objects that are neither referenced nor recent, and to keep
// the store under a size limit. Reading an object with Get does not update
// its modification time.
package evidence

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMaxObject is the default value of [Store.MaxObject]: 16 MiB.
const DefaultMaxObject = 16 << 20

// KeyLen is the length of a key: 64 lowercase hexadecimal digits.
const KeyLen = 2 * sha256.Size

// tmpPrefix is the name prefix of temporary files created by Put.
const tmpPrefix = ".tmp-"

var (
	// ErrBadKey is returned (wrapped) when a key is not exactly KeyLen
	// lowercase hexadecimal digits.
	ErrBadKey = errors.New("evidence: malformed key")

	// ErrNotFound is returned (wrapped) by Get when no object has the key.
	ErrNotFound = errors.New("evidence: object not found")

	// ErrCorrupt is returned (wrapped) by Get when an object file cannot be
	// decompressed or its content does not hash to its key.
	ErrCorrupt = errors.New("evidence: corrupt object")

	// ErrTooLarge is returned (wrapped) by Put for content larger than
	// MaxObject and by Get when an object decompresses to more than
	// MaxObject bytes (for example a decompression bomb).
	ErrTooLarge = errors.New("evidence: object too large")
)

// A Store is a content-addressed object store rooted at a directory.
// See the package documentation for its layout and guarantees.
//
// A Store is safe for concurrent use by multiple goroutines.
type Store struct {
	dir string

	// MaxObject is the largest uncompressed object size, in bytes, that Put
	// accepts and Get returns. Open sets it to DefaultMaxObject. It must
	// not be changed while other methods are running.
	MaxObject int64

	// mu is held for reading by Put and for writing by Prune, so that Prune
	// cannot remove an object between Put finding it present and Put
	// returning its key.
	mu sync.RWMutex
}

// Open opens the store in directory dir, creating the directory with
// permission 0700 if it does not exist. It removes temporary files left over
// from interrupted writes.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("evidence: open: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("evidence: open: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("evidence: open %s: not a directory", dir)
	}
	s := &Store{dir: dir, MaxObject: DefaultMaxObject}
	if err := s.removeTemps(); err != nil {
		return nil, fmt.Errorf("evidence: open: %w", err)
	}
	return s, nil
}

// Dir returns the directory the store is rooted at.
func (s *Store) Dir() string { return s.dir }

// removeTemps removes temporary files from the store directory and from every
// shard directory.
func (s *Store) removeTemps() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var errs []error
	clean := func(dir string, ents []os.DirEntry) {
		removed := false
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), tmpPrefix) && !e.IsDir() {
				err := os.Remove(filepath.Join(dir, e.Name()))
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, err)
				}
				removed = true
			}
		}
		if removed {
			if err := syncDir(dir); err != nil {
				errs = append(errs, err)
			}
		}
	}
	clean(s.dir, ents)
	for _, e := range ents {
		if !e.IsDir() || !isShard(e.Name()) {
			continue
		}
		sd := filepath.Join(s.dir, e.Name())
		sents, err := os.ReadDir(sd)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		clean(sd, sents)
	}
	return errors.Join(errs...)
}

// ValidKey reports whether key is a well-formed key: exactly KeyLen
// lowercase hexadecimal digits.
func ValidKey(key string) bool {
	if len(key) != KeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if !isLowerHex(key[i]) {
			return false
		}
	}
	return true
}

func isLowerHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
}

func isShard(name string) bool {
	return len(name) == 2 && isLowerHex(name[0]) && isLowerHex(name[1])
}

// checkKey returns an error wrapping ErrBadKey if key is malformed.
func checkKey(key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	return nil
}

// path returns the file name of the object with the given (valid) key.
func (s *Store) path(key string) string {
	return filepath.Join(s.dir, key[:2], key)
}

func (s *Store) maxObject() int64 {
	if s.MaxObject <= 0 {
		return DefaultMaxObject
	}
	return s.MaxObject
}

// Key returns the key under which data is stored: the lowercase hexadecimal
// SHA-256 of data.
func Key(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Put stores data and returns its key. If an object with the same content is
// already present, Put does not rewrite it but sets its modification time to
// the current time, so that retention treats it as recently stored.
//
// When Put returns a nil error the object has been durably written: its file,
// its name and its shard directory have been synced to stable storage.
// Put returns an error wrapping ErrTooLarge if len(data) exceeds MaxObject.
func (s *Store) Put(data []byte) (key string, err error) {
	if int64(len(data)) > s.maxObject() {
		return "", fmt.Errorf("%w: %d bytes exceeds limit of %d", ErrTooLarge, len(data), s.maxObject())
	}
	key = Key(data)

	s.mu.RLock()
	defer s.mu.RUnlock()

	final := s.path(key)
	if fi, err := os.Stat(final); err == nil && fi.Mode().IsRegular() {
		now := time.Now()
		if err := os.Chtimes(final, now, now); err != nil {
			return "", fmt.Errorf("evidence: put %s: %w", key, err)
		}
		return key, nil
	}

	shard := filepath.Join(s.dir, key[:2])
	switch err := os.Mkdir(shard, 0o700); {
	case err == nil:
		if err := syncDir(s.dir); err != nil {
			return "", fmt.Errorf("evidence: put %s: %w", key, err)
		}
	case errors.Is(err, fs.ErrExist):
	default:
		return "", fmt.Errorf("evidence: put %s: %w", key, err)
	}

	if err := writeObject(shard, final, data); err != nil {
		return "", fmt.Errorf("evidence: put %s: %w", key, err)
	}
	return key, nil
}

// writeObject atomically and durably writes the compressed form of data to
// the file final in directory shard.
func writeObject(shard, final string, data []byte) (err error) {
	f, err := os.CreateTemp(shard, tmpPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()

	level := gzip.DefaultCompression
	if precompressed(data) {
		level = gzip.NoCompression
	}
	zw, err := gzip.NewWriterLevel(f, level)
	if err != nil {
		return err
	}
	if _, err := zw.Write(data); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Concurrent Puts of the same content may race to this point; rename
	// atomically replaces the file, and both versions are identical.
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	return syncDir(shard)
}

// magics lists leading bytes of formats that are already compressed.
var magics = [][]byte{
	[]byte("\x89PNG\r\n\x1a\n"), // PNG
	[]byte("\xff\xd8\xff"),      // JPEG
	[]byte("GIF8"),              // GIF
	[]byte("\x1f\x8b"),          // gzip
	[]byte("PK\x03\x04"),        // zip
	[]byte("\x28\xb5\x2f\xfd"),  // zstd
	[]byte("BZh"),               // bzip2
	[]byte("\xfd7zXZ\x00"),      // xz
}

// precompressed reports whether data looks like an already compressed format,
// for which further compression is not worth the CPU time.
func precompressed(data []byte) bool {
	for _, m := range magics {
		if bytes.HasPrefix(data, m) {
			return true
		}
	}
	// WebP: "RIFF" <size> "WEBP".
	return len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP"
}

// syncDir fsyncs the directory dir so that changes to its entries are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Get returns the content stored under key.
//
// Get returns an error wrapping ErrBadKey if key is malformed, ErrNotFound if
// there is no such object, ErrTooLarge if the object decompresses to more
// than MaxObject bytes, and ErrCorrupt if the object cannot be decompressed
// or its content does not match key.
func (s *Store) Get(key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return nil, fmt.Errorf("evidence: get %s: %w", key, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("evidence: get %s: %w", key, err)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s: not a regular file", ErrCorrupt, key)
	}

	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
	}
	zr.Multistream(false)
	limit := s.maxObject()
	data, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s: decompresses to more than %d bytes", ErrTooLarge, key, limit)
	}
	if Key(data) != key {
		return nil, fmt.Errorf("%w: %s: content hash mismatch", ErrCorrupt, key)
	}
	return data, nil
}

// Has reports whether an object with the given key is present. It does not
// verify the object's content, and it reports false for a malformed key.
func (s *Store) Has(key string) bool {
	if !ValidKey(key) {
		return false
	}
	fi, err := os.Stat(s.path(key))
	return err == nil && fi.Mode().IsRegular()
}

// object describes one object file.
type object struct {
	key   string
	size  int64
	mtime time.Time
}

// list returns every object in the store.
func (s *Store) list() ([]object, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var objs []object
	for _, e := range ents {
		if !e.IsDir() || !isShard(e.Name()) {
			continue
		}
		sd := filepath.Join(s.dir, e.Name())
		sents, err := os.ReadDir(sd)
		if err != nil {
			return nil, err
		}
		for _, se := range sents {
			name := se.Name()
			if !se.Type().IsRegular() || !ValidKey(name) || name[:2] != e.Name() {
				continue
			}
			fi, err := se.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed concurrently
			} else if err != nil {
				return nil, err
			}
			objs = append(objs, object{key: name, size: fi.Size(), mtime: fi.ModTime()})
		}
	}
	return objs, nil
}

// Stat returns the number of objects in the store and their total size on
// disk, in bytes, after compression.
func (s *Store) Stat() (objects int, bytes int64, err error) {
	objs, err := s.list()
	if err != nil {
		return 0, 0, fmt.Errorf("evidence: stat: %w", err)
	}
	for _, o := range objs {
		bytes += o.size
	}
	return len(objs), bytes, nil
}

// Prune removes objects in two passes and reports how many objects it removed
// and how many bytes of disk space (compressed size) they occupied.
//
// First it removes every object for which keep(key) returns false and whose
// modification time is before olderThan; a zero olderThan removes nothing in
// this pass. Then, if maxBytes is positive and the objects remaining still
// occupy more than maxBytes bytes on disk, it removes further objects for
// which keep returned false, oldest modification time first, until the total
// is at most maxBytes or no such objects remain.
//
// An object for which keep returns true is never removed, even if that leaves
// the store above maxBytes. A nil keep keeps nothing. keep is called at most
// once per object, while the store is locked against Put; it must not call
// Put or Prune on the same Store.
//
// Prune blocks concurrent calls to Put for its duration, so an object whose
// key Put has returned is not removed before that Put completes; a later
// Put of the same content restores or refreshes it.
func (s *Store) Prune(keep func(key string) bool, olderThan time.Time, maxBytes int64) (removed int, freed int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	objs, err := s.list()
	if err != nil {
		return 0, 0, fmt.Errorf("evidence: prune: %w", err)
	}
	var total int64
	for _, o := range objs {
		total += o.size
	}

	var errs []error
	dirty := make(map[string]bool)
	remove := func(o object) bool {
		err := os.Remove(s.path(o.key))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			return false
		}
		dirty[o.key[:2]] = true
		total -= o.size
		if err == nil {
			removed++
			freed += o.size
		}
		return true
	}

	var candidates []object // unkept objects surviving the age pass
	for _, o := range objs {
		if keep != nil && keep(o.key) {
			continue
		}
		if o.mtime.Before(olderThan) {
			if remove(o) {
				continue
			}
		}
		candidates = append(candidates, o)
	}

	if maxBytes > 0 && total > maxBytes {
		slices.SortFunc(candidates, func(a, b object) int {
			if c := a.mtime.Compare(b.mtime); c != 0 {
				return c
			}
			return strings.Compare(a.key, b.key)
		})
		for _, o := range candidates {
			if total <= maxBytes {
				break
			}
			remove(o)
		}
	}

	for shard := range dirty {
		if err := syncDir(filepath.Join(s.dir, shard)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, freed, fmt.Errorf("evidence: prune: %w", err)
	}
	return removed, freed, nil
}
