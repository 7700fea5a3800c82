package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"

	"github.com/shopd/shopd/loadtest"
)

// referenceServerCmd serves loadtest.Reference, the bare handler that
// `shopd loadtest catalog` compares the storefront with, in a process of
// its own as shopd serve is. It prints its URL as its first line.
func referenceServerCmd(ctx context.Context, c *cli, args []string) error {
	f := c.flags("reference-server", "[--addr HOST:PORT]",
		"Serves a fixed 1 KB JSON document for every request, with shopd serve's HTTP server settings:\n"+
			"the reference of `shopd loadtest catalog`. Prints its URL, then serves until interrupted.")
	addr := f.String("addr", "", "127.0.0.1:0", "listen address HOST:PORT (port 0 picks a free port)")
	if err := parse(f, args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := newHTTPServer(loadtest.Reference(), nil)
	fmt.Fprintf(c.stdout, "http://%s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startReference starts `shopd reference-server` on a free loopback port
// as a child process and returns its URL and how to stop it.
func startReference(ctx context.Context) (url string, stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "reference-server", "--addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting the reference server: %w", err)
	}
	stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if url = strings.TrimSpace(line); err != nil || !strings.HasPrefix(url, "http://") {
		stop()
		return "", nil, fmt.Errorf("the reference server (%s reference-server) did not say its URL: %q %v", exe, line, err)
	}
	return url, stop, nil
}
