package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/shopd/shopd/platform"
)

// validateDebugAddr checks --debug-addr: empty (off), or HOST:PORT on a
// loopback address, because profiles show a process's insides (stacks,
// heap contents) to whoever can reach them.
func validateDebugAddr(addr string) error {
	if addr == "" {
		return nil
	}
	if err := platform.ValidateAddr(addr); err != nil {
		return fmt.Errorf("--debug-addr: %w", err)
	}
	host, _, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--debug-addr %q: must be a loopback address, like 127.0.0.1:6060 (profiles show the process's memory)", addr)
	}
	return nil
}

// serveDebug serves Go's profiler (/debug/pprof/) on addr, a listener of
// its own so that the API's router, limits and timeouts never touch it (a
// CPU profile takes 30 s by default). It returns the address it listens on
// and stops when ctx ends.
func serveDebug(ctx context.Context, addr string, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go srv.Serve(ln) // returns when ctx ends and Close runs
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return ln.Addr().String(), nil
}
