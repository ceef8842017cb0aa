package ransom

import (
	"encoding/binary"
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// permGate holds back the opens of suspect processes (fanotify permission
// events, FAN_OPEN_PERM) until their earlier writes have been analysed. A
// fast encryptor is otherwise hundreds of files ahead of any analysis that
// reads what it wrote; gated, it cannot open its next file before the
// verdict on the previous ones, and is refused once detected. Processes
// that are not suspect (they have not overwritten, renamed or deleted a
// file recently) are answered at once.
type permGate struct {
	fd      int
	f       *os.File
	self    int
	procs   *procCache
	suspect func(Actor) bool // fast: must this open wait?
	await   func(Actor) bool // slow: wait for the analysis; true = allow
}

func newPermGate(procs *procCache, suspect, await func(Actor) bool) (*permGate, error) {
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_CONTENT|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, unix.O_RDONLY|unix.O_LARGEFILE)
	if err != nil {
		return nil, err
	}
	return &permGate{fd: fd, f: os.NewFile(uintptr(fd), "fanotify-perm"), self: os.Getpid(),
		procs: procs, suspect: suspect, await: await}, nil
}

func (g *permGate) add(dir string) {
	_ = unix.FanotifyMark(g.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_ONLYDIR, unix.FAN_OPEN_PERM|unix.FAN_EVENT_ON_CHILD, unix.AT_FDCWD, dir)
}

func (g *permGate) remove(dir string) {
	_ = unix.FanotifyMark(g.fd, unix.FAN_MARK_REMOVE|unix.FAN_MARK_ONLYDIR, unix.FAN_OPEN_PERM|unix.FAN_EVENT_ON_CHILD, unix.AT_FDCWD, dir)
}

// close lets every pending open through: the kernel allows the events of
// a closed group.
func (g *permGate) close() { g.f.Close() }

func (g *permGate) answer(fd int32, allow bool) {
	var b [8]byte
	binary.NativeEndian.PutUint32(b[0:], uint32(fd))
	r := uint32(unix.FAN_ALLOW)
	if !allow {
		r = unix.FAN_DENY
	}
	binary.NativeEndian.PutUint32(b[4:], r)
	_, _ = unix.Write(g.fd, b[:])
	unix.Close(int(fd))
}

func (g *permGate) run() {
	rc, err := g.f.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 64<<10)
	for {
		err := rc.Read(func(fd uintptr) bool {
			n, err := unix.Read(int(fd), buf)
			if err == unix.EAGAIN {
				return false
			}
			if err != nil {
				return true
			}
			b := buf[:n]
			for len(b) >= unix.FAN_EVENT_METADATA_LEN {
				evLen := int(binary.NativeEndian.Uint32(b[0:]))
				if evLen < unix.FAN_EVENT_METADATA_LEN || evLen > len(b) {
					break
				}
				efd := int32(binary.NativeEndian.Uint32(b[16:]))
				pid := int(int32(binary.NativeEndian.Uint32(b[20:])))
				b = b[evLen:]
				if efd < 0 {
					continue
				}
				if pid == g.self || pid <= 0 {
					g.answer(efd, true)
					continue
				}
				a := g.procs.lookup(pid)
				if !g.suspect(a) {
					g.answer(efd, true)
					continue
				}
				// Answered from its own goroutine: the analysis this waits
				// for opens files itself, and its opens must not queue
				// behind this one.
				go func() { g.answer(efd, g.await(a)) }()
			}
			return true
		})
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			return
		}
	}
}

// enableGate turns on permission events; it must be called before any
// directory is added.
func (s *fanotifySource) enableGate(suspect, await func(Actor) bool) error {
	g, err := newPermGate(&s.procs, suspect, await)
	if err != nil {
		return err
	}
	s.perm = g
	return nil
}
