package inventory

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// OSRelease holds the fields of an os-release(5) file that the inventory
// uses. All is every variable in the file.
type OSRelease struct {
	ID         string
	Name       string
	Version    string
	VersionID  string
	PrettyName string
	IDLike     string
	All        map[string]string
}

// maxOSReleaseVars bounds the number of variables ParseOSRelease accepts.
const maxOSReleaseVars = 1000

// ParseOSRelease parses an os-release(5) file: newline-separated
// VAR=value assignments, where the value may be enclosed in single or
// double quotes and double-quoted values may use backslash escapes for
// `"`, `\`, `$` and backquote. Blank lines and lines starting with "#" are
// ignored, as are lines that are not assignments.
func ParseOSRelease(r io.Reader) (OSRelease, error) {
	out := OSRelease{All: make(map[string]string)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxFieldLen+256)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		v = unquoteOSRelease(strings.TrimSpace(v))
		if len(v) > MaxFieldLen {
			return OSRelease{}, fmt.Errorf("os-release %s: %w", k, ErrFieldTooLong)
		}
		if len(out.All) >= maxOSReleaseVars {
			return OSRelease{}, errors.New("inventory: os-release has too many variables")
		}
		out.All[k] = v
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return OSRelease{}, fmt.Errorf("os-release: %w", ErrFieldTooLong)
		}
		return OSRelease{}, err
	}
	out.ID = out.All["ID"]
	out.Name = out.All["NAME"]
	out.Version = out.All["VERSION"]
	out.VersionID = out.All["VERSION_ID"]
	out.PrettyName = out.All["PRETTY_NAME"]
	out.IDLike = out.All["ID_LIKE"]
	if out.ID == "" {
		out.ID = "linux" // the default os-release(5) specifies
	}
	if out.Name == "" {
		out.Name = "Linux"
	}
	return out, nil
}

// unquoteOSRelease removes shell-style quoting from an os-release value.
func unquoteOSRelease(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
		if !strings.Contains(v, `\`) {
			return v
		}
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] == '\\' && i+1 < len(v) && strings.IndexByte("\"\\$`", v[i+1]) >= 0 {
				i++
			}
			b.WriteByte(v[i])
		}
		return b.String()
	}
	return v
}
