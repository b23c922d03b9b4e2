package crashtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// adminToken is the bootstrap token of every server the tests start.
const adminToken = "crash-admin-0123456789abcdef0123456789"

// process is one `roster serve` subprocess.
type process struct {
	cmd *exec.Cmd
	// URL is the base URL of the API.
	URL string
	// exited is closed once the process has exited and waitErr is set.
	exited  chan struct{}
	waitErr error
	stderr  *tailBuffer
}

// errDied says the server died while it was being started or driven.
var errDied = errors.New("the roster server died")

// startServer runs `roster serve --db db` on a free port, with
// ROSTER_FAILPOINT=failpoint when failpoint is set, and waits until GET
// /healthz answers 200. When the process dies before it is healthy (a
// failpoint can fire on its first commits) it returns an error wrapping
// errDied and the process, already reaped.
func startServer(ctx context.Context, db, failpoint string) (*process, error) {
	// Change-driven sync runs in the background on its own clock; it is off so
	// that a run makes the same commits every time and kill points reproduce.
	// Syncs commit in parts of three steps of work, so that kill points fall
	// between the parts of one sync too.
	return startServerWith(ctx, db, failpoint, "--sync-on-change=false", "--sync-chunk=3")
}

// startServerWith is startServer with more arguments to `roster serve`.
func startServerWith(ctx context.Context, db, failpoint string, args ...string) (*process, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p, err := spawn(ctx, db, failpoint, args)
		if err == nil || errors.Is(err, errDied) {
			return p, err
		}
		// Most likely the free port was taken between choosing and
		// listening: try another.
		lastErr = err
	}
	return nil, lastErr
}

func spawn(ctx context.Context, db, failpoint string, args []string) (*process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(rosterBin, append([]string{"serve", "--db", db, "--addr", addr}, args...)...)
	env := []string{"ROSTER_BOOTSTRAP_TOKEN=" + adminToken}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROSTER_") {
			env = append(env, kv)
		}
	}
	if failpoint != "" {
		env = append(env, "ROSTER_FAILPOINT="+failpoint)
	}
	cmd.Env = env
	p := &process{cmd: cmd, URL: "http://" + addr, exited: make(chan struct{}), stderr: &tailBuffer{max: 16 << 10}}
	cmd.Stdout, cmd.Stderr = p.stderr, p.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", rosterBin, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitHealthy(ctx); err != nil {
		return p, err
	}
	return p, nil
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHealthy polls GET /healthz until it answers 200, the process exits or
// 30 seconds pass.
func (p *process) waitHealthy(ctx context.Context) error {
	hc := &http.Client{Timeout: time.Second}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/healthz", nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				// Let the scheduler and the notifier take their leases,
				// which they do at once on start, so that the commits of a
				// run come in the same order every time.
				time.Sleep(30 * time.Millisecond)
				if p.dead() {
					return p.deathError()
				}
				return nil
			}
		}
		select {
		case <-p.exited:
			return p.deathError()
		case <-ctx.Done():
			p.kill()
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.kill()
			return fmt.Errorf("roster serve did not become healthy within 30s\n%s", p.stderr)
		}
	}
}

// deathError describes the exit of a process that exited before it was
// healthy: errDied when it was killed by a signal (a failpoint), another
// error when it exited by itself (a bad flag, a port in use).
func (p *process) deathError() error {
	if p.killedBySignal() {
		return fmt.Errorf("%w while starting", errDied)
	}
	return fmt.Errorf("roster serve exited before it was healthy: %v\n%s", p.waitErr, p.stderr)
}

// killedBySignal reports whether the exited process was killed by a signal.
func (p *process) killedBySignal() bool {
	var ee *exec.ExitError
	if !errors.As(p.waitErr, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled()
}

// dead reports whether the process has exited.
func (p *process) dead() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// diedWithin reports whether the process exits within d. A client sees its
// connection break as the kernel tears the dying process down, a moment
// before the process is reaped.
func (p *process) diedWithin(d time.Duration) bool {
	select {
	case <-p.exited:
		return true
	case <-time.After(d):
		return false
	}
}

// kill SIGKILLs the process and waits for it.
func (p *process) kill() {
	if !p.dead() {
		p.cmd.Process.Kill()
	}
	<-p.exited
}

// stop asks the process to shut down gracefully (SIGTERM) and waits for it,
// killing it after 10 seconds.
func (p *process) stop() error {
	if p.dead() {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.waitErr != nil {
			return fmt.Errorf("roster serve: %v\n%s", p.waitErr, p.stderr)
		}
		return nil
	case <-time.After(10 * time.Second):
		p.kill()
		return fmt.Errorf("roster serve did not stop within 10s of SIGTERM\n%s", p.stderr)
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
