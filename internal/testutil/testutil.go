// Package testutil holds what the project's tests share: golden files regenerated with
// `go test ./... -update`, and access to the real external binaries the Makefile builds.
//
// Every package with tests must import it (at least for Update), because `go test ./... -update`
// passes -update to every test binary and one that does not define it fails.
package testutil

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files instead of comparing with them")

// Update reports whether golden files are being regenerated.
func Update() bool { return *update }

// Golden compares got with the file at path, or writes it when -update is given.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run `go test ./... -update` to create it): %v", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the output (run `go test ./... -update` and review the diff):\n%s", path, LineDiff(string(want), string(got)))
	}
}

// LineDiff is a short line-by-line account of how got differs from want.
func LineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl == gl {
			continue
		}
		fmt.Fprintf(&b, "line %d:\n  - %s\n  + %s\n", i+1, wl, gl)
		if shown++; shown == 20 {
			b.WriteString("  ...\n")
			break
		}
	}
	return b.String()
}

// Tool returns the path of an external binary named by environment variable env (the
// Makefile sets MASTOSCALE_HELM3, MASTOSCALE_HELM4 and MASTOSCALE_KUSTOMIZE). When it is not
// available the test is skipped, except under CI=true, where a missing tool is a failure:
// CI never silently skips the tests that use real binaries.
func Tool(t testing.TB, env string) string {
	t.Helper()
	path := os.Getenv(env)
	if path != "" {
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	msg := fmt.Sprintf("%s=%q is not an executable: run the tests with `make test`, which builds the real tools", env, path)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Command is a binary the test needs on PATH (redis-server, say), with the same CI rule as Tool.
func Command(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s is not on PATH: .ci/run installs it (see README)", name)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// RepoRoot returns the repository root (the directory holding go.mod) above the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}
