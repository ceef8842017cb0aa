package inventory

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// stanzaScanner reads blank-line separated records of "Key: value" or
// "K:value" lines, as used by the dpkg status file and the apk installed
// database. It enforces MaxFieldLen on single lines and MaxPackages on the
// number of records.
type stanzaScanner struct {
	sc      *bufio.Scanner
	what    string
	records int
	err     error
}

func newStanzaScanner(r io.Reader, what string) *stanzaScanner {
	sc := bufio.NewScanner(r)
	// A line holds a key, a separator and at most MaxFieldLen bytes.
	sc.Buffer(make([]byte, 0, 64<<10), MaxFieldLen+256)
	return &stanzaScanner{sc: sc, what: what}
}

// next calls line for each line of the next record and reports whether a
// record was read. Lines are passed without their newline; the slice is
// only valid during the call.
func (s *stanzaScanner) next(line func([]byte) error) bool {
	if s.err != nil {
		return false
	}
	started := false
	for s.sc.Scan() {
		b := s.sc.Bytes()
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
		if len(b) == 0 {
			if started {
				return true
			}
			continue
		}
		if !started {
			started = true
			s.records++
			if s.records > MaxPackages {
				s.err = fmt.Errorf("%s: %w (more than %d records)", s.what, ErrTooManyPackages, MaxPackages)
				return false
			}
		}
		if err := line(b); err != nil {
			s.err = err
			return false
		}
	}
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("%s: line: %w", s.what, ErrFieldTooLong)
		}
		s.err = err
		return false
	}
	return started
}
