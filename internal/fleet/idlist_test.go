package fleet

import (
	"slices"
	"testing"
)

func TestIDListRoundTrip(t *testing.T) {
	for _, ids := range [][]int64{nil, {1}, {1, 2, 3}, {7, 40, 41, 1_000_000, 1<<62 + 5}} {
		s := encodeIDs(ids)
		got, err := decodeIDs(s)
		if err != nil {
			t.Fatalf("%v → %q: %v", ids, s, err)
		}
		if !slices.Equal(got, ids) && !(len(got) == 0 && len(ids) == 0) {
			t.Fatalf("%v → %q → %v", ids, s, got)
		}
	}
	if s := encodeIDs([]int64{1, 3, 7}); s != "1,2,4" {
		t.Fatalf("encoded %q, want deltas 1,2,4", s)
	}
}

func TestIDListRejectsDamage(t *testing.T) {
	for _, s := range []string{",", "1,", ",1", "1,,2", "0", "1,0", "1,-2", "1,a", "1 2", "9999999999999999999", "4611686018427387904,4611686018427387904,4611686018427387904"} {
		if ids, err := decodeIDs(s); err == nil {
			t.Errorf("%q decoded to %v, want an error", s, ids)
		}
	}
}

// FuzzIDList: whatever is stored, decoding never panics, and what decodes
// is ascending and encodes back to the same text.
func FuzzIDList(f *testing.F) {
	for _, s := range []string{"", "1", "1,2,4", "0", "1,,2", "99999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := decodeIDs(s)
		if err != nil {
			return
		}
		for i := 1; i < len(ids); i++ {
			if ids[i] <= ids[i-1] {
				t.Fatalf("%q decoded to non-ascending %v", s, ids)
			}
		}
		if len(ids) > 0 && ids[0] <= 0 {
			t.Fatalf("%q decoded to non-positive id %d", s, ids[0])
		}
		// Leading zeros ("01") decode but are not how encodeIDs writes.
		if back := encodeIDs(ids); back != s {
			if again, err := decodeIDs(back); err != nil || !slices.Equal(again, ids) {
				t.Fatalf("%q → %v → %q → %v, %v", s, ids, back, again, err)
			}
		}
	})
}
