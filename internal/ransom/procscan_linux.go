package ransom

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// scanProcesses looks at processes started since the last look (every
// 250 ms) for commands that delete shadow copies or backups, and reports
// each to found with the parent that ran it.
type procScanner struct {
	seen map[int]bool
}

func (p *procScanner) scan(found func(cmd Actor, parent Actor, cmdline, reason string)) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	now := make(map[int]bool, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		now[pid] = true
		if p.seen != nil && p.seen[pid] {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue
		}
		cmdline := string(bytes.TrimRight(bytes.ReplaceAll(b, []byte{0}, []byte{' '}), " "))
		if reason, ok := recoveryKiller(cmdline); ok {
			found(procActor(pid), procActor(parentOf(pid)), cmdline, reason)
		}
	}
	p.seen = now
}

const procScanEvery = 250 * time.Millisecond
