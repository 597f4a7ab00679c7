package postrender

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Sidekiq is what a container's command runs, read from `bundle exec sidekiq -c N -q q,w ...`
// in its command and args, also behind `sh -c "..."`.
type Sidekiq struct {
	// Argv is the command followed by the args; Shell tells that Sidekiq runs behind `sh -c`.
	Argv  []string
	Shell bool
	// Concurrency is the thread count the process runs: -c, else SIDEKIQ_CONCURRENCY from the
	// container's environment (Mastodon's config/sidekiq.yml), else Mastodon's default 5.
	// ConcurrencyFrom says which, for messages.
	Concurrency     int32
	ConcurrencyFrom string
	// ConcurrencyFlag is -c as written, nil when the command has none.
	ConcurrencyFlag *int32
	// Timeout is -t, nil when the command has none (Sidekiq's default applies).
	Timeout *int32
	Queues  []Queue
	// Err says why the command cannot be read fully (-C, a -q without queue), or "".
	Err string
}

// Queue is one -q argument.
type Queue struct {
	Name string
	// Weight is nil for `-q name` and for `-q name,0`, which Sidekiq runs alike.
	Weight *int32
}

// DefaultConcurrency is the thread count of a Mastodon Sidekiq process started without -c and
// without SIDEKIQ_CONCURRENCY (config/sidekiq.yml since Mastodon 4.1; Sidekiq 7's default too).
const DefaultConcurrency = 5

// EnvSidekiqConcurrency is the variable Mastodon's config/sidekiq.yml reads without -c.
const EnvSidekiqConcurrency = "SIDEKIQ_CONCURRENCY"

// sidekiqCommand returns what container c runs when it runs Sidekiq, or false.
func sidekiqCommand(c *yaml.RNode) (Sidekiq, bool) {
	argv := append(stringsAt(c, "command"), stringsAt(c, "args")...)
	if i := sidekiqIndex(argv); i >= 0 {
		s := parseSidekiqArgs(argv[i+1:])
		s.Argv = argv
		return s, true
	}
	// `sh -c "bundle exec sidekiq ..."`: the script is the argument after -c.
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] != "-c" || !isShell(argv[:i]) {
			continue
		}
		words := strings.Fields(argv[i+1])
		if j := sidekiqIndex(words); j >= 0 {
			s := parseSidekiqArgs(shellArgs(words[j+1:]))
			s.Argv, s.Shell = argv, true
			return s, true
		}
	}
	return Sidekiq{}, false
}

func isShell(argv []string) bool {
	return len(argv) > 0 && (strings.HasSuffix(argv[0], "sh") || strings.HasSuffix(argv[0], "bash"))
}

// shellArgs drops what ends the Sidekiq command in a shell script (`&&`, `;`, a pipe) and the
// quotes around words.
func shellArgs(words []string) []string {
	var out []string
	for _, w := range words {
		if w == "&&" || w == ";" || w == "|" || w == "||" || strings.HasPrefix(w, "#") {
			break
		}
		out = append(out, strings.Trim(w, `"'`))
	}
	return out
}

// sidekiqIndex finds `sidekiq` in `bundle exec sidekiq ...` (or a bare `sidekiq ...`).
func sidekiqIndex(argv []string) int {
	for i, a := range argv {
		if a == "sidekiq" && (i == 0 || (i >= 2 && argv[i-1] == "exec" && argv[i-2] == "bundle")) {
			return i
		}
	}
	return -1
}

// parseSidekiqArgs reads -c/--concurrency, -t/--timeout and -q/--queue name[,weight].
func parseSidekiqArgs(args []string) Sidekiq {
	var s Sidekiq
	for i := 0; i < len(args); i++ {
		opt, val, inline := strings.Cut(args[i], "=")
		next := func() (string, bool) {
			if inline {
				return val, true
			}
			if i+1 < len(args) {
				i++
				return args[i], true
			}
			return "", false
		}
		switch opt {
		case "-c", "--concurrency":
			s.ConcurrencyFlag = s.number("-c", next)
		case "-t", "--timeout":
			s.Timeout = s.number("-t", next)
		case "-q", "--queue":
			s.queue(next)
		case "-C", "--config":
			s.Err = "the queues come from a Sidekiq config file (-C), which mastoscale cannot read"
			next()
		}
	}
	if s.Err == "" && len(s.Queues) == 0 {
		s.Err = "the command names no queue (-q)"
	}
	return s
}

func (s *Sidekiq) number(flag string, next func() (string, bool)) *int32 {
	v, ok := next()
	n, err := strconv.ParseInt(v, 10, 32)
	switch {
	case ok && strings.HasPrefix(v, "$"):
		s.Err = fmt.Sprintf("%s %q is a shell variable, set only when the container runs", flag, v)
		return nil
	case !ok || err != nil || n < 0:
		s.Err = fmt.Sprintf("%s %q is not a number of threads or seconds (0 to 2147483647)", flag, v)
		return nil
	}
	return ptr.To(int32(n))
}

func (s *Sidekiq) queue(next func() (string, bool)) {
	v, ok := next()
	if !ok || v == "" {
		s.Err = "-q without a queue"
		return
	}
	name, weight, hasWeight := strings.Cut(v, ",")
	q := Queue{Name: name}
	if hasWeight {
		n, err := strconv.ParseInt(weight, 10, 32)
		if err != nil || n < 0 {
			s.Err = fmt.Sprintf("-q %q has a weight that is not a number", v)
			return
		}
		if n > 0 { // Sidekiq's CLI reads weight 0 as none: listed once, strict order kept
			q.Weight = ptr.To(int32(n))
		}
	}
	s.Queues = append(s.Queues, q)
}

// resolveConcurrency settles the thread count as Mastodon would run it: -c, else
// SIDEKIQ_CONCURRENCY (a literal in the container's environment), else 5.
func (s *Sidekiq) resolveConcurrency(env map[string]EnvVar) {
	switch e, ok := env[EnvSidekiqConcurrency]; {
	case s.ConcurrencyFlag != nil:
		s.Concurrency, s.ConcurrencyFrom = *s.ConcurrencyFlag, "-c"
	case ok && e.Literal:
		if n, err := strconv.ParseInt(strings.TrimSpace(e.Value), 10, 32); err == nil && n > 0 {
			s.Concurrency, s.ConcurrencyFrom = int32(n), EnvSidekiqConcurrency+" ("+e.From+")"
			return
		}
		fallthrough
	default:
		s.Concurrency, s.ConcurrencyFrom = DefaultConcurrency, fmt.Sprintf("Mastodon's default without -c or %s", EnvSidekiqConcurrency)
	}
}

// timeout is -t, or Sidekiq's default.
func (s Sidekiq) timeout() int32 {
	if s.Timeout != nil {
		return *s.Timeout
	}
	return layout.SidekiqDefaultTimeout
}

// layoutQueues are the queues as a layout states them.
func (s Sidekiq) layoutQueues() []layout.Queue {
	out := make([]layout.Queue, len(s.Queues))
	for i, q := range s.Queues {
		out[i] = layout.Queue{Name: q.Name, Weight: q.Weight}
	}
	return out
}
