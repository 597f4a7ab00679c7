// Tests of the kustomize example: the overlay built in-process by krusty and by the real
// kustomize binary, both running a freshly built mastoscale as an exec KRM function, must
// print autoscaled/expected.yaml.
package kustomize_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	// The binary under test is built from internal/cli; importing it ties this test's cache
	// entry to that code, so `go test` reruns it when the function changes.
	_ "github.com/mastoscale/mastoscale/internal/cli"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const golden = "autoscaled/expected.yaml"

// mastoscale is the binary built once by TestMain into binDir.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mastoscale-kustomize-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = filepath.Join(dir, "bin")
	// The package directory is kustomize/, so the module root is one up.
	build := exec.Command("go", "build", "-o", filepath.Join(binDir, "mastoscale"), "./cmd/mastoscale")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building mastoscale: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// example copies base/ and autoscaled/ into a fresh directory beside the built bin/, laid out
// like the repository, so the overlay's exec path ../../bin/mastoscale finds that binary.
func example(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"base", "autoscaled"} {
		if err := os.CopyFS(filepath.Join(root, "kustomize", d), os.DirFS(d)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.CopyFS(filepath.Join(root, "bin"), os.DirFS(binDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "bin", "mastoscale"), 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "kustomize", "autoscaled")
}

func krustyBuild(t *testing.T, dir string, enableExec bool) []byte {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	// The kustomize CLI sorts by kind unless told --reorder=none; sort like it.
	opts.Reorder = krusty.ReorderOptionLegacy
	opts.PluginConfig = types.EnabledPluginConfig(types.BploUseStaticallyLinked)
	opts.PluginConfig.FnpLoadingOptions.EnableExec = enableExec
	// Exec functions only run on a real filesystem: the binary and its working directory are files.
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("krusty build of %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestKrusty builds the overlay in-process with exec functions enabled; its output is the
// golden file (regenerated with -update).
func TestKrusty(t *testing.T) {
	out := krustyBuild(t, example(t), true)
	testutil.Golden(t, golden, out)
}

// TestKrustyWithoutExec shows the trap: with exec functions disabled the overlay builds
// without error and without autoscaling.
func TestKrustyWithoutExec(t *testing.T) {
	out := string(krustyBuild(t, example(t), false))
	if strings.Contains(out, "kind: ScaledObject") {
		t.Fatalf("without exec the function must not run, but the output has a ScaledObject:\n%s", out)
	}
}

// TestKustomizeBinary builds the overlay with the real kustomize v5.8.2, as the README says.
func TestKustomizeBinary(t *testing.T) {
	kustomize := testutil.Tool(t, "MASTOSCALE_KUSTOMIZE")
	dir := example(t)

	t.Run("with --enable-exec", func(t *testing.T) {
		out, stderr := runTool(t, 0, kustomize, "build", "--enable-alpha-plugins", "--enable-exec", dir)
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, out) {
			t.Errorf("kustomize build differs from %s (the krusty test writes it):\n%s", golden, testutil.LineDiff(string(want), string(out)))
		}
		if len(stderr) > 0 {
			t.Errorf("kustomize build printed to stderr:\n%s", stderr)
		}
	})

	t.Run("two scheduler workers", func(t *testing.T) {
		bad := example(t)
		path := filepath.Join(bad, "sidekiq-layout.yaml")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		const mailers = "        - name: mailers\n"
		if !bytes.Contains(data, []byte(mailers)) {
			t.Fatalf("%s no longer has the mailers queue this test adds scheduler beside", path)
		}
		data = bytes.Replace(data, []byte(mailers), []byte(mailers+"        - name: scheduler\n"), 1)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr := runTool(t, 1, kustomize, "build", "--enable-alpha-plugins", "--enable-exec", bad)
		if !regexp.MustCompile(`\[error\] \S*SidekiqLayout\S* spec\.workers\[4\]\.queues\[0\]: .*"scheduler" is already consumed by spec\.workers\[3\]\.queues\[1\]`).Match(stderr) {
			t.Errorf("kustomize's stderr must carry the error result with its field path, got:\n%s", stderr)
		}
	})

	t.Run("without --enable-exec", func(t *testing.T) {
		out, _ := runTool(t, 0, kustomize, "build", "--enable-alpha-plugins", dir)
		if bytes.Contains(out, []byte("kind: ScaledObject")) {
			t.Fatalf("without --enable-exec kustomize must skip the function, but the output has a ScaledObject:\n%s", out)
		}
		// The check the README gives for this trap fails on that output.
		built := filepath.Join(t.TempDir(), "built.yaml")
		if err := os.WriteFile(built, out, 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr := runTool(t, 1, filepath.Join(binDir, "mastoscale"), "fn", "--verify", filepath.Join(dir, "sidekiq-layout.yaml"), built)
		if !strings.Contains(string(stderr), "--enable-exec") {
			t.Errorf("verify must point at --enable-exec, got:\n%s", stderr)
		}
	})
}

// TestVerifyGolden checks the golden output with `mastoscale fn --verify`, as CI would check
// a real build.
func TestVerifyGolden(t *testing.T) {
	out, _ := runTool(t, 0, filepath.Join(binDir, "mastoscale"), "fn", "--verify", "autoscaled/sidekiq-layout.yaml", golden)
	if !strings.Contains(string(out), "carries the layout") {
		t.Errorf("unexpected verify output: %s", out)
	}
}

// runTool runs a binary and fails the test unless it exits with code.
func runTool(t *testing.T, code int, name string, args ...string) (stdout, stderr []byte) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	got := 0
	if exit, ok := err.(*exec.ExitError); ok {
		got = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", name, err)
	}
	if got != code {
		t.Fatalf("%s %s: exit %d, want %d\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), got, code, errOut.String())
	}
	return out.Bytes(), errOut.Bytes()
}

// TestKpt runs the function with kpt on the base as a kpt package: the split workers and KEDA
// objects land in files under mastoscale/, the chart's all-queues file goes, a second run
// changes nothing, and a warning shows up in kpt's results. kpt is not one of the project's
// pinned tools, so the test runs only where kpt is on PATH.
func TestKpt(t *testing.T) {
	kpt, err := exec.LookPath("kpt")
	if err != nil {
		t.Skip("kpt is not on PATH; it is optional")
	}
	pkg := filepath.Join(t.TempDir(), "mastodon")
	if err := os.CopyFS(pkg, os.DirFS("base")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(pkg, "kustomization.yaml")); err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(t.TempDir(), "layout.yaml")
	data, err := os.ReadFile("autoscaled/sidekiq-layout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// kpt passes the config file as is; the base has no namespace, so neither has the layout.
	data = bytes.Replace(data, []byte("  namespace: mastodon\n"), nil, 1)
	if err := os.WriteFile(layout, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fn := filepath.Join(binDir, "mastoscale") + " fn"
	runTool(t, 0, kpt, "fn", "eval", pkg, "--exec", fn, "--fn-config", layout)

	var files []string
	if err := filepath.WalkDir(pkg, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(pkg, path)
			files = append(files, rel)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"configmap-env.yaml", "deployment-streaming.yaml", "deployment-web.yaml",
		"mastoscale/deployment_mastodon-sidekiq-default.yaml",
		"mastoscale/deployment_mastodon-sidekiq-ingress.yaml",
		"mastoscale/deployment_mastodon-sidekiq-mailers.yaml",
		"mastoscale/deployment_mastodon-sidekiq-push-pull.yaml",
		"mastoscale/deployment_mastodon-sidekiq-scheduler.yaml",
		"mastoscale/poddisruptionbudget_mastodon-sidekiq-default.yaml",
		"mastoscale/poddisruptionbudget_mastodon-sidekiq-ingress.yaml",
		"mastoscale/poddisruptionbudget_mastodon-sidekiq-mailers.yaml",
		"mastoscale/poddisruptionbudget_mastodon-sidekiq-push-pull.yaml",
		"mastoscale/poddisruptionbudget_mastodon-sidekiq-scheduler.yaml",
		"mastoscale/scaledobject_mastodon-sidekiq-default.yaml",
		"mastoscale/scaledobject_mastodon-sidekiq-ingress.yaml",
		"mastoscale/scaledobject_mastodon-sidekiq-mailers.yaml",
		"mastoscale/scaledobject_mastodon-sidekiq-push-pull.yaml",
		"mastoscale/triggerauthentication_mastodon-sidekiq-redis.yaml",
		"secret.yaml", "service-streaming.yaml", "service-web.yaml",
	}
	if strings.Join(files, "\n") != strings.Join(want, "\n") {
		t.Fatalf("kpt package after the function:\n%s\nwant:\n%s", strings.Join(files, "\n"), strings.Join(want, "\n"))
	}

	before := snapshot(t, pkg)
	runTool(t, 0, kpt, "fn", "eval", pkg, "--exec", fn, "--fn-config", layout)
	if after := snapshot(t, pkg); after != before {
		t.Errorf("a second kpt run changed the package:\n%s", testutil.LineDiff(before, after))
	}

	warn := bytes.Replace(data, []byte("      concurrency: 5\n"), []byte("      concurrency: 40\n"), 1)
	if err := os.WriteFile(layout, warn, 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr := runTool(t, 0, kpt, "fn", "eval", pkg, "--exec", fn, "--fn-config", layout)
	all := string(out) + string(stderr)
	if !strings.Contains(all, "[warning] mastoscale.dev/v1alpha1/SidekiqLayout/mastodon spec.workers[4].concurrency") {
		t.Errorf("kpt must show the warning result with its field path, got:\n%s", all)
	}
}

// snapshot is every file of dir with its content, in one string.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		fmt.Fprintf(&b, "== %s\n%s", path, data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
