#!/usr/bin/env bash
# rig.sh prepares, caches and runs the platform rig: a real etcd, kube-apiserver, KEDA CRDs,
# KEDA operator + admission webhooks and redis-server, on 127.0.0.1 (KEDA's webhook server has no
# bind-address flag and listens on all interfaces; the apiserver calls it on 127.0.0.1).
#
#   rig.sh prepare      install/build what is missing, print the env the tests need
#   rig.sh test [FLAGS] prepare, then run the e2e Go tests (FLAGS and $RIG_TEST_FLAGS go to `go test`)
#   rig.sh loop [FLAGS] prepare, then run the loop scenarios (TestLoop) on the rig with its
#                       controllers: kube-controller-manager, KEDA's metrics apiserver, Sidekiq
#   rig.sh up           prepare, then start the rig and wait (Ctrl-C stops it)
#   rig.sh env          print the env lines (after prepare)
#   rig.sh ready [loop] exit 0 when the rig (and with loop, the loop's parts) is prepared: what
#                       `make test` asks before running them
#
# Binaries are cached outside the repository, keyed by version, under
#   ${MASTOSCALE_CACHE:-$HOME/.cache/mastoscale}/rig/<name>-<version>/
# so a warm machine skips every build. The Go tests (test/e2e, build tag e2e) start and stop
# the processes themselves, by PID; this script stops the test run by PID if it is interrupted.
set -euo pipefail

K8S_VERSION="${RIG_K8S_VERSION:-v1.34.4}"   # KEDA 2.21 is tested on Kubernetes 1.34 - 1.36
KEDA_VERSION="${RIG_KEDA_VERSION:-v2.21.0}"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_ROOT="${MASTOSCALE_CACHE:-$HOME/.cache/mastoscale}/rig"
APISERVER_DIR="$CACHE_ROOT/kube-apiserver-$K8S_VERSION"
KCM_DIR="$CACHE_ROOT/kube-controller-manager-$K8S_VERSION"
KEDA_DIR="$CACHE_ROOT/keda-$KEDA_VERSION"
ASSETS_DIR="$CACHE_ROOT/assets-$K8S_VERSION"

log() { printf 'rig: %s\n' "$*" >&2; }
die() { printf 'rig: FATAL: %s\n' "$*" >&2; exit 1; }

need_root_or_sudo() {
	if [ "$(id -u)" -eq 0 ]; then echo ""; elif command -v sudo >/dev/null; then echo sudo; else
		die "need root or sudo to apt-get install $*"; fi
}

APT_UPDATED=""
apt_install() { # apt_install <binary> <package>
	local bin="$1" pkg="$2" s
	if command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/bin/$bin" ]; then return 0; fi
	command -v apt-get >/dev/null || die "$bin missing and no apt-get to install $pkg"
	s="$(need_root_or_sudo "$pkg")"
	if [ -z "$APT_UPDATED" ]; then
		log "apt-get update"
		$s apt-get update -qq >&2 || die "apt-get update failed"
		APT_UPDATED=1
	fi
	log "apt-get install $pkg"
	DEBIAN_FRONTEND=noninteractive $s apt-get install -y -qq --no-install-recommends "$pkg" >&2 ||
		die "apt-get install $pkg failed"
	# Debian starts the services it installs; the rig runs its own instances on free ports.
	if command -v systemctl >/dev/null 2>&1; then $s systemctl disable --now "$pkg" >/dev/null 2>&1 || true; fi
	if [ "$pkg" = redis-server ] && command -v service >/dev/null 2>&1; then $s service redis-server stop >/dev/null 2>&1 || true; fi
}

# Outputs are written to <name>.tmp.<pid> and renamed into place, so two prepares sharing a
# cache (several checkouts on one machine) never see a half-written binary.

# build_k8s <command> builds one Kubernetes command (kube-apiserver, kube-controller-manager) from
# k8s.io/kubernetes in a scratch module that replaces every k8s.io staging module with its
# published v0.<minor>.<patch> twin, into $CACHE_ROOT/<command>-$K8S_VERSION/<command>.
build_k8s() {
	local name="$1" dir="$CACHE_ROOT/$1-$K8S_VERSION"
	local bin="$dir/$name"
	if [ -x "$bin" ]; then return 0; fi
	local src="$dir/src" staging="v0.${K8S_VERSION#v1.}" gomod t0=$SECONDS
	mkdir -p "$src"
	log "building $name $K8S_VERSION (cold: kube-apiserver ~4 min, kube-controller-manager ~3 min on 2 cores)"
	(
		cd "$src"
		gomod="$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
		[ -f "$gomod" ] || die "cannot download k8s.io/kubernetes@$K8S_VERSION"
		{
			printf 'module rigbuild/%s\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\n' "$name" "$K8S_VERSION"
			sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#replace \1 => \1 '"$staging"'#p' "$gomod"
		} >go.mod
		printf 'package tools\n' >tools.go
		# Stamp the version the way Kubernetes' own build does, so discovery (/version) tells
		# clients such as KEDA the real version instead of v0.0.0-master.
		local minor="${K8S_VERSION#v1.}" pkg ldflags=""
		minor="${minor%%.*}"
		for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
			ldflags="$ldflags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
		done
		GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin.tmp.$$" "k8s.io/kubernetes/cmd/$name"
		mv "$bin.tmp.$$" "$bin"
	) || die "$name build failed"
	log "built $name in $((SECONDS - t0))s"
}

# build_keda builds the KEDA operator, admission webhooks and metrics apiserver (cmd/adapter) in a
# scratch module with KEDA's own replace/exclude lines, and copies the CRDs (config/crd/bases) and the webhook
# configuration (config/webhooks/validation_webhooks.yaml) out of the module.
build_keda() {
	if [ -x "$KEDA_DIR/keda-operator" ] && [ -x "$KEDA_DIR/keda-webhooks" ] && [ -x "$KEDA_DIR/keda-adapter" ] &&
		[ -f "$KEDA_DIR/crds/eventing.keda.sh_cloudeventsources.yaml" ] &&
		[ -f "$KEDA_DIR/webhooks/validation_webhooks.yaml" ]; then return 0; fi
	local src="$KEDA_DIR/src" dir
	mkdir -p "$src"
	(
		cd "$src"
		dir="$(GOFLAGS=-mod=mod go mod download -json "github.com/kedacore/keda/v2@$KEDA_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
		[ -f "$dir/go.mod" ] || die "cannot download github.com/kedacore/keda/v2@$KEDA_VERSION"
		{
			printf 'module rigbuild/keda\n\ngo 1.26.0\n\nrequire github.com/kedacore/keda/v2 %s\n\n' "$KEDA_VERSION"
			grep -E '^(replace|exclude)[[:space:]]+[^(]' "$dir/go.mod" || true
			awk '/^(replace|exclude)[[:space:]]*\($/{p=1} p{print} p&&/^\)/{p=0}' "$dir/go.mod"
		} >go.mod
		printf 'package tools\n' >tools.go
		local name t0
		for name in operator webhooks adapter; do
			[ -x "$KEDA_DIR/keda-$name" ] && continue
			t0=$SECONDS
			log "building KEDA $KEDA_VERSION $name (cold: operator ~6 min, webhooks ~2 min, adapter ~3 min on 2 cores)"
			GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$KEDA_DIR/keda-$name.tmp.$$" "github.com/kedacore/keda/v2/cmd/$name"
			mv "$KEDA_DIR/keda-$name.tmp.$$" "$KEDA_DIR/keda-$name"
			log "built KEDA $name in $((SECONDS - t0))s"
		done
		rm -rf "$KEDA_DIR/crds.tmp.$$" "$KEDA_DIR/webhooks.tmp.$$" && mkdir -p "$KEDA_DIR/crds.tmp.$$" "$KEDA_DIR/webhooks.tmp.$$"
		# All of them: the operator also watches eventing.keda.sh CloudEventSources and exits if
		# their CRDs are missing.
		cp "$dir"/config/crd/bases/*.yaml "$KEDA_DIR/crds.tmp.$$/"
		cp "$dir"/config/webhooks/validation_webhooks.yaml "$KEDA_DIR/webhooks.tmp.$$/"
		chmod -R u+w "$KEDA_DIR/crds.tmp.$$" "$KEDA_DIR/webhooks.tmp.$$"
		rm -rf "$KEDA_DIR/crds" "$KEDA_DIR/webhooks"
		mv "$KEDA_DIR/crds.tmp.$$" "$KEDA_DIR/crds" && mv "$KEDA_DIR/webhooks.tmp.$$" "$KEDA_DIR/webhooks"
	) || die "KEDA build failed"
}

# assets lays out KUBEBUILDER_ASSETS the way envtest wants it: kube-apiserver and etcd side by side.
assets() {
	mkdir -p "$ASSETS_DIR"
	ln -sfn "$APISERVER_DIR/kube-apiserver" "$ASSETS_DIR/kube-apiserver"
	ln -sfn "$(command -v etcd || echo /usr/bin/etcd)" "$ASSETS_DIR/etcd"
}

print_env() {
	cat <<ENV
KUBEBUILDER_ASSETS=$ASSETS_DIR
RIG_KEDA_OPERATOR=$KEDA_DIR/keda-operator
RIG_KEDA_WEBHOOKS=$KEDA_DIR/keda-webhooks
RIG_KEDA_ADAPTER=$KEDA_DIR/keda-adapter
RIG_KUBE_CONTROLLER_MANAGER=$KCM_DIR/kube-controller-manager
RIG_SIDEKIQ=$(command -v sidekiq || echo /usr/bin/sidekiq)
RIG_KEDA_CRDS=$KEDA_DIR/crds
RIG_KEDA_WEBHOOK_CONFIG=$KEDA_DIR/webhooks/validation_webhooks.yaml
RIG_REDIS_SERVER=$(command -v redis-server || echo /usr/bin/redis-server)
RIG_K8S_VERSION=$K8S_VERSION
RIG_KEDA_VERSION=$KEDA_VERSION
ENV
}

prepare() {
	local t0=$SECONDS
	apt_install etcd etcd-server
	apt_install redis-server redis-server
	apt_install sidekiq ruby-sidekiq # Sidekiq 6.4.1 on Ruby 3.1: the loop scenarios, the scaler check
	# The builds are CPU bound; run the Kubernetes and the KEDA ones side by side so the two
	# cores stay busy (the controller-manager reuses most of the apiserver's compiled packages).
	{ build_k8s kube-apiserver && build_k8s kube-controller-manager; } &
	local a=$!
	build_keda &
	local k=$!
	local rc=0
	wait "$a" || rc=1
	wait "$k" || rc=1
	[ "$rc" -eq 0 ] || die "building the rig failed"
	assets
	log "prepared in $((SECONDS - t0))s (cache: $CACHE_ROOT)"
}

# Every process the rig starts is appended to $RIG_PID_FILE ("pid name") by the Go side; on
# exit this script stops the test run and then any recorded PID still alive, by PID.
CHILD=""
STATE_DIR=""
cleanup() {
	local pid name owner="" i
	# The test binary (rig-owner) stops its own children in order when it gets SIGTERM.
	if [ -n "$STATE_DIR" ] && [ -f "$STATE_DIR/pids" ]; then
		owner="$(awk '$2 == "rig-owner" {print $1; exit}' "$STATE_DIR/pids")"
	fi
	if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then
		kill -TERM "$owner" 2>/dev/null || true
		for i in $(seq 1 60); do kill -0 "$owner" 2>/dev/null || break; sleep 0.5; done
	fi
	if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
		kill -TERM "$CHILD" 2>/dev/null || true
		wait "$CHILD" 2>/dev/null || true
	fi
	if [ -n "$STATE_DIR" ] && [ -f "$STATE_DIR/pids" ]; then
		while read -r pid name; do
			if kill -0 "$pid" 2>/dev/null; then
				log "stopping leftover $name (pid $pid)"
				kill -TERM "$pid" 2>/dev/null || true
				sleep 1
				kill -KILL "$pid" 2>/dev/null || true
			fi
		done <"$STATE_DIR/pids"
	fi
	[ -n "$STATE_DIR" ] && rm -rf "$STATE_DIR"
}

run_with_env() { # run a command with the rig env; stop it and its recorded children on exit
	local line
	while IFS= read -r line; do export "${line?}"; done < <(print_env)
	STATE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/mastoscale-rig-state.XXXXXX")"
	export RIG_PID_FILE="$STATE_DIR/pids"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	"$@" &
	CHILD=$!
	local rc=0
	wait "$CHILD" || rc=$?
	CHILD=""
	return "$rc"
}

cmd="${1:-test}"
[ $# -gt 0 ] && shift
case "$cmd" in
prepare) prepare; print_env ;;
env) print_env ;;
ready)
	# exit 0 when every binary the tests need is cached and installed: `make test` then runs the
	# rig; `ready loop` also asks for the loop's parts (controller-manager, metrics apiserver, Sidekiq)
	[ -x "$ASSETS_DIR/kube-apiserver" ] && [ -x "$ASSETS_DIR/etcd" ] && [ -x "$KEDA_DIR/keda-operator" ] &&
		[ -x "$KEDA_DIR/keda-webhooks" ] && [ -d "$KEDA_DIR/crds" ] && command -v redis-server >/dev/null || exit 1
	if [ "${1:-}" = loop ]; then
		[ -x "$KCM_DIR/kube-controller-manager" ] && [ -x "$KEDA_DIR/keda-adapter" ] && command -v sidekiq >/dev/null || exit 1
	fi
	;;
test)
	prepare
	cd "$REPO_ROOT"
	# shellcheck disable=SC2086 # RIG_TEST_FLAGS is a list of flags
	# TestLoop needs the controllers; `rig.sh loop` runs it.
	run_with_env go test -tags e2e -count=1 -timeout 30m -skip '^TestLoop$' ${RIG_TEST_FLAGS:-} "$@" ./test/e2e/...
	;;
loop)
	prepare
	cd "$REPO_ROOT"
	export RIG_LOOP=1
	export MASTOSCALE_HELM3="${MASTOSCALE_HELM3:-${MASTOSCALE_CACHE:-$HOME/.cache/mastoscale}/tools/helm-v3.22.0/helm}"
	out="$(mktemp "${TMPDIR:-/tmp}/mastoscale-loop.XXXXXX")"
	loop_test() {
		# shellcheck disable=SC2086 # RIG_TEST_FLAGS is a list of flags
		# Flags after the package, so test binary flags such as -update reach the test.
		go test -tags e2e -count=1 -timeout 20m -run '^TestLoop$' ./test/e2e/ ${RIG_TEST_FLAGS:-} "$@" 2>&1 | tee "$out"
		return "${PIPESTATUS[0]}"
	}
	rc=0
	run_with_env loop_test "$@" || rc=$?
	log "loop summary:"
	grep '^LOOP ' "$out" >&2 || log "no LOOP lines (see the output above)"
	rm -f "$out"
	exit "$rc"
	;;
up)
	prepare
	cd "$REPO_ROOT"
	run_with_env go run -tags e2e ./test/e2e/cmd/rig "$@"
	;;
*) die "unknown command $cmd (prepare|test|loop|up|env|ready)" ;;
esac
