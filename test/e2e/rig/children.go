//go:build e2e

package rig

import (
	"context"
	"time"
)

// StartRedis starts one more redis-server on 127.0.0.1 (optionally with requirepass), for a
// test that stops and restarts it without disturbing the rig's own two.
func (r *Rig) StartRedis(ctx context.Context, name, password string) (*Redis, error) {
	return r.startRedis(ctx, name, password)
}

// Process is a program a test runs as part of the platform (mastoscale's scaler, say): its PID
// is recorded like the rig's own, its log is in the scratch directory, and the rig stops it
// when it stops.
type Process struct {
	p *process
}

// StartProcess starts bin with args and env (added to PATH, HOME and TMPDIR only).
func (r *Rig) StartProcess(name, bin string, args, env []string) (*Process, error) {
	p, err := r.startProcess(name, bin, args, env)
	if err != nil {
		return nil, err
	}
	return &Process{p: p}, nil
}

// Stop sends SIGTERM and waits up to grace, then SIGKILL.
func (p *Process) Stop(grace time.Duration) { p.p.stop(grace) }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool { return p.p.exited() }

// Log returns the last n bytes of the process's output.
func (p *Process) Log(n int64) string { return p.p.tail(n) }
