package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/cli"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileDir holds the hostile-input corpus: one directory a case, with its input files, a
// `cmd` file and the goldens errors.txt (stderr) and exit (the exit code).
//
// The cmd file's first line is the mastoscale arguments, split at blanks; `<FILE` feeds FILE
// on stdin and `<@NAME` an input the test generates (see generated). Its other lines are
// `want: REGEXP` (the message must locate the problem: document, line, field path, chart
// value), `secret: STRING` (a credential of the input that must not reach stdout) and
// `stdout: resourcelist` (a KRM function answers even when it fails: a ResourceList with
// results, its items as they came; `stdout: findings`: lint reports its findings there).
const hostileDir = "../../testdata/hostile"

func TestHostileInputs(t *testing.T) {
	dirs, err := os.ReadDir(hostileDir)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(dirs), 60, "the corpus holds at least 60 cases")
	for _, d := range dirs {
		if strings.HasPrefix(d.Name(), "_") {
			continue // shared inputs
		}
		dir := filepath.Join(hostileDir, d.Name())
		t.Run(d.Name(), func(t *testing.T) { runHostile(t, dir) })
	}
}

type hostileCase struct {
	args           []string
	stdin          []byte
	wants, secrets []string
	resourceList   bool
	findings       bool
}

func runHostile(t *testing.T, dir string) {
	c := readHostileCase(t, dir)
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	code := cli.Run(c.args, cli.Streams{
		In: bytes.NewReader(c.stdin), Out: &stdout, ErrOut: &stderr,
		Now:    func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
		Getenv: func(k string) string { return map[string]string{"MASTOSCALE_FINDINGS_LOG": "off"}[k] },
	})
	testutil.Golden(t, "errors.txt", stderr.Bytes())
	testutil.Golden(t, "exit", []byte(strconv.Itoa(code)+"\n"))
	switch {
	case c.resourceList:
		assert.Contains(t, stdout.String(), "ResourceList")
		assert.NotContains(t, stdout.String(), "config.kubernetes.io/index", "items come back untouched")
		if code != 0 {
			assert.Contains(t, stdout.String(), "results", "a failing function reports in the ResourceList")
		}
	case c.findings:
		assert.Contains(t, stdout.String(), "error", "lint reports its findings on stdout")
	case code != 0:
		assert.Zero(t, stdout.Len(), "a failing run writes nothing on stdout, got:\n%s", stdout.String())
	}
	messages := stderr.String()
	if c.findings {
		messages += stdout.String()
	}
	for _, w := range c.wants {
		assert.Regexp(t, regexp.MustCompile(w), messages, "the message must locate the problem")
	}
	for _, s := range c.secrets {
		assert.NotContains(t, stdout.String(), s, "a credential of the input reached stdout")
	}
}

func readHostileCase(t *testing.T, dir string) hostileCase {
	data, err := os.ReadFile(filepath.Join(dir, "cmd"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var c hostileCase
	for _, arg := range strings.Fields(lines[0]) {
		switch {
		case strings.HasPrefix(arg, "<@"):
			c.stdin = generated(t, arg[2:])
		case strings.HasPrefix(arg, "<"):
			c.stdin, err = os.ReadFile(filepath.Join(dir, arg[1:]))
			require.NoError(t, err)
		default:
			c.args = append(c.args, arg)
		}
	}
	for _, l := range lines[1:] {
		if w, ok := strings.CutPrefix(l, "want: "); ok {
			c.wants = append(c.wants, w)
		} else if s, ok := strings.CutPrefix(l, "secret: "); ok {
			c.secrets = append(c.secrets, s)
		} else if l == "stdout: resourcelist" {
			c.resourceList = true
		} else if l == "stdout: findings" {
			c.findings = true
		} else if strings.TrimSpace(l) != "" {
			t.Fatalf("%s/cmd: unknown line %q", dir, l)
		}
	}
	return c
}

// generated makes the inputs too big to commit.
func generated(t *testing.T, name string) []byte {
	switch name {
	case "big":
		return []byte("a: " + strings.Repeat("x", 17<<20) + "\n")
	case "many-documents":
		return []byte(strings.Repeat("---\na: 1\n", 20_001))
	case "many-list-items":
		return []byte("apiVersion: v1\nkind: List\nitems:\n" + strings.Repeat("- {}\n", 20_001))
	case "deep":
		return []byte(strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000) + "\n")
	case "deep-mapping":
		return []byte(strings.Repeat("{a: ", 12_000) + "1" + strings.Repeat("}", 12_000) + "\n")
	case "alias-bomb":
		return []byte(aliasBomb())
	case "wide":
		var b strings.Builder
		b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wide}\ndata:\n")
		for i := range 300_000 {
			b.WriteString("  k" + strconv.Itoa(i) + ": v\n")
		}
		return []byte(b.String())
	}
	t.Fatalf("no generated input %q", name)
	return nil
}

// aliasBomb is the billion laughs: nine levels of nine aliases each.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 9; i++ {
		p := "*a" + strconv.Itoa(i-1)
		b.WriteString("a" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [" + strings.Repeat(p+", ", 8) + p + "]\n")
	}
	return b.String()
}
