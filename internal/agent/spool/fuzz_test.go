package spool

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func FuzzOpenSegment(f *testing.F) {
	var valid []byte
	for seq := uint64(1); seq <= 5; seq++ {
		valid = appendFrame(valid, seq, payloadFor(seq))
	}
	f.Add([]byte{})
	f.Add(valid)
	f.Add(valid[:len(valid)-7])
	f.Add(append(bytes.Clone(valid), 0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12))
	bad := bytes.Clone(valid)
	bad[30] ^= 1
	f.Add(bad)
	f.Add(make([]byte, 64))
	f.Add(appendFrame(appendFrame(nil, 3, []byte("x")), 2, []byte("y")))

	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := scanSegment(bytes.NewReader(data), int64(len(data)), 1, math.MaxUint64, 0)
		if err != nil {
			t.Fatalf("scanSegment: %v", err)
		}
		if res.end < 0 || res.end > int64(len(data)) || res.pendCount != res.count {
			t.Fatalf("scan result %+v for %d bytes", res, len(data))
		}

		dir := t.TempDir()
		opt := Options{MaxBytes: 1 << 20, SegmentBytes: 4096, NoSync: true}
		if err := os.WriteFile(filepath.Join(dir, "00000000000000000001.seg"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, opt)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		recs, err := s.Peek(0, 0)
		if err != nil {
			t.Fatalf("Peek: %v", err)
		}
		if len(recs) != res.count {
			t.Fatalf("Peek returned %d records, scan found %d", len(recs), res.count)
		}
		for i := 1; i < len(recs); i++ {
			if recs[i].Seq <= recs[i-1].Seq {
				t.Fatalf("sequence not increasing: %d after %d", recs[i].Seq, recs[i-1].Seq)
			}
		}
		first, err := s.Append([]byte("new"))
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		if len(recs) > 0 && first <= recs[len(recs)-1].Seq {
			t.Fatalf("new seq %d not above %d", first, recs[len(recs)-1].Seq)
		}
		if err := s.Ack(first); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		s.Close()
		s, err = Open(dir, opt)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer s.Close()
		if st := s.Stats(); st.Pending != 0 || st.NextSeq != first+1 {
			t.Fatalf("after reopen: %+v", st)
		}
	})
}
