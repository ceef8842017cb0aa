package ransom

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Web shells. A defaced or SEO-injected site usually has one: a small
// script dropped into the web root that runs what the attacker sends. The
// agent looks at every new or changed executable web file under a web root
// and reports it when its content has a web shell's traits.

// webExts are the extensions a web server executes.
var webExts = map[string]bool{".php": true, ".phtml": true, ".php5": true, ".php7": true, ".phar": true,
	".asp": true, ".aspx": true, ".ashx": true, ".asmx": true, ".jsp": true, ".jspx": true, ".cgi": true}

// IsWebExecutable reports whether a web server would run a file of this name.
func IsWebExecutable(name string) bool { return webExts[strings.ToLower(filepath.Ext(name))] }

const reqVar = `\$_(?:get|post|request|cookie|server|files)\b|\$\{\s*['"]?_(?:get|post|request|cookie)`

var webshellTraits = []struct {
	re     *regexp.Regexp
	weight float64
	reason string
}{
	{regexp.MustCompile(`(?i)\b(?:eval|assert|system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec)\s*\(\s*(?:@\s*)?(?:` + reqVar + `)`), 3, "runs request input (eval/system of $_GET/$_POST…)"},
	{regexp.MustCompile(`(?i)\b(?:eval|assert)\s*\(\s*(?:@\s*)?(?:base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|strrev|hex2bin|rawurldecode|convert_uudecode)\s*\(`), 3, "evaluates decoded data (eval(base64_decode(…)))"},
	{regexp.MustCompile(`(?i)\$[a-z_]\w*\s*\(\s*(?:@\s*)?(?:` + reqVar + `)`), 3, "calls a variable function with request input"},
	{regexp.MustCompile(`(?i)(?:gzinflate|gzuncompress|gzdecode)\s*\(\s*base64_decode\s*\(`), 2, "compressed base64 payload"},
	{regexp.MustCompile(`(?i)preg_replace\s*\(\s*['"][/#~!@%|].*[/#~!@%|][a-df-z]*e[a-z]*['"]`), 3, "preg_replace with the /e modifier (removed in PHP 7: only old code and shells use it)"},
	{regexp.MustCompile(`(?i)\bcreate_function\s*\(`), 1, "create_function"},
	{regexp.MustCompile(`(?i)move_uploaded_file\s*\(\s*\$_files`), 1, "writes uploaded files"},
	{regexp.MustCompile(`(?i)(?:chr\s*\(\s*\d+\s*\)\s*\.\s*){12,}`), 1, "string built from chr() (obfuscation)"},
	{regexp.MustCompile(`(?i)(?:\\x[0-9a-f]{2}){40,}`), 1, "long hex-escaped string (obfuscation)"},
	{regexp.MustCompile(`(?i)runtime\.getruntime\(\)\s*\.exec\s*\(\s*request\.getparameter`), 3, "JSP runs a request parameter"},
	{regexp.MustCompile(`(?i)runtime\.getruntime\(\)\s*\.exec\s*\(`), 1, "JSP runs a command"},
	{regexp.MustCompile(`(?i)\beval\s*\(\s*request(?:\.item)?\s*[\[(]`), 3, "ASP evaluates request input"},
	{regexp.MustCompile(`(?i)\bexecute(?:global)?\s*\(?\s*request\s*[\[(]`), 3, "ASP executes request input"},
	{regexp.MustCompile(`(?i)(?:process\.start|processstartinfo)[\s\S]{0,300}request\s*[\[.(]`), 3, "ASP.NET starts a process from request input"},
	{regexp.MustCompile(`(?i)\b(?:c99shell|r57shell|b374k|filesman|wso shell|indoxploit|alfa team|priv8)\b`), 3, "names a known web shell"},
}

// WebshellThreshold is the score at which a file is reported.
const WebshellThreshold = 3

// maxWebshellRead bounds the bytes read from one web file.
const maxWebshellRead = 1 << 20

// ScoreWebshell scores content for web shell traits, with the reasons.
func ScoreWebshell(content []byte) (float64, []string) {
	if len(content) > maxWebshellRead {
		content = content[:maxWebshellRead]
	}
	score := 0.0
	var reasons []string
	for _, t := range webshellTraits {
		if t.re.Match(content) {
			score += t.weight
			reasons = append(reasons, t.reason)
		}
	}
	if longestBase64Run(content) >= 3000 {
		score++
		reasons = append(reasons, "long encoded blob")
	}
	return score, reasons
}

// WebshellFinding is a web file with web shell traits.
type WebshellFinding struct {
	Time    time.Time `json:"time"`
	Path    string    `json:"path"`
	Root    string    `json:"web_root"`
	Actor   Actor     `json:"actor"`
	New     bool      `json:"new"`
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size"`
	Score   float64   `json:"score"`
	Reasons []string  `json:"reasons"`
}

// checkWebFile reads a new or changed executable web file under a web root
// and returns a finding when it scores as a web shell.
func checkWebFile(path, root string, a Actor, isNew bool, t time.Time) (*WebshellFinding, error) {
	f, err := openForInspect(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errNotRegular
	}
	b, err := io.ReadAll(io.LimitReader(f, maxWebshellRead))
	if err != nil {
		return nil, err
	}
	score, reasons := ScoreWebshell(b)
	if score < WebshellThreshold {
		return nil, nil
	}
	sum := sha256.Sum256(b)
	return &WebshellFinding{Time: t, Path: path, Root: root, Actor: a, New: isNew, SHA256: hex.EncodeToString(sum[:]),
		Size: st.Size(), Score: score, Reasons: reasons}, nil
}

// longestBase64Run is the length of the longest run of base64 characters
// (regular expressions here cannot count that far).
func longestBase64Run(b []byte) int {
	best, run := 0, 0
	for _, c := range b {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}
