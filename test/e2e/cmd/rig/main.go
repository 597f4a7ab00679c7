//go:build e2e

// Command rig starts the e2e platform and keeps it up until interrupted, for poking at by hand:
//
//	make rig    (or: test/e2e/rig.sh up)
//
// It prints a kubeconfig path (kubectl --kubeconfig ...) and the redis-server addresses.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mastoscale/mastoscale/test/e2e/rig"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rig:", err)
		os.Exit(1)
	}
}

func run() error {
	opts, err := rig.OptionsFromEnv(os.Getenv("RIG_LOOP") != "")
	if err != nil {
		return err
	}
	opts.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 6*time.Minute)
	defer cancel()
	r, err := rig.Start(startCtx, opts)
	if err != nil {
		return err
	}
	defer r.Stop()
	fmt.Printf("KUBECONFIG=%s\n", r.Kubeconfig)
	fmt.Printf("REDIS=%s\nREDIS_AUTH=%s (password %s)\n", r.Redis.Addr, r.RedisAuth.Addr, r.RedisAuth.Password)
	fmt.Printf("OPERATOR_METRICS=%s/metrics\nLOGS=%s\nrig is up; Ctrl-C stops it\n", r.OperatorHTTP, r.Dir)
	<-ctx.Done()
	return nil
}
