package fleet

import (
	"fmt"
	"math"
	"strconv"
)

// An agent's package list is stored as one text value: the ids of its
// package builds, ascending, each written as its difference from the one
// before ("1,2,4" is 1, 3, 7). The ids of a fleet's builds are dense, so
// a list of 1,500 packages takes some 4 KB, and an upload rewrites one
// row instead of touching an index entry per package. SQL can write the
// same form (migration 0009 does), and a person can read it.

// encodeIDs writes ids, which must be ascending and positive.
func encodeIDs(ids []int64) string {
	b := make([]byte, 0, 3*len(ids))
	var prev int64
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id-prev, 10)
		prev = id
	}
	return string(b)
}

// eachID calls fn with each id of an encoded list, in order, until fn
// returns false. It does not allocate, so a fleet search can run through
// every agent's list.
func eachID(s string, fn func(int64) bool) error {
	var prev, d int64
	digits := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != ',' {
			c := s[i]
			if c < '0' || c > '9' || d > (math.MaxInt64-9)/10 {
				return fmt.Errorf("fleet: package id list: bad character at %d", i)
			}
			d = d*10 + int64(c-'0')
			digits++
			continue
		}
		if i == len(s) && i == 0 {
			return nil // the empty list
		}
		if digits == 0 || d == 0 || prev+d < prev { // ascending, positive, no overflow
			return fmt.Errorf("fleet: package id list: bad entry ending at %d", i)
		}
		prev += d
		if !fn(prev) {
			return nil
		}
		d, digits = 0, 0
	}
	return nil
}

// decodeIDs reads an encoded list.
func decodeIDs(s string) ([]int64, error) {
	ids := make([]int64, 0, len(s)/3+1)
	err := eachID(s, func(id int64) bool { ids = append(ids, id); return true })
	return ids, err
}
