package ransom

import (
	"encoding/binary"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// permGate holds back the opens of suspect processes (fanotify permission
// events, FAN_OPEN_PERM) until their earlier writes have been analysed. A
// fast encryptor is otherwise hundreds of files ahead of any analysis that
// reads what it wrote; gated, it cannot open its next file before the
// verdict on the previous ones, and is refused once detected.
//
// Every open of a file in a watched folder comes here (one permission mark
// per folder, like the notification marks). Before answering, the gate
// reads whatever events the kernel has queued, so that a process whose
// previous file was an overwrite is already known as suspect when it opens
// its next one. Processes that are not suspect (they have not overwritten,
// renamed or deleted a file in the last ten seconds) are answered at once.
type permGate struct {
	mu     sync.Mutex // guards the fd's use: after close its number may be reused
	closed bool
	wg     sync.WaitGroup // the reader and the answers still waiting
	drain  func()         // reads queued notification events first
	// anySuspect is the fast path: with no suspect at all, an open is
	// let through without looking at its process.
	anySuspect func() bool
	events     atomic.Int64 // permission events answered
	fd         int
	wake       int // eventfd that ends run
	self       int
	procs      *procCache
	suspect    func(Actor) bool // fast: must this open wait?
	await      func(Actor) bool // slow: wait for the analysis; true = allow
}

func newPermGate(procs *procCache, suspect, await func(Actor) bool) (*permGate, error) {
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_CONTENT|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, unix.O_RDONLY|unix.O_LARGEFILE)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &permGate{fd: fd, wake: wake, self: os.Getpid(), procs: procs, suspect: suspect, await: await}, nil
}

func (g *permGate) add(dir string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		_ = unix.FanotifyMark(g.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_ONLYDIR, unix.FAN_OPEN_PERM|unix.FAN_EVENT_ON_CHILD, unix.AT_FDCWD, dir)
	}
}

func (g *permGate) remove(dir string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		_ = unix.FanotifyMark(g.fd, unix.FAN_MARK_REMOVE|unix.FAN_MARK_ONLYDIR, unix.FAN_OPEN_PERM|unix.FAN_EVENT_ON_CHILD, unix.AT_FDCWD, dir)
	}
}

// close lets every pending open through (the kernel allows the events of
// a closed group) and returns once no goroutine of the gate is left.
func (g *permGate) close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	g.mu.Unlock()
	var one [8]byte
	one[0] = 1
	_, _ = unix.Write(g.wake, one[:])
	g.wg.Wait()
	unix.Close(g.fd)
	unix.Close(g.wake)
}

func (g *permGate) answer(fd int32, allow bool) {
	var b [8]byte
	binary.NativeEndian.PutUint32(b[0:], uint32(fd))
	r := uint32(unix.FAN_ALLOW)
	if !allow {
		r = unix.FAN_DENY
	}
	binary.NativeEndian.PutUint32(b[4:], r)
	g.mu.Lock()
	if !g.closed {
		_, _ = unix.Write(g.fd, b[:])
	}
	g.mu.Unlock()
	unix.Close(int(fd))
}

// run answers permission events on a thread of its own, blocked in poll
// rather than in the runtime's network poller: each open of a watched file
// waits for this loop, and a goroutine woken through the scheduler for
// every open costs several times the work of answering it.
func (g *permGate) run() {
	defer g.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	buf := make([]byte, 64<<10)
	fds := []unix.PollFd{{Fd: int32(g.fd), Events: unix.POLLIN}, {Fd: int32(g.wake), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			return
		}
		if fds[1].Revents != 0 {
			return
		}
		n, err := unix.Read(g.fd, buf)
		if err != nil || n <= 0 {
			continue
		}
		b := buf[:n]
		for len(b) >= unix.FAN_EVENT_METADATA_LEN {
			evLen := int(binary.NativeEndian.Uint32(b[0:]))
			if evLen < unix.FAN_EVENT_METADATA_LEN || evLen > len(b) {
				break
			}
			efd := int32(binary.NativeEndian.Uint32(b[16:]))
			g.events.Add(1)
			pid := int(int32(binary.NativeEndian.Uint32(b[20:])))
			b = b[evLen:]
			if efd < 0 {
				continue
			}
			if pid == g.self || pid <= 0 {
				g.answer(efd, true)
				continue
			}
			if g.drain != nil {
				g.drain()
			}
			if !g.anySuspect() {
				g.answer(efd, true)
				continue
			}
			a := g.procs.lookup(pid)
			if !g.suspect(a) {
				g.answer(efd, true)
				continue
			}
			// Answered from its own goroutine: the analysis this waits for
			// opens files itself, and its opens must not queue behind this
			// one.
			g.wg.Add(1)
			go func() { defer g.wg.Done(); g.answer(efd, g.await(a)) }()
		}
	}
}

// enableGate turns on permission events; it must be called before any
// directory is added.
func (s *fanotifySource) enableGate(suspect, await func(Actor) bool, anySuspect func() bool) error {
	g, err := newPermGate(&s.procs, suspect, await)
	if err != nil {
		return err
	}
	g.anySuspect = anySuspect
	g.drain = s.drain
	s.perm = g
	g.wg.Add(1)
	go g.run()
	return nil
}

func (s *fanotifySource) gateEvents() int64 {
	if s.perm == nil {
		return 0
	}
	return s.perm.events.Load()
}
