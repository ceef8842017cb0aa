package inventory

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

// parseCPUInfo returns the processor model and the number of logical
// processors listed in /proc/cpuinfo. x86 kernels print "model name"; arm64
// kernels print no model name, so "Hardware" or "Model" is used instead.
func parseCPUInfo(r io.Reader) (model string, cpus int) {
	var hardware string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxFieldLen)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "processor":
			cpus++
		case "model name", "cpu model":
			if model == "" {
				model = v
			}
		case "Hardware", "Model":
			if hardware == "" {
				hardware = v
			}
		}
	}
	if model == "" {
		model = hardware
	}
	return model, cpus
}

// parseMeminfo returns MemTotal from /proc/meminfo in MiB.
func parseMeminfo(r io.Reader) int64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0
		}
		return kb / 1024
	}
	return 0
}

// parseUptime returns the first number of /proc/uptime, in whole seconds.
func parseUptime(s string) int64 {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v < 0 || v > 1e12 {
		return 0
	}
	return int64(v)
}

// parseBootTime returns the btime line of /proc/stat.
func parseBootTime(r io.Reader) time.Time {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "btime ")
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
		if err != nil || v <= 0 {
			return time.Time{}
		}
		return time.Unix(v, 0).UTC()
	}
	return time.Time{}
}

// mountEntry is one line of /proc/self/mounts.
type mountEntry struct {
	Device, Mount, FS string
}

// parseMounts parses /proc/self/mounts (fstab(5) format), decoding the
// octal escapes (\040 for a space) the kernel uses in paths.
func parseMounts(r io.Reader) []mountEntry {
	var out []mountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxFieldLen)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		out = append(out, mountEntry{Device: unescapeMount(f[0]), Mount: unescapeMount(f[1]), FS: f[2]})
		if len(out) >= MaxListLen*4 {
			break
		}
	}
	return out
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// pseudoFS lists file system types that hold no user data and are left out
// of Host.Disks.
var pseudoFS = map[string]bool{
	"autofs": true, "binfmt_misc": true, "bpf": true, "cgroup": true,
	"cgroup2": true, "configfs": true, "debugfs": true, "devpts": true,
	"devtmpfs": true, "efivarfs": true, "fusectl": true, "hugetlbfs": true,
	"mqueue": true, "nsfs": true, "overlay": true, "proc": true,
	"pstore": true, "ramfs": true, "rpc_pipefs": true, "securityfs": true,
	"selinuxfs": true, "squashfs": true, "sysfs": true, "tmpfs": true,
	"tracefs": true, "fuse.gvfsd-fuse": true, "fuse.portal": true,
	"fuse.lxcfs": true, "nfsd": true, "rootfs": true, "iso9660": true,
	"devfs": true, "none": true, "shm": true, "aufs": true,
}

// diskMounts returns the mounts worth reporting: real file systems, each
// device once (the first mount point listed, normally the shortest).
func diskMounts(ms []mountEntry) []mountEntry {
	seen := make(map[string]bool)
	var out []mountEntry
	for _, m := range ms {
		if pseudoFS[m.FS] || !strings.HasPrefix(m.Mount, "/") {
			continue
		}
		if m.Device != "" && m.Device != "none" {
			if seen[m.Device] {
				continue
			}
			seen[m.Device] = true
		}
		out = append(out, m)
		if len(out) >= MaxListLen {
			break
		}
	}
	return out
}
