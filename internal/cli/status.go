package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/mastoscale/mastoscale/internal/status"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// statusClock is the clock of `status` readings and statusAfter its timer; tests replace them
// so latencies are deterministic and loops do not wait.
var (
	statusClock = time.Now
	statusAfter = time.After
)

// exitRedis is the exit code when Redis cannot be reached or read.
const exitRedis = 2

type statusFlags struct {
	lf        layoutFlags
	conn      sidekiq.ConnectionFlags
	namespace string
	output    string
	watch     bool
	interval  time.Duration
	record    string
	duration  time.Duration
}

func newStatusCommand(s Streams) *cobra.Command {
	var f statusFlags
	cmd := &cobra.Command{
		Use:   "status --redis URL [-f layout.yaml] [--watch] [-o table|json] [--record trace.csv]",
		Short: "Show Sidekiq's queues now and the replicas KEDA would ask for",
		Long: `status reads Sidekiq's Redis: per queue the backlog (LLEN, what KEDA counts), the latency
of the oldest job, the processes consuming it and their busy threads, and the retry, scheduled
and dead set sizes. With a layout (-f or --preset) it also shows, per worker, what KEDA and the
HPA would ask for now (TARGETS like kubectl: backlog/listLength) and the Postgres connections
that uses, and warns when the live processes differ from the layout.

The URL is redis://[user@]host[:port][/db] or rediss:// for TLS, without a password: the
password comes from --password-file, or the environment variable --password-env names
(default: MASTOSCALE_REDIS_PASSWORD, else the one Mastodon reads for Sidekiq's Redis:
SIDEKIQ_REDIS_PASSWORD when SIDEKIQ_REDIS_HOST is set, else REDIS_PASSWORD).

--record FILE appends a trace for the simulator: CSV "time,queue,enqueued", one row per second
and queue, with time in whole seconds since the recording started and enqueued the jobs pushed
onto the queue in that second (an interval's arrivals spread evenly over its seconds); an
existing trace is continued, and intervals Redis could not be read are marked with rows of the
pseudo-queue "@redis-down" instead of ending the recording. Arrivals are exact while a queue's backlog outlives the
interval and estimated from Sidekiq's processed counter when it drains (see internal/status).

Exit codes: 0 read, 1 bad flags or layout, 2 Redis unreachable or unreadable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStatus(cmd, s, &f)
		},
	}
	f.lf.register(cmd)
	fl := cmd.Flags()
	f.conn.Register(fl)
	fl.StringVar(&f.namespace, "namespace", "", "REDIS_NAMESPACE prefix (Mastodon 4.3 and older); default the layout's spec.redis.namespace")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	fl.BoolVarP(&f.watch, "watch", "w", false, "show the status again every --interval (redraws in a terminal)")
	fl.DurationVar(&f.interval, "interval", 2*time.Second, "time between readings with --watch or --record")
	fl.StringVar(&f.record, "record", "", "append the arrivals per queue and interval to this trace CSV")
	fl.DurationVar(&f.duration, "duration", 0, "stop --watch or --record after duration/interval intervals (default: until interrupted)")
	_ = cmd.MarkFlagRequired("redis")
	return cmd
}

func runStatus(cmd *cobra.Command, s Streams, f *statusFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	l, err := statusLayout(s, &f.lf)
	if err != nil {
		return err
	}
	conn, err := f.conn.Connection(s.lookupEnv)
	if err != nil {
		return err
	}
	client, addr, err := conn.NewClient()
	if err != nil {
		return err
	}
	defer client.Close()
	read := status.ReadOptions{Namespace: f.namespace}
	if l != nil {
		if !cmd.Flags().Changed("namespace") {
			read.Namespace = l.Spec.Redis.Namespace
		}
		read.Queues = layoutQueues(l)
	}
	redis.SetLogger(quietLogger{}) // errors reach the user once, through the returned error

	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if !f.watch && f.record == "" {
		snap, err := readSnapshot(ctx, client, addr, read, statusClock())
		if err != nil {
			return redisFailed(s, conn.Explain(err))
		}
		return writeStatus(s.Out, f.output, status.Compute(snap, l))
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	lp := &statusLoop{s: s, f: f, l: l, client: client, addr: addr, read: read}
	defer lp.close()
	return lp.run(ctx)
}

// check refuses flag combinations that cannot work.
func (f *statusFlags) check() error {
	if f.output != "table" && f.output != "json" {
		return fmt.Errorf("--output must be table or json, not %q", f.output)
	}
	looping := f.watch || f.record != ""
	if looping && f.interval <= 0 {
		return fmt.Errorf("--interval must be positive, not %s", f.interval)
	}
	if f.record != "" && f.interval%time.Second != 0 {
		return fmt.Errorf("--record writes whole seconds: give an --interval of whole seconds, not %s", f.interval)
	}
	if f.duration < 0 || (f.duration > 0 && !looping) {
		return fmt.Errorf("--duration goes with --watch or --record, and must be positive")
	}
	return nil
}

// statusLoop is `status --watch` and `--record`: a reading every interval, redrawn or recorded.
type statusLoop struct {
	s      Streams
	f      *statusFlags
	l      *layout.SidekiqLayout
	client *redis.Client
	addr   string
	read   status.ReadOptions

	file     *os.File
	trace    *status.TraceWriter
	prev     *status.Snapshot
	last     time.Time // the previous reading's time, failed or not
	prefixes []string
	recorded int
	outages  int
}

func (lp *statusLoop) close() {
	if lp.file != nil {
		lp.file.Close()
	}
}

// run reads until the duration is over or ctx ends, then says what was recorded.
func (lp *statusLoop) run(ctx context.Context) error {
	next := time.Now() // readings keep to a fixed cadence: a slow one does not shift the rest
	for n := 0; ; n++ {
		at := statusClock()
		if done, err := lp.step(ctx, at); err != nil {
			return err
		} else if done {
			break
		}
		lp.last = at
		if lp.f.duration > 0 && time.Duration(n+1)*lp.f.interval > lp.f.duration {
			break
		}
		next = next.Add(lp.f.interval)
		select {
		case <-ctx.Done():
		case <-statusAfter(time.Until(next)):
			continue
		}
		break
	}
	if lp.f.record != "" {
		fmt.Fprintf(lp.s.ErrOut, "recorded %s of %s to %s", plural(lp.recorded, "interval"), lp.f.interval, lp.f.record)
		if lp.outages > 0 {
			fmt.Fprintf(lp.s.ErrOut, ", and %s Redis could not be read", plural(lp.outages, "interval"))
		}
		fmt.Fprintln(lp.s.ErrOut)
	}
	return nil
}

// step takes the reading at at; done when the run was interrupted.
func (lp *statusLoop) step(ctx context.Context, at time.Time) (done bool, err error) {
	lp.read.Previous = lp.prev
	snap, err := readSnapshot(ctx, lp.client, lp.addr, lp.read, at)
	switch {
	case err != nil && ctx.Err() != nil:
		return true, nil // interrupted
	case err != nil && lp.trace == nil:
		return false, redisFailed(lp.s, err)
	case err != nil:
		// A recording outlives a Redis outage: the interval is marked, as the simulator
		// models outages, and the next good reading starts afresh.
		fmt.Fprintf(lp.s.ErrOut, "mastoscale: %v (recorded as an outage)\n", err)
		lp.prev = nil
		return false, lp.outage(at)
	}
	return false, lp.good(snap, at)
}

func (lp *statusLoop) outage(at time.Time) error {
	lp.outages++
	return lp.trace.Outage(lp.last, at)
}

// good records and shows a reading that worked.
func (lp *statusLoop) good(snap *status.Snapshot, at time.Time) error {
	// The namespace check SCANs up to 50 000 keys: once per run, not every second.
	if lp.read.ScanKeys >= 0 {
		lp.prefixes, lp.read.ScanKeys = snap.OtherPrefixes, -1
	}
	snap.OtherPrefixes = lp.prefixes
	if lp.f.record != "" && lp.trace == nil {
		file, tw, err := openTrace(lp.f.record, snap.Time)
		if err != nil {
			return err
		}
		lp.file, lp.trace = file, tw
	}
	switch {
	case lp.trace != nil && lp.prev != nil:
		if err := lp.trace.Write(lp.prev, snap); err != nil {
			return err
		}
		lp.recorded++
	case lp.trace != nil && !lp.last.IsZero():
		// Redis is back; what arrived since the failed reading is unknown.
		if err := lp.outage(at); err != nil {
			return err
		}
	}
	if lp.f.watch {
		if err := redraw(lp.s.Out, lp.f.output, lp.f.interval, status.Compute(snap, lp.l)); err != nil {
			return err
		}
	}
	lp.prev = snap
	return nil
}

// statusLayout loads and prepares the layout, if one is named.
func statusLayout(s Streams, lf *layoutFlags) (*layout.SidekiqLayout, error) {
	if lf.file == "" && lf.preset == "" {
		return nil, nil
	}
	l, name, err := lf.load()
	if err != nil {
		return nil, err
	}
	d, report := layout.Prepare(l)
	if report.HasErrors() {
		writeReport(s.ErrOut, name, report)
		return nil, &ExitError{Code: 1}
	}
	// A worker whose layout states no concurrency runs what the release gives it (a command
	// the post-renderer keeps: -c, else SIDEKIQ_CONCURRENCY, else Mastodon's 5), not the
	// default a new worker gets: status takes it from the live processes (status.Compute).
	for i := range d.Spec.Workers {
		j := slices.IndexFunc(l.Spec.Workers, func(w layout.Worker) bool { return w.Name == d.Spec.Workers[i].Name })
		if j >= 0 && l.Spec.Workers[j].Concurrency == nil {
			d.Spec.Workers[i].Concurrency = nil
		}
	}
	return d, nil
}

// layoutQueues are the layout's queues and its version's catalogue, read even when idle.
func layoutQueues(l *layout.SidekiqLayout) []string {
	var qs []string
	if v, err := layout.ParseMastodonVersion(l.Spec.MastodonVersion); err == nil {
		qs = layout.QueueNames(v)
	}
	for _, w := range l.Spec.Workers {
		for _, q := range w.Queues {
			qs = append(qs, q.Name)
		}
	}
	slices.Sort(qs)
	return slices.Compact(qs)
}

func readSnapshot(ctx context.Context, c *redis.Client, addr string, opts status.ReadOptions, now time.Time) (*status.Snapshot, error) {
	// One reading does a handful of round trips; bound it as a whole so a Redis that accepts
	// connections but stalls cannot hang the command.
	ctx, cancel := context.WithTimeout(ctx, sidekiq.DialTimeout+2*sidekiq.IOTimeout)
	defer cancel()
	snap, err := status.Read(ctx, c, opts, now)
	if err != nil {
		return nil, fmt.Errorf("reading Redis at %s: %w", addr, err)
	}
	return snap, nil
}

func redisFailed(s Streams, err error) error {
	fmt.Fprintf(s.ErrOut, "mastoscale: %v\n", err)
	return &ExitError{Code: exitRedis}
}

// openTrace opens the trace for appending; an existing trace is continued where it ends.
func openTrace(path string, start time.Time) (*os.File, *status.TraceWriter, error) {
	file, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the trace: %w", err)
	}
	end, err := status.TraceEnd(file)
	if err != nil {
		file.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, nil, fmt.Errorf("opening the trace: %w", err)
	}
	tw, err := status.NewTraceWriter(file, start, end, info.Size() == 0)
	if err != nil {
		file.Close()
		return nil, nil, fmt.Errorf("writing the trace: %w", err)
	}
	return file, tw, nil
}

func writeStatus(w io.Writer, output string, st status.Status) error {
	if output == "json" {
		return status.WriteJSON(w, st)
	}
	return status.WriteTable(w, st)
}

// redraw shows st in place on a terminal, or appends it when the output is a file or a pipe.
func redraw(w io.Writer, output string, every time.Duration, st status.Status) error {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(w, "\x1b[H\x1b[2J")
		fmt.Fprintf(w, "%s  every %s, Ctrl-C to stop\n\n", st.Time.Format(time.RFC3339), every)
		return writeStatus(w, output, st)
	}
	if output == "json" {
		return status.WriteJSONLine(w, st)
	}
	fmt.Fprintf(w, "--- %s\n", st.Time.Format(time.RFC3339))
	return status.WriteTable(w, st)
}

// quietLogger silences go-redis' own logging (dial failures are printed as they happen).
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
