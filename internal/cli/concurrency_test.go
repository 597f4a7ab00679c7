package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrencyWithoutC: a Sidekiq command without -c runs SIDEKIQ_CONCURRENCY threads, else
// Mastodon's 5, and lint, post-render and fn --verify all count those threads; attach mode
// leaves such a command alone.
func TestConcurrencyWithoutC(t *testing.T) {
	dir := filepath.Join("testdata", "concurrency")
	release, err := os.ReadFile(filepath.Join(dir, "release.yaml"))
	require.NoError(t, err)
	run := func(in []byte, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(args, Streams{In: bytes.NewReader(in), Out: &out, ErrOut: &errOut})
		return code, out.String(), errOut.String()
	}

	code, out, _ := run(release, "lint", "--max-connections", "25", "-")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "mastodon-sidekiq-default 2x8 + mastodon-sidekiq-push-pull 1x5 + mastodon-sidekiq-scheduler 1x5) + 0 reserved = 26")

	code, attached, errOut := run(release, "post-render")
	require.Zero(t, code, errOut)
	assert.Contains(t, attached, `command: [bundle, exec, sidekiq, -q, "default,8", -q, "ingress,4", -q, "mailers,2"]`, "attach keeps the command")
	assert.Contains(t, attached, `command: [bundle, exec, sidekiq, -q, "push,6", -q, pull, -q, fasp]`)
	assert.NotContains(t, attached, "DB_POOL", "Mastodon 4.3+ sizes the pool to the threads")
	assert.Equal(t, 2, strings.Count(attached, "kind: ScaledObject"))

	code, out, _ = run([]byte(attached), "lint", "--max-connections", "56", "-")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "mastodon-sidekiq-default 4x8 + mastodon-sidekiq-push-pull 4x5 + mastodon-sidekiq-scheduler 1x5) + 0 reserved = 57")
	code, out, _ = run([]byte(attached), "lint", "--max-connections", "57", "-")
	assert.Zero(t, code, out)

	layoutFile := filepath.Join(dir, "layout.yaml")
	code, split, errOut := run(release, "post-render", "-f", layoutFile)
	require.Zero(t, code, "the layout fits 57 connections at 8 and 5 threads:\n%s", errOut)
	assert.Contains(t, split, `command: [bundle, exec, sidekiq, -q, "default,8", -q, "ingress,4", -q, "mailers,2"]`, "a command that already runs the worker is kept")
	code, out, errOut = run([]byte(split), "fn", "--verify", layoutFile, "-")
	assert.Zero(t, code, out+errOut)

	tight := filepath.Join(t.TempDir(), "layout.yaml")
	data, err := os.ReadFile(layoutFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(tight, bytes.Replace(data, []byte("maxConnections: 57"), []byte("maxConnections: 56"), 1), 0o644))
	code, _, errOut = run(release, "post-render", "-f", tight)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "default 4x8 + push-pull 4x5 + scheduler 1x5) + 0 reserved = 57, 1 over max_connections 56")
	code, _, errOut = run([]byte(split), "fn", "--verify", tight, "-")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "default 4x8 + push-pull 4x5 + scheduler 1x5) + 0 reserved = 57, 1 over max_connections 56")
}
