//go:build !linux

package ransom

import "time"

// procScanner has no process listing outside Linux yet.
type procScanner struct{}

func (p *procScanner) scan(func(cmd Actor, parent Actor, cmdline, reason string)) {}

const procScanEvery = time.Second
