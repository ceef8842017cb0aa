package ransom

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// newSource opens fanotify when the process may (CAP_SYS_ADMIN), and
// inotify otherwise or when forced.
func newSource(forceInotify bool) (source, string, error) {
	if !forceInotify {
		s, err := newFanotify()
		if err == nil {
			return s, "", nil
		}
		note := fmt.Sprintf("fanotify unavailable (%v): using inotify, events are not attributed to processes", err)
		in, err2 := newInotify()
		if err2 != nil {
			return nil, "", fmt.Errorf("fanotify: %v; inotify: %w", err, err2)
		}
		return in, note, nil
	}
	in, err := newInotify()
	if err != nil {
		return nil, "", err
	}
	return in, "inotify (forced): events are not attributed to processes", nil
}

func readSysInt(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// ---- fanotify ----

const fanDirMask = unix.FAN_CREATE | unix.FAN_DELETE | unix.FAN_CLOSE_WRITE | unix.FAN_ONDIR | unix.FAN_EVENT_ON_CHILD

type fanotifySource struct {
	fd     int
	f      *os.File
	rename bool // FAN_RENAME (Linux 5.17+) reports both names in one event
	mu     sync.Mutex
	dirs   dirIndex[string] // fsid+handle <-> directory path
	procs  procCache

	readMu    sync.Mutex // one reader at a time: run, or drain for the gate
	buf       []byte
	emit      func(Event)
	movedFrom *Event

	perm *permGate // nil when permission events are unavailable
}

func newFanotify() (*fanotifySource, error) {
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK|unix.FAN_REPORT_DFID_NAME,
		unix.O_RDONLY|unix.O_LARGEFILE)
	if err != nil {
		return nil, err
	}
	return &fanotifySource{fd: fd, f: os.NewFile(uintptr(fd), "fanotify"), rename: true,
		dirs: newDirIndex[string](), buf: make([]byte, 256<<10)}, nil
}

func (s *fanotifySource) name() string     { return "fanotify" }
func (s *fanotifySource) attributed() bool { return true }
func (s *fanotifySource) budget() int      { return readSysInt("/proc/sys/fs/fanotify/max_user_marks") }

// close ends the permission gate first (pending opens are let through),
// then the event stream.
func (s *fanotifySource) close() error {
	if s.perm != nil {
		s.perm.close()
	}
	return s.f.Close()
}

func dirKey(dir string) (string, error) {
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, dir, 0)
	if err != nil {
		return "", err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "", err
	}
	b := make([]byte, 12, 12+h.Size())
	binary.NativeEndian.PutUint32(b[0:], uint32(st.Fsid.Val[0]))
	binary.NativeEndian.PutUint32(b[4:], uint32(st.Fsid.Val[1]))
	binary.NativeEndian.PutUint32(b[8:], uint32(h.Type()))
	return string(append(b, h.Bytes()...)), nil
}

func (s *fanotifySource) add(dir string, gate bool) error {
	key, err := dirKey(dir)
	if err != nil {
		return err
	}
	mask := uint64(fanDirMask)
	if s.rename {
		err = unix.FanotifyMark(s.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_ONLYDIR, mask|unix.FAN_RENAME, unix.AT_FDCWD, dir)
		if errors.Is(err, unix.EINVAL) {
			s.rename = false
		}
	}
	if !s.rename {
		err = unix.FanotifyMark(s.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_ONLYDIR, mask|unix.FAN_MOVED_FROM|unix.FAN_MOVED_TO, unix.AT_FDCWD, dir)
	}
	if err != nil {
		return err
	}
	if s.perm != nil && gate {
		s.perm.add(dir)
	}
	s.mu.Lock()
	s.dirs.set(dir, key)
	s.mu.Unlock()
	return nil
}

func (s *fanotifySource) remove(dir string) {
	_ = unix.FanotifyMark(s.fd, unix.FAN_MARK_REMOVE|unix.FAN_MARK_ONLYDIR, fanDirMask|unix.FAN_RENAME|unix.FAN_MOVED_FROM|unix.FAN_MOVED_TO, unix.AT_FDCWD, dir)
	if s.perm != nil {
		s.perm.remove(dir)
	}
	s.forget(dir)
}

func (s *fanotifySource) forget(dir string) {
	s.mu.Lock()
	s.dirs.forget(dir)
	s.mu.Unlock()
}

// moved re-points the remembered paths of a renamed directory tree: the
// handles stay the same, the names change.
func (s *fanotifySource) moved(from, to string) {
	s.mu.Lock()
	s.dirs.moved(from, to)
	s.mu.Unlock()
}

// dirIndex maps watched directories to the kernel's name for them (a file
// handle, a watch descriptor) and back; its owner holds the lock.
type dirIndex[K comparable] struct {
	byPath map[string]K
	byKey  map[K]string
}

func newDirIndex[K comparable]() dirIndex[K] {
	return dirIndex[K]{byPath: map[string]K{}, byKey: map[K]string{}}
}

func (x dirIndex[K]) set(dir string, k K) {
	if old, ok := x.byPath[dir]; ok {
		delete(x.byKey, old)
	}
	x.byPath[dir] = k
	x.byKey[k] = dir
}

// forget drops dir and everything below it.
func (x dirIndex[K]) forget(dir string) {
	for p, k := range x.byPath {
		if within(p, dir) {
			delete(x.byPath, p)
			delete(x.byKey, k)
		}
	}
}

// moved renames dir and everything below it from from to to.
func (x dirIndex[K]) moved(from, to string) {
	for p, k := range x.byPath {
		if within(p, from) {
			np := to + p[len(from):]
			delete(x.byPath, p)
			x.byPath[np] = k
			x.byKey[k] = np
		}
	}
}

// errOverflow is reported (as a counted drop) when the kernel queue overflowed.
var errOverflow = errors.New("event queue overflow")

func (s *fanotifySource) run(emit func(Event)) error {
	s.readMu.Lock()
	s.emit = emit
	s.readMu.Unlock()
	rc, err := s.f.SyscallConn()
	if err != nil {
		return err
	}
	for {
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			s.readMu.Lock()
			defer s.readMu.Unlock()
			n, err := unix.Read(int(fd), s.buf)
			if err == unix.EAGAIN {
				return false
			}
			if err != nil {
				if err != unix.EINTR {
					rerr = err
				}
				return true
			}
			s.parse(s.buf[:n])
			return true
		})
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
		if rerr != nil {
			return rerr
		}
	}
}

// drain reads and emits every event the kernel has queued, without
// waiting: the permission gate calls it so that a process's earlier writes
// are analysed before its next open is answered.
func (s *fanotifySource) drain() {
	rc, err := s.f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		s.readMu.Lock()
		defer s.readMu.Unlock()
		if s.emit == nil {
			return
		}
		for {
			n, err := unix.Read(int(fd), s.buf)
			if err != nil || n <= 0 {
				return
			}
			s.parse(s.buf[:n])
		}
	})
}

// parse decodes a buffer of FID-mode events; readMu is held.
func (s *fanotifySource) parse(b []byte) {
	emit := s.emit
	now := time.Now()
	for len(b) >= unix.FAN_EVENT_METADATA_LEN {
		evLen := int(binary.NativeEndian.Uint32(b[0:]))
		if evLen < unix.FAN_EVENT_METADATA_LEN || evLen > len(b) {
			break
		}
		metaLen := int(binary.NativeEndian.Uint16(b[6:]))
		mask := binary.NativeEndian.Uint64(b[8:])
		fd := int32(binary.NativeEndian.Uint32(b[16:]))
		pid := int(int32(binary.NativeEndian.Uint32(b[20:])))
		if fd >= 0 {
			unix.Close(int(fd))
		}
		if metaLen > evLen {
			break
		}
		rec := b[metaLen:evLen]
		b = b[evLen:]
		if mask&unix.FAN_Q_OVERFLOW != 0 {
			emit(Event{Op: 0, Time: now}) // counted as a drop by the watcher
			continue
		}
		var oldPath, newPath, path string
		for len(rec) >= 4 {
			typ := rec[0]
			l := int(binary.NativeEndian.Uint16(rec[2:]))
			if l < 4 || l > len(rec) {
				break
			}
			body := rec[4:l]
			rec = rec[l:]
			if len(body) < 16 {
				continue
			}
			hb := int(binary.NativeEndian.Uint32(body[8:]))
			if hb < 0 || 16+hb > len(body) {
				continue
			}
			key := make([]byte, 0, 12+hb)
			key = append(key, body[0:8]...)
			key = append(key, body[12:16]...)
			key = append(key, body[16:16+hb]...)
			name := body[16+hb:]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			s.mu.Lock()
			dir, ok := s.dirs.byKey[string(key)]
			s.mu.Unlock()
			p := ""
			if ok {
				p = dir
				if len(name) > 0 && string(name) != "." {
					p = filepath.Join(dir, string(name))
				}
			}
			switch typ {
			case unix.FAN_EVENT_INFO_TYPE_OLD_DFID_NAME:
				oldPath = p
			case unix.FAN_EVENT_INFO_TYPE_NEW_DFID_NAME:
				newPath = p
			case unix.FAN_EVENT_INFO_TYPE_DFID_NAME, unix.FAN_EVENT_INFO_TYPE_DFID:
				path = p
			}
		}
		ev := Event{IsDir: mask&unix.FAN_ONDIR != 0, Time: now}
		if pid > 0 {
			ev.Actor = s.procs.lookup(pid)
		}
		switch {
		case mask&unix.FAN_RENAME != 0:
			if newPath == "" { // moved out of the watched tree
				if oldPath != "" {
					ev.Op, ev.Path = OpDelete, oldPath
					if ev.IsDir {
						s.forget(oldPath)
					}
					emit(ev)
				}
				continue
			}
			ev.Op, ev.Path, ev.From = OpRename, newPath, oldPath
			if ev.IsDir && oldPath != "" {
				s.moved(oldPath, newPath)
			}
			emit(ev)
		case mask&unix.FAN_MOVED_FROM != 0 && path != "":
			if s.movedFrom != nil {
				s.movedFrom.Op = OpDelete
				emit(*s.movedFrom)
			}
			e := ev
			e.Path = path
			s.movedFrom = &e
		case mask&unix.FAN_MOVED_TO != 0 && path != "":
			ev.Op, ev.Path = OpRename, path
			if s.movedFrom != nil {
				ev.From = s.movedFrom.Path
				s.movedFrom = nil
				if ev.IsDir {
					s.moved(ev.From, ev.Path)
				}
			}
			emit(ev)
		case path == "":
			continue // a directory no longer watched
		default:
			// The kernel merges events on the same name that are still
			// queued: one record may say created, written and deleted.
			ev.Path = path
			if mask&unix.FAN_CREATE != 0 {
				ev.Op = OpCreate
				emit(ev)
			}
			if mask&unix.FAN_CLOSE_WRITE != 0 {
				ev.Op = OpWrite
				emit(ev)
			}
			if mask&unix.FAN_DELETE != 0 {
				ev.Op = OpDelete
				if ev.IsDir {
					s.forget(path)
				}
				emit(ev)
			}
		}
	}
	if s.movedFrom != nil { // never paired: moved out of the tree
		s.movedFrom.Op = OpDelete
		if s.movedFrom.IsDir {
			s.forget(s.movedFrom.Path)
		}
		emit(*s.movedFrom)
		s.movedFrom = nil
	}
}

// procCache resolves a pid to its executable and user. The executable is
// read every time (one readlink): a pid keeps its number across exec, and
// a cached name would pin a forked child's writes on its parent's program.
// The user is cached for a few seconds. A process gone before its event
// is read keeps only its pid.
type procCache struct {
	mu sync.Mutex
	m  map[int]procEntry
}

type procEntry struct {
	uid int
	t   time.Time
}

func (c *procCache) lookup(pid int) Actor {
	a := Actor{Pid: pid, UID: -1}
	a.Exe, _ = os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	a.Exe = strings.TrimSuffix(a.Exe, " (deleted)")
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[pid]
	c.mu.Unlock()
	if ok && now.Sub(e.t) < 5*time.Second {
		a.UID = e.uid
		return a
	}
	a.UID = procUID(pid)
	c.mu.Lock()
	if c.m == nil || len(c.m) > 8192 {
		c.m = map[int]procEntry{}
	}
	c.m[pid] = procEntry{a.UID, now}
	c.mu.Unlock()
	return a
}

func procActor(pid int) Actor {
	a := Actor{Pid: pid}
	a.Exe, _ = os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	a.Exe = strings.TrimSuffix(a.Exe, " (deleted)")
	a.UID = procUID(pid)
	return a
}

// procUID reads a process's real uid, or -1.
func procUID(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Uid:"); ok {
			if fs := strings.Fields(v); len(fs) > 0 {
				if uid, err := strconv.Atoi(fs[0]); err == nil {
					return uid
				}
			}
			break
		}
	}
	return -1
}

// ---- inotify ----

type inotifySource struct {
	fd     int
	f      *os.File
	mu     sync.Mutex
	dirs   dirIndex[int32] // watch descriptor <-> directory path
	queued atomic.Int64
}

func newInotify() (*inotifySource, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	return &inotifySource{fd: fd, f: os.NewFile(uintptr(fd), "inotify"),
		dirs: newDirIndex[int32]()}, nil
}

func (s *inotifySource) name() string     { return "inotify" }
func (s *inotifySource) attributed() bool { return false }
func (s *inotifySource) budget() int      { return readSysInt("/proc/sys/fs/inotify/max_user_watches") }
func (s *inotifySource) close() error     { return s.f.Close() }

const inMask = unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_ONLYDIR | unix.IN_EXCL_UNLINK

func (s *inotifySource) add(dir string, _ bool) error {
	wd, err := unix.InotifyAddWatch(s.fd, dir, inMask)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.dirs.set(dir, int32(wd))
	s.mu.Unlock()
	return nil
}

func (s *inotifySource) remove(dir string) {
	s.mu.Lock()
	wd, ok := s.dirs.byPath[dir]
	s.mu.Unlock()
	if ok {
		_, _ = unix.InotifyRmWatch(s.fd, uint32(wd))
	}
	s.forget(dir)
}

func (s *inotifySource) forget(dir string) {
	s.mu.Lock()
	s.dirs.forget(dir)
	s.mu.Unlock()
}

func (s *inotifySource) moved(from, to string) {
	s.mu.Lock()
	s.dirs.moved(from, to)
	s.mu.Unlock()
}

func (s *inotifySource) run(emit func(Event)) error {
	buf := make([]byte, 256<<10)
	type from struct {
		cookie uint32
		ev     Event
	}
	var pending *from
	for {
		n, err := s.f.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return nil
			}
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			return err
		}
		now := time.Now()
		b := buf[:n]
		for len(b) >= unix.SizeofInotifyEvent {
			wd := int32(binary.NativeEndian.Uint32(b[0:]))
			mask := binary.NativeEndian.Uint32(b[4:])
			cookie := binary.NativeEndian.Uint32(b[8:])
			l := int(binary.NativeEndian.Uint32(b[12:]))
			if unix.SizeofInotifyEvent+l > len(b) {
				break
			}
			name := b[unix.SizeofInotifyEvent : unix.SizeofInotifyEvent+l]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			b = b[unix.SizeofInotifyEvent+l:]
			if mask&unix.IN_Q_OVERFLOW != 0 {
				emit(Event{Op: 0, Time: now})
				continue
			}
			s.mu.Lock()
			dir, ok := s.dirs.byKey[wd]
			s.mu.Unlock()
			if mask&unix.IN_IGNORED != 0 {
				s.mu.Lock()
				if ok && s.dirs.byPath[dir] == wd {
					delete(s.dirs.byPath, dir)
				}
				delete(s.dirs.byKey, wd)
				s.mu.Unlock()
				continue
			}
			if !ok || len(name) == 0 {
				continue
			}
			ev := Event{Path: filepath.Join(dir, string(name)), IsDir: mask&unix.IN_ISDIR != 0, Time: now}
			switch {
			case mask&unix.IN_MOVED_FROM != 0:
				if pending != nil {
					pending.ev.Op = OpDelete
					emit(pending.ev)
				}
				pending = &from{cookie, ev}
			case mask&unix.IN_MOVED_TO != 0:
				ev.Op = OpRename
				if pending != nil && pending.cookie == cookie {
					ev.From = pending.ev.Path
					pending = nil
					if ev.IsDir {
						s.moved(ev.From, ev.Path)
					}
				}
				emit(ev)
			case mask&unix.IN_CREATE != 0:
				ev.Op = OpCreate
				emit(ev)
			case mask&unix.IN_DELETE != 0:
				ev.Op = OpDelete
				if ev.IsDir {
					s.forget(ev.Path)
				}
				emit(ev)
			case mask&unix.IN_CLOSE_WRITE != 0:
				ev.Op = OpWrite
				emit(ev)
			}
		}
		if pending != nil {
			pending.ev.Op = OpDelete
			if pending.ev.IsDir {
				s.forget(pending.ev.Path)
			}
			emit(pending.ev)
			pending = nil
		}
	}
}
