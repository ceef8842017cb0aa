package cli

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The test clock follows its file, and a file caught mid-write (empty or
// cut short) keeps the last time read instead of jumping to the real
// time: one such reading once escalated a Tết-night alert in December.
func TestFileClockKeepsLastTimeOnATornRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "now")
	clock := fileClock(path)
	if d := time.Since(clock()); d < 0 || d > time.Minute {
		t.Fatalf("with no file yet the clock should be the real time, got %v", clock())
	}
	tet := time.Date(2027, 2, 6, 2, 0, 0, 0, time.UTC)
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(tet.Format(time.RFC3339Nano))
	if got := clock(); !got.Equal(tet) {
		t.Fatalf("clock %v, want %v", got, tet)
	}
	for _, torn := range []string{"", "2027-02-0", "garbage"} {
		write(torn)
		if got := clock(); !got.Equal(tet) {
			t.Fatalf("after a torn write %q the clock read %v, want the last time %v", torn, got, tet)
		}
	}
	later := tet.Add(3 * time.Minute)
	write(later.Format(time.RFC3339Nano))
	if got := clock(); !got.Equal(later) {
		t.Fatalf("clock %v, want %v", got, later)
	}
}
