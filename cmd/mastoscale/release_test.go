package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/cli"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// TestReleaseSnapshot runs goreleaser's snapshot release of .goreleaser.yaml for this machine's
// platform only (`make release-snapshot` builds all four), signing the plugin tarball with a
// throwaway gpg key; checks the archives against checksums.txt and the binary's version; then
// installs the Helm 4 plugin tarball with the real helm 4, which verifies its .prov, into a
// scratch Helm home and post-renders the official mastodon/helm-charts chart with it.
func TestReleaseSnapshot(t *testing.T) {
	goreleaser := testutil.Tool(t, "MASTOSCALE_GORELEASER")
	helm := testutil.Tool(t, "MASTOSCALE_HELM4")
	chart := testutil.OfficialChart(t, testutil.HelmChartsChart)
	git := testutil.Command(t, "git")
	gpg := testutil.Command(t, "gpg")
	root := testutil.RepoRoot(t)
	keyring, gpgEnv := signingKey(t, gpg)
	dist := snapshot(t, goreleaser, git, root, gpgEnv)

	assertChecksums(t, dist)
	short := strings.TrimSpace(gitOutput(t, git, root, "rev-parse", "--short", "HEAD"))
	version := "0.0.0-SNAPSHOT-" + short
	platform := runtime.GOOS + "_" + runtime.GOARCH

	// The plain archive: the binary at the top, with the licence and the README.
	files := untar(t, filepath.Join(dist, "mastoscale_"+version+"_"+platform+".tar.gz"))
	assert.ElementsMatch(t, []string{"mastoscale", "LICENSE", "README.md"}, keys(files))
	out, err := exec.Command(files["mastoscale"], "version").Output()
	require.NoError(t, err)
	assert.Regexp(t, `^mastoscale v`+version+` \(commit `+short+`, \d{4}-\d\d-\d\d\)\n$`, string(out))

	// The plugin tarball: what Helm 4 needs, under the plugin's name.
	tarball := filepath.Join(dist, "mastoscale-"+version+"-"+strings.ReplaceAll(platform, "_", "-")+".tgz")
	assert.FileExists(t, tarball+".prov", "signed with HELM_PLUGIN_SIGNING_KEY")
	plugin := untar(t, tarball)
	assert.ElementsMatch(t, []string{"mastoscale/plugin.yaml", "mastoscale/bin/mastoscale", "mastoscale/LICENSE", "mastoscale/README.md"}, keys(plugin))
	meta, err := os.ReadFile(plugin["mastoscale/plugin.yaml"])
	require.NoError(t, err)
	assert.Contains(t, string(meta), "\nversion: "+version+"\n", "the plugin carries the release's version")

	postRenderWithPlugin(t, helm, chart, tarball, keyring, version)
}

// signingKey makes a throwaway ed25519 signing key in a scratch GNUPGHOME and returns its public
// keyring and the environment that signs with it.
func signingKey(t *testing.T, gpg string) (keyring string, env []string) {
	t.Helper()
	home, err := os.MkdirTemp("", "gpg-") // short: gpg-agent's socket path must fit
	require.NoError(t, err)
	env = []string{"GNUPGHOME=" + home, "HELM_PLUGIN_SIGNING_KEY=mastoscale test"}
	gpgCmd := func(args ...string) []byte {
		cmd := exec.Command(gpg, append([]string{"--batch"}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.Output()
		require.NoError(t, err, "gpg %s", strings.Join(args, " "))
		return out
	}
	t.Cleanup(func() {
		kill := exec.Command("gpgconf", "--kill", "gpg-agent")
		kill.Env = append(os.Environ(), env...)
		_ = kill.Run()
		_ = os.RemoveAll(home)
	})
	gpgCmd("--passphrase", "", "--quick-gen-key", "mastoscale test <test@example.invalid>", "ed25519", "sign", "never")
	keyring = filepath.Join(home, "release-key.gpg")
	require.NoError(t, os.WriteFile(keyring, gpgCmd("--export", "mastoscale test"), 0o644))
	return keyring, env
}

// snapshot runs `goreleaser release --snapshot --clean` on a copy of .goreleaser.yaml that builds
// only this machine's platform into a temporary dist, and returns that directory.
func snapshot(t *testing.T, goreleaser, git, root string, env []string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, ".goreleaser.yaml"))
	require.NoError(t, err)
	var config map[string]any
	require.NoError(t, yaml.Unmarshal(data, &config))
	builds := config["builds"].([]any)
	require.Len(t, builds, 1)
	builds[0].(map[string]any)["goos"] = []string{runtime.GOOS}
	builds[0].(map[string]any)["goarch"] = []string{runtime.GOARCH}
	// goreleaser finds an archive's files only under the checkout, so the dist is a scratch
	// directory in its (git-ignored) dist/.
	require.NoError(t, os.MkdirAll(filepath.Join(root, "dist"), 0o755))
	dist, err := os.MkdirTemp(filepath.Join(root, "dist"), "test-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dist) })
	config["dist"] = dist
	data, err = yaml.Marshal(config)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "goreleaser.yaml")
	require.NoError(t, os.WriteFile(file, data, 0o644))

	cmd := exec.Command(goreleaser, "release", "--snapshot", "--clean", "--config", file)
	cmd.Dir, cmd.Env = root, append(goEnv(), env...)
	// goreleaser reads the commit only when the checkout has a remote (see make release-snapshot).
	if strings.TrimSpace(gitOutput(t, git, root, "remote")) == "" {
		cmd.Env = append(cmd.Env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=remote.origin.url", "GIT_CONFIG_VALUE_0="+root)
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "goreleaser:\n%s", out)
	return dist
}

// postRenderWithPlugin installs the plugin tarball as a user would, checking its signature, and
// post-renders the chart; the result must be what `mastoscale post-render --preset split` makes of
// the chart's output.
func postRenderWithPlugin(t *testing.T, helm, chart, tarball, keyring, version string) {
	home := t.TempDir()
	data := filepath.Join(home, "data")
	env := append(os.Environ(), "HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_DATA_HOME="+data, "XDG_STATE_HOME="+filepath.Join(home, "state"),
		// Helm 4.3.1 installs a local plugin into $HELM_DATA_HOME/plugins whatever HELM_PLUGINS says.
		"HELM_PLUGINS="+filepath.Join(data, "plugins"))
	helmCmd := func(args ...string) (string, error) {
		cmd := exec.Command(helm, args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil {
			return stdout.String() + stderr.String(), err
		}
		return stdout.String(), nil
	}

	// Helm 4 verifies a plugin tarball by default: without its .prov it refuses it, and the
	// signature must be by a key in --keyring (default: GnuPG's pubring in ~/.gnupg).
	unsigned := filepath.Join(t.TempDir(), filepath.Base(tarball))
	require.NoError(t, os.Link(tarball, unsigned))
	out, err := helmCmd("plugin", "install", unsigned)
	require.Error(t, err, out)
	assert.Contains(t, out, "no provenance file (.prov) found")
	other := filepath.Join(t.TempDir(), "empty.gpg")
	require.NoError(t, os.WriteFile(other, nil, 0o644))
	out, err = helmCmd("plugin", "install", "--keyring", other, tarball)
	require.Error(t, err, out)
	assert.Contains(t, out, "plugin verification failed")

	out, err = helmCmd("plugin", "install", "--keyring", keyring, tarball)
	require.NoError(t, err, out)
	assert.Contains(t, out, "Signed by: mastoscale test <test@example.invalid>")
	assert.Contains(t, out, "Plugin Hash Verified: sha256:")
	assert.Contains(t, out, "Installed plugin: mastoscale")
	out, err = helmCmd("plugin", "list")
	require.NoError(t, err, out)
	assert.Regexp(t, `(?m)^mastoscale\s+`+version+`\s+postrenderer/v1\s`, out)

	values := filepath.Join(home, "values.yaml")
	vals, err := yaml.Marshal(testutil.ChartValues(testutil.HelmChartsChart))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(values, vals, 0o644))
	base := []string{"template", "social", chart, "-n", "fedi", "-f", values}
	plain, err := helmCmd(base...)
	require.NoError(t, err, plain)
	rendered, err := helmCmd(append(base, "--post-renderer", "mastoscale", "--post-renderer-args", "--preset", "--post-renderer-args", "split")...)
	require.NoError(t, err, rendered)
	assert.Contains(t, rendered, "kind: ScaledObject")
	testutil.AssertSameObjects(t, []byte(postRender(t, plain, "--preset", "split")), []byte(rendered))
}

// postRender runs `mastoscale post-render ARGS` in-process on manifests.
func postRender(t *testing.T, manifests string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(append([]string{"post-render"}, args...), cli.Streams{In: strings.NewReader(manifests), Out: &out, ErrOut: &errOut})
	require.Equal(t, 0, code, errOut.String())
	return out.String()
}

// assertChecksums: checksums.txt lists every archive and signature in dist with its sha256.
func assertChecksums(t *testing.T, dist string) {
	t.Helper()
	sums, err := os.ReadFile(filepath.Join(dist, "checksums.txt"))
	require.NoError(t, err)
	archives, err := filepath.Glob(filepath.Join(dist, "*.t*gz"))
	require.NoError(t, err)
	require.Len(t, archives, 2, "a binary archive and a plugin tarball")
	provs, err := filepath.Glob(filepath.Join(dist, "*.prov"))
	require.NoError(t, err)
	archives = append(archives, provs...)
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, _ := strings.Cut(line, "  ")
		listed[name] = sum
	}
	for _, a := range archives {
		data, err := os.ReadFile(a)
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		assert.Equal(t, hex.EncodeToString(sum[:]), listed[filepath.Base(a)], "checksum of %s", filepath.Base(a))
	}
	assert.Len(t, listed, len(archives))
}

// untar extracts a .tar.gz into a temporary directory and returns its regular files by archive path.
func untar(t *testing.T, archive string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("tar", "-xzf", archive, "-C", dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	files := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = path
		return err
	}))
	return files
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func gitOutput(t *testing.T, git, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command(git, append([]string{"-C", dir}, args...)...).Output()
	require.NoError(t, err, "git %s", strings.Join(args, " "))
	return string(out)
}
