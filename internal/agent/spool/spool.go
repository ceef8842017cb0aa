// Package spool implements a durable, bounded, append-only FIFO queue on
// disk. The endpoint agent uses it to keep events (file-integrity events,
// ransomware signals, task results) while the server is unreachable and to
// deliver them later, in order.
//
// # Model
//
// Every record appended to a [Spool] receives a sequence number. Sequence
// numbers start at 1, increase by one per record, are never reused and
// survive restarts. Together with the agent's identity a sequence number
// forms the record's idempotency key (see [Key]); the server deduplicates
// by that key, so a record that is delivered twice (for example because the
// agent crashed after delivery but before [Spool.Ack]) is applied once.
//
// A consumer calls [Spool.Peek] to read the oldest unacknowledged records,
// delivers them and then calls [Spool.Ack] with the highest delivered
// sequence number. Records up to and including that number are never
// returned again, also after a restart.
//
// The spool is bounded by [Options.MaxBytes]. When an append would exceed
// the bound, the oldest segment is discarded, whether or not its records
// have been delivered: for incident response recent events matter most.
// The number of records and payload bytes discarded this way is kept in a
// persistent counter (see [Spool.Dropped]) so that the agent can report the
// loss.
//
// # On-disk format
//
// The spool directory holds segment files named after the sequence number
// of their first record (00000000000000000001.seg and so on) and a small
// state file. A segment is a sequence of frames:
//
//	length  uint32, little endian, payload length
//	crc     uint32, little endian, CRC-32C of length, seq and payload
//	seq     uint64, little endian
//	payload length bytes
//
// The state file records the acknowledged sequence number and the drop
// counters. It is replaced atomically: written to a temporary file,
// synced, renamed over the old one, and the directory synced.
//
// # Durability
//
// Unless [Options.NoSync] is set, an Append that returned nil has been
// written and fsynced, and so has the directory entry of a segment created
// for it: the records survive kill -9 of the process and power loss.
// An Ack or a drop that returned nil is likewise durable; acknowledged
// records may be delivered again only if Ack did not return.
//
// A crash during Append leaves at most a torn frame at the end of the last
// segment. Open detects it (short frame or bad checksum) and truncates the
// segment there; all earlier records are kept. Records whose Append did
// not return may or may not be present. A corrupt frame elsewhere (damaged
// media) makes the rest of that segment unreadable: those records are
// skipped and counted in [Stats.Corrupt], never returned half-read.
// Sequence numbers after a damaged tail are advanced far enough that a
// number the server may have seen is never issued again.
//
// With NoSync the operating system decides when data reach the disk: a
// process crash loses nothing, but a power loss may lose recent records
// and acknowledgements (acknowledged records are then delivered again),
// and sequence numbers may be issued again.
//
// A Spool is safe for concurrent use by the goroutines of one process. Two
// processes must not open the same directory at the same time.
package spool

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Defaults applied by [Open] to zero fields of [Options].
const (
	DefaultMaxBytes     = 64 << 20
	DefaultSegmentBytes = 4 << 20
)

// HeaderSize is the number of bytes each record occupies on disk in
// addition to its payload.
const HeaderSize = 16

// MaxRecordBytes is the largest payload a single record may have.
const MaxRecordBytes = 1 << 30

const (
	segSuffix = ".seg"
	segDigits = 20
)

var (
	// ErrClosed is returned by operations on a closed Spool.
	ErrClosed = errors.New("spool: closed")
	// ErrTooLarge is returned by Append when a record or batch cannot fit
	// in the spool at all.
	ErrTooLarge = errors.New("spool: record too large")
	// ErrBadAck is returned by Ack for a sequence number that has not been
	// assigned yet.
	ErrBadAck = errors.New("spool: ack of unassigned sequence number")
	// ErrCorruptState is returned by Open when the state file is damaged.
	ErrCorruptState = errors.New("spool: corrupt state file")
)

// Options configure a Spool. The zero value selects the defaults.
type Options struct {
	// MaxBytes bounds the total size of the segment files. Zero means
	// DefaultMaxBytes.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment is started. A
	// segment holds at least one Append batch, so a large batch can make
	// it bigger. Zero means DefaultSegmentBytes.
	SegmentBytes int64
	// NoSync disables all fsync calls: after each Append batch, on
	// segment creation and when the acknowledgement state is written. By
	// default (false) Append, Ack and drops are durable when they return.
	NoSync bool
}

// Record is a queued record as returned by Peek.
type Record struct {
	Seq  uint64
	Data []byte
}

// Stats describe the state of a Spool.
type Stats struct {
	Pending      int    // records appended but not yet acknowledged or dropped
	PendingBytes int64  // payload bytes of the pending records
	Dropped      uint64 // records discarded to respect MaxBytes, persistent
	DroppedBytes int64  // payload bytes of the dropped records, persistent
	NextSeq      uint64 // sequence number the next appended record receives
	Acked        uint64 // highest sequence number acknowledged or dropped
	Segments     int    // number of segment files
	DiskBytes    int64  // total size of the segment files
	Corrupt      int    // corrupt regions found since Open; their records are lost
	CorruptBytes int64  // bytes in those regions
}

// Key returns the idempotency key of the record with sequence number seq
// appended by the agent agentID.
func Key(agentID string, seq uint64) string {
	return agentID + ":" + strconv.FormatUint(seq, 10)
}

// segment is the in-memory view of one segment file.
type segment struct {
	first     uint64 // sequence number in the file name
	last      uint64 // last valid sequence number, first-1 if none
	size      int64  // size of the file
	end       int64  // end of the valid records
	readOff   int64  // offset of the first pending record; end if none
	pendCount int    // pending records in [readOff, end)
	pendBytes int64  // their payload bytes
}

// Spool is a durable on-disk FIFO queue. Create one with [Open].
type Spool struct {
	mu  sync.Mutex
	dir string
	opt Options

	segs     []*segment // oldest first; the last one is written to
	active   *os.File   // open for appending to segs[len(segs)-1]
	mustRoll bool       // the active segment is damaged; start a new one
	st       state
	next     uint64

	pending      int
	pendingBytes int64
	diskBytes    int64
	corrupt      int
	corruptBytes int64

	closed bool
	err    error // sticky error after a failed fsync
	buf    []byte
}

// Open opens the spool in dir, creating the directory if needed. It
// truncates a torn record at the end of the last segment and removes
// segments that are fully acknowledged.
func Open(dir string, opt Options) (*Spool, error) {
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.SegmentBytes <= 0 {
		opt.SegmentBytes = DefaultSegmentBytes
	}
	if opt.SegmentBytes > opt.MaxBytes {
		opt.SegmentBytes = opt.MaxBytes
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	st, err := readState(dir)
	if err != nil {
		return nil, err
	}
	_ = os.Remove(filepath.Join(dir, stateTmpName))

	firsts, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	s := &Spool{dir: dir, opt: opt, st: st}
	var skip uint64
	for i, first := range firsts {
		limit := uint64(math.MaxUint64)
		if i+1 < len(firsts) {
			limit = firsts[i+1]
		}
		seg, sk, err := s.loadSegment(first, limit, i == len(firsts)-1)
		if err != nil {
			return nil, err
		}
		skip = sk
		s.segs = append(s.segs, seg)
	}

	s.next = st.floor + 1
	if n := len(s.segs); n > 0 {
		if hi := s.segs[n-1].last + skip; hi >= s.next {
			s.next = hi + 1
		}
	}

	// Remove leading segments without pending records; keep the last one
	// for appending.
	for len(s.segs) > 1 && s.segs[0].pendCount == 0 {
		if err := os.Remove(s.segPath(s.segs[0].first)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("spool: %w", err)
		}
		s.segs = s.segs[1:]
	}
	for _, seg := range s.segs {
		s.pending += seg.pendCount
		s.pendingBytes += seg.pendBytes
		s.diskBytes += seg.size
	}

	if len(s.segs) == 0 {
		if err := s.createSegment(); err != nil {
			return nil, err
		}
	} else {
		f, err := os.OpenFile(s.segPath(s.segs[len(s.segs)-1].first), os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		s.active = f
	}
	return s, nil
}

// loadSegment scans one segment file. For the last segment a damaged or
// torn tail is truncated; skip is then the number of sequence numbers that
// may have been used by the lost frames.
func (s *Spool) loadSegment(first, limit uint64, last bool) (seg *segment, skip uint64, err error) {
	path := s.segPath(first)
	flag := os.O_RDONLY
	if last {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("spool: %w", err)
	}
	size := fi.Size()
	res, err := scanSegment(f, size, first, limit, s.st.floor)
	if err != nil {
		return nil, 0, fmt.Errorf("spool: reading %s: %w", path, err)
	}
	seg = &segment{
		first:     first,
		last:      res.last,
		size:      size,
		end:       res.end,
		readOff:   res.readOff,
		pendCount: res.pendCount,
		pendBytes: res.pendBytes,
	}
	if res.end == size {
		return seg, 0, nil
	}
	tail := size - res.end
	if !last {
		s.corrupt++
		s.corruptBytes += tail
		return seg, 0, nil
	}
	if res.bad {
		s.corrupt++
		s.corruptBytes += tail
	}
	if err := f.Truncate(res.end); err != nil {
		return nil, 0, fmt.Errorf("spool: truncating torn tail of %s: %w", path, err)
	}
	if !s.opt.NoSync {
		if err := f.Sync(); err != nil {
			return nil, 0, fmt.Errorf("spool: %w", err)
		}
	}
	seg.size = res.end
	return seg, uint64(tail / HeaderSize), nil
}

// listSegments returns the first sequence numbers of the segment files in
// dir, in ascending order.
func listSegments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var firsts []uint64
	for _, e := range ents {
		name := e.Name()
		base, ok := strings.CutSuffix(name, segSuffix)
		if !ok || len(base) != segDigits || !e.Type().IsRegular() {
			continue
		}
		n, err := strconv.ParseUint(base, 10, 64)
		if err != nil || n == 0 {
			continue
		}
		firsts = append(firsts, n)
	}
	slices.Sort(firsts)
	return firsts, nil
}

func (s *Spool) segPath(first uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%0*d%s", segDigits, first, segSuffix))
}

// createSegment starts a new segment whose first record will be s.next
// and makes it the active one.
func (s *Spool) createSegment() error {
	f, err := os.OpenFile(s.segPath(s.next), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if !s.opt.NoSync {
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("spool: %w", err)
		}
		if err := syncDir(s.dir); err != nil {
			f.Close()
			return fmt.Errorf("spool: %w", err)
		}
	}
	if s.active != nil {
		s.active.Close()
	}
	s.active = f
	s.segs = append(s.segs, &segment{first: s.next, last: s.next - 1})
	s.mustRoll = false
	return nil
}

func (s *Spool) check() error {
	if s.closed {
		return ErrClosed
	}
	return s.err
}

// Append adds records to the end of the spool and returns the sequence
// number of the first; the others follow consecutively. The batch is
// written in one piece. Unless NoSync is set it is on stable storage when
// Append returns nil. If the spool would grow beyond MaxBytes, oldest
// segments are dropped first. Append with no records returns (0, nil).
func (s *Spool) Append(records ...[]byte) (firstSeq uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return 0, err
	}
	if len(records) == 0 {
		return 0, nil
	}
	var total, payload int64
	for _, r := range records {
		if len(r) > MaxRecordBytes {
			return 0, ErrTooLarge
		}
		total += HeaderSize + int64(len(r))
		payload += int64(len(r))
	}
	if total > s.opt.MaxBytes {
		return 0, ErrTooLarge
	}

	act := s.segs[len(s.segs)-1]
	if act.size > 0 && (s.mustRoll || act.size+total > s.opt.SegmentBytes || s.diskBytes+total > s.opt.MaxBytes) {
		if err := s.createSegment(); err != nil {
			return 0, err
		}
		act = s.segs[len(s.segs)-1]
	}
	for s.diskBytes+total > s.opt.MaxBytes && len(s.segs) > 1 {
		if err := s.dropOldest(); err != nil {
			return 0, err
		}
	}

	buf := s.buf[:0]
	seq := s.next
	for _, r := range records {
		buf = appendFrame(buf, seq, r)
		seq++
	}
	if cap(buf) <= 1<<20 {
		s.buf = buf
	}
	if _, err := s.active.WriteAt(buf, act.size); err != nil {
		// Remove a partial write so that the next batch starts on a
		// frame boundary.
		if terr := s.active.Truncate(act.size); terr != nil {
			s.err = fmt.Errorf("spool: unusable after failed write: %w", err)
		}
		return 0, fmt.Errorf("spool: %w", err)
	}
	if !s.opt.NoSync {
		if err := s.active.Sync(); err != nil {
			// After a failed fsync the state of the file is unknown.
			s.err = fmt.Errorf("spool: unusable after failed fsync, reopen: %w", err)
			return 0, s.err
		}
	}
	firstSeq = s.next
	if act.pendCount == 0 {
		act.readOff = act.size
	}
	act.size += total
	act.end = act.size
	act.last = seq - 1
	act.pendCount += len(records)
	act.pendBytes += payload
	s.pending += len(records)
	s.pendingBytes += payload
	s.diskBytes += total
	s.next = seq
	return firstSeq, nil
}

// dropOldest discards the oldest segment and counts its pending records
// as dropped. The active segment is never dropped.
func (s *Spool) dropOldest() error {
	seg := s.segs[0]
	ns := s.st
	ns.dropped += uint64(seg.pendCount)
	ns.droppedBytes += seg.pendBytes
	if seg.last > ns.floor {
		ns.floor = seg.last
	}
	if err := writeState(s.dir, ns, !s.opt.NoSync); err != nil {
		return err
	}
	s.st = ns
	s.segs = s.segs[1:]
	s.pending -= seg.pendCount
	s.pendingBytes -= seg.pendBytes
	s.diskBytes -= seg.size
	if err := os.Remove(s.segPath(seg.first)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// Peek returns the oldest unacknowledged records in order without removing
// them. It returns at most max records (no limit if max <= 0) and stops
// before the payloads exceed maxBytes (no limit if maxBytes <= 0), but
// always returns at least one record if any is pending. The returned Data
// slices belong to the caller.
func (s *Spool) Peek(max int, maxBytes int) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	var out []Record
	total := 0
	for i := 0; i < len(s.segs); i++ {
		seg := s.segs[i]
		if seg.pendCount == 0 {
			continue
		}
		full, err := s.peekSegment(seg, max, maxBytes, &out, &total)
		if err != nil {
			return nil, err
		}
		if full {
			break
		}
	}
	return out, nil
}

// peekSegment appends pending records of seg to *out. It reports whether
// a limit was reached.
func (s *Spool) peekSegment(seg *segment, max, maxBytes int, out *[]Record, total *int) (full bool, err error) {
	f, err := os.Open(s.segPath(seg.first))
	if err != nil {
		return false, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	fr := newFrameReader(f, seg.readOff, seg.end, max64(s.st.floor, seg.first-1))
	n := 0
	var b int64
	for n < seg.pendCount {
		if max > 0 && len(*out) >= max {
			return true, nil
		}
		h, err := fr.header()
		if err != nil {
			if errors.Is(err, errFrame) {
				s.markCorrupt(seg, fr.off, n, b)
				return false, nil
			}
			return false, fmt.Errorf("spool: %w", err)
		}
		if maxBytes > 0 && len(*out) > 0 && *total+int(h.length) > maxBytes {
			return true, nil
		}
		data, err := fr.payload(h, true)
		if err != nil {
			if errors.Is(err, errFrame) {
				s.markCorrupt(seg, fr.off, n, b)
				return false, nil
			}
			return false, fmt.Errorf("spool: %w", err)
		}
		*out = append(*out, Record{Seq: h.seq, Data: data})
		*total += len(data)
		n++
		b += int64(len(data))
	}
	return false, nil
}

// markCorrupt records that seg is damaged at off: the n records (b payload
// bytes) between seg.readOff and off are intact, the rest is lost.
func (s *Spool) markCorrupt(seg *segment, off int64, n int, b int64) {
	s.pending -= seg.pendCount - n
	s.pendingBytes -= seg.pendBytes - b
	seg.pendCount = n
	seg.pendBytes = b
	s.corrupt++
	s.corruptBytes += seg.end - off
	seg.end = off
	if seg == s.segs[len(s.segs)-1] {
		s.mustRoll = true
	}
}

// Ack marks every record with a sequence number up to and including
// uptoSeq as delivered. It is durable when it returns nil. Acknowledged
// records are not returned by Peek again, and segments holding only
// acknowledged records are deleted. Acking an already acknowledged number
// does nothing.
func (s *Spool) Ack(uptoSeq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	if uptoSeq >= s.next {
		return fmt.Errorf("%w: %d, next is %d", ErrBadAck, uptoSeq, s.next)
	}
	if uptoSeq <= s.st.floor {
		return nil
	}
	type advance struct {
		seg *segment
		off int64
		n   int
		b   int64
	}
	var advs []advance
	for _, seg := range s.segs {
		if seg.pendCount == 0 {
			continue
		}
		if seg.last <= uptoSeq {
			advs = append(advs, advance{seg, seg.end, seg.pendCount, seg.pendBytes})
			continue
		}
		if seg.first > uptoSeq {
			break
		}
		off, n, b, err := s.scanAck(seg, uptoSeq)
		if err != nil {
			return err
		}
		advs = append(advs, advance{seg, off, n, b})
		break
	}
	ns := s.st
	ns.floor = uptoSeq
	if err := writeState(s.dir, ns, !s.opt.NoSync); err != nil {
		return err
	}
	s.st = ns
	for _, a := range advs {
		a.seg.readOff = a.off
		a.seg.pendCount -= a.n
		a.seg.pendBytes -= a.b
		s.pending -= a.n
		s.pendingBytes -= a.b
	}
	for len(s.segs) > 1 && s.segs[0].pendCount == 0 {
		seg := s.segs[0]
		s.segs = s.segs[1:]
		s.diskBytes -= seg.size
		if err := os.Remove(s.segPath(seg.first)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: %w", err)
		}
	}
	return nil
}

// scanAck finds the offset of the first record in seg after uptoSeq and
// the number and payload bytes of the pending records before it.
func (s *Spool) scanAck(seg *segment, uptoSeq uint64) (off int64, n int, b int64, err error) {
	f, err := os.Open(s.segPath(seg.first))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	fr := newFrameReader(f, seg.readOff, seg.end, max64(s.st.floor, seg.first-1))
	for n < seg.pendCount {
		h, err := fr.header()
		if err != nil {
			if errors.Is(err, errFrame) {
				s.markCorrupt(seg, fr.off, n, b)
				return fr.off, n, b, nil
			}
			return 0, 0, 0, fmt.Errorf("spool: %w", err)
		}
		if h.seq > uptoSeq {
			break
		}
		if err := fr.skip(h); err != nil {
			return 0, 0, 0, fmt.Errorf("spool: %w", err)
		}
		n++
		b += int64(h.length)
	}
	return fr.off, n, b, nil
}

// Dropped returns the number of records and payload bytes discarded so far
// to respect MaxBytes. The counters persist across Close and Open.
func (s *Spool) Dropped() (records uint64, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.dropped, s.st.droppedBytes
}

// Stats returns current statistics.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Pending:      s.pending,
		PendingBytes: s.pendingBytes,
		Dropped:      s.st.dropped,
		DroppedBytes: s.st.droppedBytes,
		NextSeq:      s.next,
		Acked:        s.st.floor,
		Segments:     len(s.segs),
		DiskBytes:    s.diskBytes,
		Corrupt:      s.corrupt,
		CorruptBytes: s.corruptBytes,
	}
}

// Close syncs (unless NoSync is set) and closes the spool. Further operations return ErrClosed.
// Closing a closed spool returns nil.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if !s.opt.NoSync {
		err = s.active.Sync()
	}
	if cerr := s.active.Close(); err == nil {
		err = cerr
	}
	s.active = nil
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

func max64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}
