package webmon

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"canhgac/internal/model"
	"canhgac/internal/textfold"
)

// yamlMonitor is one monitor in a YAML import file. Keywords may be a
// list or one string; interval and timeout accept seconds or Go
// durations ("1m", "90s").
type yamlMonitor struct {
	Agency         string    `yaml:"agency"`
	URL            string    `yaml:"url"`
	Name           string    `yaml:"name"`
	Interval       yaml.Node `yaml:"interval"`
	Timeout        yaml.Node `yaml:"timeout"`
	ExpectedStatus int       `yaml:"expected_status"`
	MustContain    yaml.Node `yaml:"must_contain"`
	MustNotContain yaml.Node `yaml:"must_not_contain"`
	PageBudget     int       `yaml:"page_budget"`
	RenderJS       bool      `yaml:"render_js"`
}

// YAMLTemplate is an example YAML import file.
const YAMLTemplate = `# canhgac website monitors. Fields other than agency and url are optional.
monitors:
  - agency: Sở Y tế            # agency name, code or ID
    url: https://syt.example.gov.vn/
    name: Cổng thông tin Sở Y tế
    interval: 1m               # 30s to 24h (default 5m)
    timeout: 30s
    expected_status: 200
    must_contain: [Sở Y tế]
    must_not_contain: [nhà cái, hacked by]
    page_budget: 10            # sub-pages checked by the deep check
    render_js: false
`

// IsYAML reports whether an import file looks like YAML rather than CSV.
func IsYAML(data []byte) bool {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	for _, line := range strings.Split(string(data), "\n") {
		l := strings.TrimSpace(line)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		return l == "---" || strings.HasPrefix(l, "monitors:") || strings.HasPrefix(l, "- ")
	}
	return false
}

// ParseImport reads an import file as YAML or CSV, whichever it is.
func ParseImport(r io.Reader, refs map[string]int64) ([]ImportRow, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if IsYAML(data) {
		return ParseYAML(bytes.NewReader(data), refs)
	}
	return ParseCSV(bytes.NewReader(data), refs)
}

// ParseYAML reads monitors from YAML: a list, or a map with a "monitors"
// list. Each row's Line is the line its entry starts on.
func ParseYAML(r io.Reader, refs map[string]int64) ([]ImportRow, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: is not valid YAML: %v", ErrImportFile, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%w: is empty", ErrImportFile)
	}
	list := doc.Content[0]
	if list.Kind == yaml.MappingNode {
		var found *yaml.Node
		for i := 0; i+1 < len(list.Content); i += 2 {
			if list.Content[i].Value == "monitors" {
				found = list.Content[i+1]
			}
		}
		if found == nil {
			return nil, fmt.Errorf("%w: has no \"monitors\" list", ErrImportFile)
		}
		list = found
	}
	if list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%w: \"monitors\" is not a list", ErrImportFile)
	}
	if len(list.Content) > MaxImportRows {
		return nil, fmt.Errorf("%w: more than %d rows", ErrImportFile, MaxImportRows)
	}
	var rows []ImportRow
	for _, item := range list.Content {
		row := ImportRow{Line: item.Line}
		var y yamlMonitor
		if err := item.Decode(&y); err != nil {
			row.Err = model.Invalid("line", "is not a monitor: %v", err)
			rows = append(rows, row)
			continue
		}
		row.Monitor = Monitor{URL: y.URL, Name: y.Name, ExpectedStatus: y.ExpectedStatus, PageBudget: y.PageBudget, RenderJS: y.RenderJS}
		id, ok := refs[textfold.Fold(strings.TrimSpace(y.Agency))]
		if !ok {
			row.Err = model.Invalid("agency", "%q is not an agency you manage", y.Agency)
		}
		row.Monitor.AgencyID = id
		if row.Err == nil {
			row.Monitor.IntervalSeconds, row.Err = seconds(&y.Interval, "interval")
		}
		if row.Err == nil {
			row.Monitor.TimeoutSeconds, row.Err = seconds(&y.Timeout, "timeout")
		}
		if row.Err == nil {
			row.Monitor.MustContain, row.Err = words(&y.MustContain, "must_contain")
		}
		if row.Err == nil {
			row.Monitor.MustNotContain, row.Err = words(&y.MustNotContain, "must_not_contain")
		}
		if row.Err == nil {
			row.Err = row.Monitor.Validate()
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: lists no monitors", ErrImportFile)
	}
	return rows, nil
}

// seconds reads a number of seconds or a duration.
func seconds(n *yaml.Node, field string) (int, error) {
	if n.Kind == 0 || n.Value == "" {
		return 0, nil
	}
	if n.Kind != yaml.ScalarNode {
		return 0, model.Invalid(field, "must be seconds or a duration like 1m")
	}
	var i int
	if err := n.Decode(&i); err == nil {
		return i, nil
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil || d%time.Second != 0 {
		return 0, model.Invalid(field, "%q is not seconds or a duration like 1m", n.Value)
	}
	return int(d / time.Second), nil
}

// words reads a keyword list (or one keyword) as lines.
func words(n *yaml.Node, field string) (string, error) {
	switch n.Kind {
	case 0:
		return "", nil
	case yaml.ScalarNode:
		return n.Value, nil
	case yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return "", model.Invalid(field, "must be a list of words")
			}
			out = append(out, c.Value)
		}
		return strings.Join(out, "\n"), nil
	}
	return "", model.Invalid(field, "must be a word or a list of words")
}
