//go:build e2e

package rig

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is one redis-server process the rig runs on 127.0.0.1.
type Redis struct {
	Name     string
	Addr     string // 127.0.0.1:<port>
	Host     string
	Port     int
	Password string // empty: no AUTH

	rig  *Rig
	proc *process
	args []string
}

func (r *Rig) startRedis(ctx context.Context, name, password string) (*Redis, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(r.Dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	args := []string{
		"--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes",
		"--databases", "512", // one database per golden, so goldens that share list names stay apart
	}
	if password != "" {
		args = append(args, "--requirepass", password)
	}
	s := &Redis{Name: name, Host: "127.0.0.1", Port: port, Addr: fmt.Sprintf("127.0.0.1:%d", port), Password: password, rig: r, args: args}
	return s, s.Start(ctx)
}

// Start (re)starts the server on its port and waits for PING.
func (s *Redis) Start(ctx context.Context) error {
	if s.proc != nil && !s.proc.exited() {
		return nil
	}
	p, err := s.rig.startProcess(s.Name, s.rig.opts.RedisBin, s.args, nil)
	if err != nil {
		return err
	}
	s.proc = p
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c := s.Client()
	defer c.Close()
	return poll(ctx, 100*time.Millisecond, func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("%s exited: %v\n%s", s.Name, p.err, p.tail(2000))
		}
		err := c.Ping(ctx).Err()
		return err == nil, err
	})
}

// Stop stops the server by PID (SIGTERM, then SIGKILL).
func (s *Redis) Stop() {
	if s.proc != nil {
		s.proc.stop(10 * time.Second)
	}
}

// Client returns a go-redis client for database 0 of the server; close it after use.
func (s *Redis) Client() *redis.Client { return s.ClientDB(0) }

// ClientDB returns a go-redis client for one database of the server; close it after use.
func (s *Redis) ClientDB(db int) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.Addr, Password: s.Password, DB: db, DialTimeout: 2 * time.Second, MaxRetries: -1})
}
