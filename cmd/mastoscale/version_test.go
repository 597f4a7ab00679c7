package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const cliPackage = "github.com/mastoscale/mastoscale/internal/cli"

// goEnv is the environment for the go command in these tests: without GOFLAGS, so a
// -buildvcs=false set on a machine does not decide what the tests see.
func goEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOFLAGS=") {
			env = append(env, kv)
		}
	}
	return env
}

func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Env = dir, goEnv()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// TestVersionOfBuiltBinary: `go build` in a git checkout stamps the revision and its date,
// which `mastoscale version` prints; -o json has the full revision. Go stamps only a checkout
// whose .git is a directory, not a `git worktree` (.git is a file there), so from a worktree the
// test builds a local clone of HEAD instead.
func TestVersionOfBuiltBinary(t *testing.T) {
	git := testutil.Command(t, "git")
	src := gitCheckout(t, git, testutil.RepoRoot(t))
	head, err := exec.Command(git, "-C", src, "log", "-1", "--format=%H %cd", "--date=format-local:%Y-%m-%d").Output()
	require.NoError(t, err)
	rev, date, _ := strings.Cut(strings.TrimSpace(string(head)), " ")

	bin := filepath.Join(t.TempDir(), "mastoscale")
	goCmd(t, src, "build", "-buildvcs=true", "-o", bin, "./cmd/mastoscale")
	out, err := exec.Command(bin, "version").Output()
	require.NoError(t, err)
	// The version is Go's pseudo-version of the commit (or the tag on it); then the details.
	assert.Regexp(t, `^mastoscale v\S+ \(commit `+rev[:7]+`, `+date+`(, modified)?\)\n$`, string(out))
	assert.Contains(t, string(out), rev[:12], "the pseudo-version names the revision")

	out, err = exec.Command(bin, "version", "-o", "json").Output()
	require.NoError(t, err)
	assert.Contains(t, string(out), `"commit": "`+rev+`"`)
}

// gitCheckout returns root when it is a git checkout Go can stamp, else a clone of its HEAD.
func gitCheckout(t *testing.T, git, root string) string {
	t.Helper()
	if _, err := exec.Command(git, "-C", root, "rev-parse", "HEAD").Output(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI runs in a git clone, but git rev-parse HEAD failed in %s: %v", root, err)
		}
		t.Skipf("%s is not a git checkout: %v", root, err)
	}
	if fi, err := os.Stat(filepath.Join(root, ".git")); err == nil && fi.IsDir() {
		return root
	}
	clone := filepath.Join(t.TempDir(), "mastoscale")
	out, err := exec.Command(git, "clone", "--quiet", root, clone).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return clone
}

// TestVersionOfGoRun: `go run` stamps no VCS information, so the version is Go's "(devel)".
func TestVersionOfGoRun(t *testing.T) {
	out := goCmd(t, testutil.RepoRoot(t), "run", "./cmd/mastoscale", "version")
	assert.Equal(t, "mastoscale (devel)\n", out)
}

// TestVersionFromLdflags: what goreleaser passes wins over the build info.
func TestVersionFromLdflags(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mastoscale")
	ldflags := "-X " + cliPackage + ".Version=v0.9.1 -X " + cliPackage + ".Commit=0123456789abcdef0123456789abcdef01234567 -X " +
		cliPackage + ".Date=2026-12-24T10:00:00Z"
	goCmd(t, testutil.RepoRoot(t), "build", "-buildvcs=false", "-ldflags", ldflags, "-o", bin, "./cmd/mastoscale")
	out, err := exec.Command(bin, "version").Output()
	require.NoError(t, err)
	assert.Equal(t, "mastoscale v0.9.1 (commit 0123456, 2026-12-24)\n", string(out))
}
