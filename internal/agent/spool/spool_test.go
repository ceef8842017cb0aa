package spool

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// payloadFor returns the deterministic payload of the record with
// sequence number seq used throughout the tests.
func payloadFor(seq uint64) []byte {
	n := 10 + int(seq*7919%300)
	p := make([]byte, 0, n)
	for len(p) < n {
		p = fmt.Appendf(p, "rec-%d;", seq)
	}
	return p[:n]
}

func mustOpen(t testing.TB, dir string, opt Options) *Spool {
	t.Helper()
	s, err := Open(dir, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// appendN appends n records with payloads from payloadFor, in batches of
// up to batch records, and returns the last sequence number.
func appendN(t testing.TB, s *Spool, n, batch int) uint64 {
	t.Helper()
	var last uint64
	for n > 0 {
		k := min(batch, n)
		next := s.Stats().NextSeq
		recs := make([][]byte, k)
		for i := range recs {
			recs[i] = payloadFor(next + uint64(i))
		}
		first, err := s.Append(recs...)
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		if first != next {
			t.Fatalf("Append returned seq %d, want %d", first, next)
		}
		last = first + uint64(k) - 1
		n -= k
	}
	return last
}

// checkRecords verifies that recs are consecutive from first to last with
// the payloads from payloadFor.
func checkRecords(t testing.TB, recs []Record, first, last uint64) {
	t.Helper()
	if uint64(len(recs)) != last-first+1 {
		t.Fatalf("got %d records, want %d..%d (%d)", len(recs), first, last, last-first+1)
	}
	for i, r := range recs {
		want := first + uint64(i)
		if r.Seq != want {
			t.Fatalf("record %d has seq %d, want %d", i, r.Seq, want)
		}
		if !bytes.Equal(r.Data, payloadFor(want)) {
			t.Fatalf("record %d: payload mismatch", want)
		}
	}
}

func peekAll(t testing.TB, s *Spool) []Record {
	t.Helper()
	recs, err := s.Peek(0, 0)
	if err != nil {
		t.Fatalf("Peek: %v", err)
	}
	return recs
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAppendPeekAckAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{SegmentBytes: 1024})
	defer s.Close()

	last := appendN(t, s, 60, 1)
	last = appendN(t, s, 40, 7)
	if last != 100 {
		t.Fatalf("last seq %d, want 100", last)
	}
	st := s.Stats()
	if st.Segments < 5 || len(segFiles(t, dir)) != st.Segments {
		t.Fatalf("segments: stats %d, files %d; want several", st.Segments, len(segFiles(t, dir)))
	}
	if st.Pending != 100 || st.NextSeq != 101 {
		t.Fatalf("stats %+v", st)
	}
	checkRecords(t, peekAll(t, s), 1, 100)

	recs, err := s.Peek(10, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, recs, 1, 10)

	// A byte limit stops before the record that would exceed it but
	// always returns at least one record.
	recs, err = s.Peek(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, recs, 1, 1)
	limit := len(payloadFor(1)) + len(payloadFor(2)) + len(payloadFor(3))
	recs, err = s.Peek(0, limit)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, recs, 1, 3)

	// Peek does not consume.
	checkRecords(t, peekAll(t, s), 1, 100)

	before := s.Stats().Segments
	if err := s.Ack(37); err != nil {
		t.Fatal(err)
	}
	checkRecords(t, peekAll(t, s), 38, 100)
	if got := s.Stats(); got.Pending != 63 || got.Segments >= before || got.Acked != 37 {
		t.Fatalf("after ack: %+v (segments before %d)", got, before)
	}
	// Acking the same or a lower number again changes nothing.
	if err := s.Ack(20); err != nil {
		t.Fatal(err)
	}
	checkRecords(t, peekAll(t, s), 38, 100)

	// Ack in the middle of a batch and then exactly at a segment end.
	for _, upto := range []uint64{38, 55, 71, 99} {
		if err := s.Ack(upto); err != nil {
			t.Fatal(err)
		}
		checkRecords(t, peekAll(t, s), upto+1, 100)
	}
	if err := s.Ack(100); err != nil {
		t.Fatal(err)
	}
	if recs := peekAll(t, s); len(recs) != 0 {
		t.Fatalf("Peek after full ack returned %d records", len(recs))
	}
	st = s.Stats()
	if st.Pending != 0 || st.PendingBytes != 0 || st.Segments != 1 || len(segFiles(t, dir)) != 1 {
		t.Fatalf("after full ack: %+v, files %v", st, segFiles(t, dir))
	}

	// Appending after everything was acknowledged continues the sequence.
	last = appendN(t, s, 5, 5)
	if last != 105 {
		t.Fatalf("last seq %d, want 105", last)
	}
	checkRecords(t, peekAll(t, s), 101, 105)
}

func TestSequenceSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{SegmentBytes: 512})
	appendN(t, s, 10, 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir, Options{SegmentBytes: 512})
	if got := s.Stats().NextSeq; got != 11 {
		t.Fatalf("NextSeq after reopen %d, want 11", got)
	}
	appendN(t, s, 10, 4)
	checkRecords(t, peekAll(t, s), 1, 20)

	// Everything acknowledged: the segments are gone, but the sequence
	// still continues.
	if err := s.Ack(20); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, f := range segFiles(t, dir) {
		os.Remove(f) // as if the last segment had been removed too
	}
	s = mustOpen(t, dir, Options{SegmentBytes: 512})
	defer s.Close()
	if got := s.Stats().NextSeq; got != 21 {
		t.Fatalf("NextSeq after full ack and reopen %d, want 21", got)
	}
	if last := appendN(t, s, 1, 1); last != 21 {
		t.Fatalf("seq %d, want 21", last)
	}
}

func TestAckPersisted(t *testing.T) {
	dir := t.TempDir()
	opt := Options{SegmentBytes: 700}
	s := mustOpen(t, dir, opt)
	appendN(t, s, 30, 4)
	if err := s.Ack(12); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = mustOpen(t, dir, opt)
	checkRecords(t, peekAll(t, s), 13, 30)
	if st := s.Stats(); st.Pending != 18 || st.Acked != 12 {
		t.Fatalf("stats after reopen: %+v", st)
	}
	if err := s.Ack(29); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = mustOpen(t, dir, opt)
	defer s.Close()
	checkRecords(t, peekAll(t, s), 30, 30)
}

func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	files := segFiles(t, dir)
	if len(files) == 0 {
		t.Fatal("no segments")
	}
	return files[len(files)-1]
}

func appendToFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestTornTail(t *testing.T) {
	tails := map[string][]byte{
		"half record": appendFrame(nil, 11, payloadFor(11))[:40],
		"half header": appendFrame(nil, 11, payloadFor(11))[:9],
		"garbage":     []byte("\x13\x00\x00\x00garbage garbage garbage garbage"),
		"zeros":       make([]byte, 100),
		"bad crc":     func() []byte { b := appendFrame(nil, 11, payloadFor(11)); b[len(b)-1] ^= 1; return b }(),
	}
	for name, tail := range tails {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir, Options{SegmentBytes: 1 << 20})
			appendN(t, s, 10, 3)
			s.Close()
			path := lastSegment(t, dir)
			fi, _ := os.Stat(path)
			appendToFile(t, path, tail)

			s = mustOpen(t, dir, Options{SegmentBytes: 1 << 20})
			checkRecords(t, peekAll(t, s), 1, 10)
			if fi2, _ := os.Stat(path); fi2.Size() != fi.Size() {
				t.Fatalf("segment size %d after Open, want %d (truncated)", fi2.Size(), fi.Size())
			}
			first, err := s.Append([]byte("after"))
			if err != nil {
				t.Fatal(err)
			}
			if first <= 10 {
				t.Fatalf("new record got seq %d, want > 10", first)
			}
			s.Close()

			s = mustOpen(t, dir, Options{SegmentBytes: 1 << 20})
			defer s.Close()
			recs := peekAll(t, s)
			checkRecords(t, recs[:10], 1, 10)
			if len(recs) != 11 || recs[10].Seq != first || string(recs[10].Data) != "after" {
				t.Fatalf("records after torn tail: %d, last %+v", len(recs), recs[len(recs)-1])
			}
			if st := s.Stats(); st.Corrupt != 0 {
				t.Fatalf("clean reopen reports corruption: %+v", st)
			}
		})
	}
}

// frameOffsets returns the offsets of the frames in a valid segment file.
func frameOffsets(t *testing.T, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for off := int64(0); off < int64(len(b)); {
		offs = append(offs, off)
		n := int64(b[off]) | int64(b[off+1])<<8 | int64(b[off+2])<<16 | int64(b[off+3])<<24
		off += HeaderSize + n
	}
	return offs
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptMiddle(t *testing.T) {
	dir := t.TempDir()
	opt := Options{SegmentBytes: 2048}
	s := mustOpen(t, dir, opt)
	appendN(t, s, 60, 1)
	s.Close()

	files := segFiles(t, dir)
	if len(files) < 3 {
		t.Fatalf("want at least 3 segments, got %d", len(files))
	}
	// Damage the payload of the third record of the first segment.
	offs := frameOffsets(t, files[0])
	flipByte(t, files[0], offs[2]+HeaderSize+3)
	// And the header of the second record of the last segment.
	lastOffs := frameOffsets(t, files[len(files)-1])
	flipByte(t, files[len(files)-1], lastOffs[1]+9)

	s = mustOpen(t, dir, opt)
	st := s.Stats()
	if st.Corrupt != 2 || st.CorruptBytes <= 0 {
		t.Fatalf("stats: %+v, want 2 corrupt regions", st)
	}
	recs := peekAll(t, s)
	checkRecords(t, recs[:2], 1, 2)
	// The rest of the first segment is skipped; the second segment follows.
	firstOfSecond := recs[2].Seq
	if firstOfSecond != uint64(len(offs))+1 {
		t.Fatalf("after the damaged segment got seq %d, want %d", firstOfSecond, len(offs)+1)
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].Seq <= recs[i-1].Seq || !bytes.Equal(recs[i].Data, payloadFor(recs[i].Seq)) {
			t.Fatalf("record %d (seq %d) out of order or damaged", i, recs[i].Seq)
		}
	}
	if st.Pending != len(recs) {
		t.Fatalf("Pending %d, Peek returned %d", st.Pending, len(recs))
	}
	// New appends work and get sequence numbers above everything written.
	first, err := s.Append([]byte("new"))
	if err != nil {
		t.Fatal(err)
	}
	if first <= 60 {
		t.Fatalf("new seq %d, want > 60", first)
	}
	if err := s.Ack(first); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Pending != 0 || st.Segments != 1 {
		t.Fatalf("after acking everything: %+v", st)
	}
	s.Close()
}

func TestCorruptionFoundByPeek(t *testing.T) {
	dir := t.TempDir()
	opt := Options{SegmentBytes: 1 << 20}
	s := mustOpen(t, dir, opt)
	defer s.Close()
	appendN(t, s, 10, 1)
	path := lastSegment(t, dir)
	offs := frameOffsets(t, path)
	flipByte(t, path, offs[6]+HeaderSize)

	recs := peekAll(t, s)
	checkRecords(t, recs, 1, 6)
	if st := s.Stats(); st.Corrupt != 1 || st.Pending != 6 {
		t.Fatalf("stats %+v", st)
	}
	// Appends go to a new segment and are readable.
	appendN(t, s, 3, 3)
	recs = peekAll(t, s)
	checkRecords(t, recs[:6], 1, 6)
	checkRecords(t, recs[6:], 11, 13)
	if err := s.Ack(12); err != nil {
		t.Fatal(err)
	}
	checkRecords(t, peekAll(t, s), 13, 13)
}

func TestMaxBytesDropsOldest(t *testing.T) {
	dir := t.TempDir()
	opt := Options{MaxBytes: 8 << 10, SegmentBytes: 2 << 10}
	s := mustOpen(t, dir, opt)
	const n = 200
	appendN(t, s, n, 1)
	st := s.Stats()
	if st.DiskBytes > opt.MaxBytes {
		t.Fatalf("disk bytes %d exceed MaxBytes %d", st.DiskBytes, opt.MaxBytes)
	}
	if st.Dropped == 0 || st.Dropped+uint64(st.Pending) != n {
		t.Fatalf("stats %+v: dropped + pending should be %d", st, n)
	}
	recs := peekAll(t, s)
	checkRecords(t, recs, st.Dropped+1, n) // newest kept, oldest dropped
	var bytesDropped int64
	for seq := uint64(1); seq <= st.Dropped; seq++ {
		bytesDropped += int64(len(payloadFor(seq)))
	}
	if st.DroppedBytes != bytesDropped {
		t.Fatalf("DroppedBytes %d, want %d", st.DroppedBytes, bytesDropped)
	}
	if r, b := s.Dropped(); r != st.Dropped || b != st.DroppedBytes {
		t.Fatalf("Dropped() = %d, %d", r, b)
	}
	s.Close()

	s = mustOpen(t, dir, opt)
	st2 := s.Stats()
	if st2.Dropped != st.Dropped || st2.DroppedBytes != st.DroppedBytes || st2.Pending != st.Pending {
		t.Fatalf("after reopen %+v, before %+v", st2, st)
	}
	checkRecords(t, peekAll(t, s), st.Dropped+1, n)

	// Acknowledged records are not counted as dropped when their segment
	// goes.
	if err := s.Ack(n); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, n, 3)
	st3 := s.Stats()
	if st3.Dropped+uint64(st3.Pending) != st.Dropped+n {
		t.Fatalf("after acking and appending again: %+v", st3)
	}
	if st3.DiskBytes > opt.MaxBytes {
		t.Fatalf("disk bytes %d exceed MaxBytes", st3.DiskBytes)
	}
	s.Close()
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{MaxBytes: 1024, SegmentBytes: 256})
	if _, err := s.Append(make([]byte, 1024)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized record: %v", err)
	}
	if _, err := s.Append(make([]byte, 600), make([]byte, 600)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized batch: %v", err)
	}
	if seq, err := s.Append(); seq != 0 || err != nil {
		t.Fatalf("empty Append: %d, %v", seq, err)
	}
	// A record larger than SegmentBytes still fits in a segment of its own.
	if _, err := s.Append(make([]byte, 900)); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(2); !errors.Is(err, ErrBadAck) {
		t.Fatalf("ack beyond next: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Append([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if _, err := s.Peek(1, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Peek after Close: %v", err)
	}
	if err := s.Ack(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ack after Close: %v", err)
	}

	if err := os.WriteFile(filepath.Join(dir, stateName), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrCorruptState) {
		t.Fatalf("Open with damaged state: %v", err)
	}
}

func TestKey(t *testing.T) {
	if got := Key("agent-7", 42); got != "agent-7:42" {
		t.Fatalf("Key = %q", got)
	}
}

func TestConcurrentProducersConsumer(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{SegmentBytes: 4096, NoSync: true})
	defer s.Close()
	const producers, per = 4, 200
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if _, err := s.Append(fmt.Appendf(nil, "p%d-%d", p, i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := make(map[string]bool)
	var lastSeq uint64
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		recs, err := s.Peek(17, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Seq != lastSeq+1 {
				t.Fatalf("seq %d after %d", r.Seq, lastSeq)
			}
			lastSeq = r.Seq
			if seen[string(r.Data)] {
				t.Fatalf("%s delivered twice", r.Data)
			}
			seen[string(r.Data)] = true
		}
		if len(recs) > 0 {
			if err := s.Ack(lastSeq); err != nil {
				t.Fatal(err)
			}
		} else if finished {
			break
		}
	}
	if len(seen) != producers*per {
		t.Fatalf("delivered %d records, want %d", len(seen), producers*per)
	}
}
