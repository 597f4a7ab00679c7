package testutil

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RedisServer starts a throwaway redis-server (found by Command) on a free loopback port in a
// temporary directory, with no persistence and any extra args (e.g. "--requirepass", "pw"),
// waits until it accepts connections and kills it when the test ends. It returns host:port.
func RedisServer(t testing.TB, args ...string) string {
	t.Helper()
	return startRedis(t, "", args)
}

// RedisSentinel starts a Redis Sentinel (redis-server --sentinel) watching the master at
// masterAddr under the name master, with quorum 1 and any extra args (e.g. "--requirepass",
// "pw" for the sentinel's own password); masterPassword, if not empty, is what it authenticates
// to the master with. It returns host:port once the sentinel answers.
func RedisSentinel(t testing.TB, master, masterAddr, masterPassword string, args ...string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(masterAddr)
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("sentinel monitor %s %s %s 1\n", master, host, port)
	if masterPassword != "" {
		conf += fmt.Sprintf("sentinel auth-pass %s %s\n", master, masterPassword)
	}
	return startRedis(t, conf, append(args, "--sentinel"))
}

// startRedis runs redis-server with an optional config file holding conf (a sentinel needs one
// it can write) and args.
func startRedis(t testing.TB, conf string, args []string) string {
	bin := Command(t, "redis-server")
	port := FreePort(t)
	dir := t.TempDir()
	var all []string
	if conf != "" {
		path := filepath.Join(dir, "redis.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		all = append(all, path)
	}
	all = append(all, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--dir", dir)
	all = append(all, args...)
	cmd := exec.Command(bin, all...)
	logPath := filepath.Join(dir, "redis.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		_ = log.Close()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if pong(addr) {
			return addr
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(logPath)
			t.Fatalf("redis-server %s exited:\n%s", strings.Join(args, " "), out)
		default:
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logPath)
			t.Fatalf("redis-server on %s did not answer within 10 s:\n%s", addr, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pong reports whether a Redis answers on addr, even with an authentication error.
func pong(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && (strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH"))
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
