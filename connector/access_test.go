package connector_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/connector"
)

// probe is a connector type for these tests: Sync reads the secret
// "password" and the data file named by the setting "data", and returns
// what they held as one account, or the error.
type probe struct{ cfg connector.Config }

func (p *probe) Sync(context.Context) (*connector.Snapshot, error) {
	pw, err := p.cfg.Access.Secret(p.cfg.Settings, "password")
	if err != nil {
		return nil, err
	}
	var data []byte
	if path := p.cfg.Settings.String("data", ""); path != "" {
		if data, err = p.cfg.Access.ReadDataFile("data", path, 1<<20); err != nil {
			return nil, err
		}
	}
	return &connector.Snapshot{Accounts: []connector.Account{{ID: pw, Name: string(data)}}}, nil
}
func (p *probe) Grant(context.Context, connector.Subject, string) error  { return nil }
func (p *probe) Revoke(context.Context, connector.Subject, string) error { return nil }
func (p *probe) Close() error                                            { return nil }

func init() {
	connector.Register("test-probe", func(cfg connector.Config) (connector.Connector, error) {
		if err := cfg.Settings.Check(connector.Spec{Optional: []string{"data"}, Secrets: []string{"password"}}); err != nil {
			return nil, err
		}
		if path := cfg.Settings.String("data", ""); path != "" {
			if err := cfg.Access.CheckDataFile("data", path); err != nil {
				return nil, err
			}
		}
		return &probe{cfg}, nil
	})
}

// dirs makes a secrets and a data directory, each holding one file.
func dirs(t *testing.T) connector.Access {
	t.Helper()
	root := t.TempDir()
	a := connector.Access{SecretsDir: filepath.Join(root, "secrets"), DataDir: filepath.Join(root, "data")}
	for path, content := range map[string]string{
		a.SecretsDir + "/password": "hunter2\n",
		a.DataDir + "/people.csv":  "id\nalice\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func TestOpenRefusesSettingsThatReachOutsideTheirPlace(t *testing.T) {
	a := dirs(t)
	if err := os.Symlink("/proc/self/environ", filepath.Join(a.DataDir, "environ")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(a.SecretsDir, "passwd")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(a.DataDir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		access   connector.Access
		settings connector.Settings
		want     string // "" means accepted
	}{
		{"variable with the prefix", a, connector.Settings{"password_env": "ROSTER_SECRET_PW"}, ""},
		{"server's own variable", a, connector.Settings{"password_env": "ROSTER_SESSION_KEY"},
			"settings.password_env: ROSTER_SESSION_KEY does not start with ROSTER_SECRET_"},
		{"any variable", a, connector.Settings{"password_env": "HOME"}, "settings.password_env: HOME does not start with ROSTER_SECRET_"},
		{"another prefix", connector.Access{EnvPrefix: "ACME_"}, connector.Settings{"password_env": "ROSTER_SECRET_PW"},
			"settings.password_env: ROSTER_SECRET_PW does not start with ACME_"},
		{"file in the secrets dir", a, connector.Settings{"password_file": filepath.Join(a.SecretsDir, "password")}, ""},
		{"relative file", a, connector.Settings{"password_file": "password"}, ""},
		{"file not there yet", a, connector.Settings{"password_file": "later"}, ""},
		{"file outside", a, connector.Settings{"password_file": "/proc/self/environ"},
			"settings.password_file: /proc/self/environ is not under the secrets directory " + a.SecretsDir},
		{"file escaping", a, connector.Settings{"password_file": "../data/people.csv"},
			"settings.password_file: ../data/people.csv is not under the secrets directory"},
		{"link out of the secrets dir", a, connector.Settings{"password_file": "passwd"},
			"settings.password_file: passwd leads outside the secrets directory"},
		{"no secrets dir", connector.Access{}, connector.Settings{"password_file": "/run/secrets/pw"},
			"settings.password_file: the server has no secrets directory: start roster serve with --secrets-dir"},
		{"data file", a, connector.Settings{"password_env": "ROSTER_SECRET_PW", "data": "people.csv"}, ""},
		{"data file outside", a, connector.Settings{"password_env": "ROSTER_SECRET_PW", "data": "/etc/passwd"},
			"settings.data: /etc/passwd is not under the data directory " + a.DataDir},
		{"data file in the secrets dir", a, connector.Settings{"password_env": "ROSTER_SECRET_PW", "data": filepath.Join(a.SecretsDir, "password")},
			"is not under the data directory"},
		{"data link", a, connector.Settings{"password_env": "ROSTER_SECRET_PW", "data": "environ"},
			"settings.data: environ leads outside the data directory"},
		{"data FIFO", a, connector.Settings{"password_env": "ROSTER_SECRET_PW", "data": "fifo"},
			"settings.data: fifo is not a regular file"},
		{"data directory itself", a, connector.Settings{"password_env": "ROSTER_SECRET_PW", "data": "."},
			"settings.data: . is not a regular file"},
		{"no data dir", connector.Access{}, connector.Settings{"password_env": "ROSTER_SECRET_PW", "data": "people.csv"},
			"settings.data: the server has no data directory: start roster serve with --data-dir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := connector.Open("test-probe", connector.Config{Settings: tc.settings, Access: tc.access})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				c.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSecretsAndDataFilesAreReadUnderTheRules(t *testing.T) {
	a := dirs(t)
	t.Setenv("ROSTER_SECRET_PW", "from-env")
	t.Setenv("ROSTER_SESSION_KEY", "session-key")
	open := func(s connector.Settings) connector.Connector {
		t.Helper()
		c, err := connector.Open("test-probe", connector.Config{Settings: s, Access: a})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	sync := func(c connector.Connector) (connector.Account, error) {
		snap, err := c.Sync(context.Background())
		if err != nil {
			return connector.Account{}, err
		}
		return snap.Accounts[0], nil
	}
	got, err := sync(open(connector.Settings{"password_file": "password", "data": "people.csv"}))
	if err != nil || got.ID != "hunter2" || got.Name != "id\nalice\n" {
		t.Fatalf("read %+v, %v", got, err)
	}
	if got, err := sync(open(connector.Settings{"password_env": "ROSTER_SECRET_PW"})); err != nil || got.ID != "from-env" {
		t.Fatalf("read %+v, %v", got, err)
	}

	// Settings checked at Open are checked again when read: a file replaced
	// by a link, a FIFO or a big file afterwards is refused, and the error
	// never holds what the file holds.
	c := open(connector.Settings{"password_file": "password", "data": "people.csv"})
	replace := func(path string, make func(string) error) {
		t.Helper()
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := make(path); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		path string
		make func(string) error
		want string
	}{
		{"secret link", filepath.Join(a.SecretsDir, "password"), func(p string) error { return os.Symlink("/proc/self/environ", p) },
			"settings.password_file: password leads outside the secrets directory"},
		{"secret FIFO", filepath.Join(a.SecretsDir, "password"), func(p string) error { return syscall.Mkfifo(p, 0o600) },
			"settings.password_file: password is not a regular file"},
		{"big secret", filepath.Join(a.SecretsDir, "password"), func(p string) error {
			return os.WriteFile(p, bytes.Repeat([]byte("session-key"), 64<<10/11+1), 0o600)
		}, "settings.password_file: password is larger than 65536 bytes"},
		{"secret gone", filepath.Join(a.SecretsDir, "password"), func(string) error { return nil },
			"settings.password_file: cannot read password: no such file or directory"},
		{"data link", filepath.Join(a.DataDir, "people.csv"), func(p string) error { return os.Symlink("/proc/self/environ", p) },
			"settings.data: people.csv leads outside the data directory"},
		{"data FIFO", filepath.Join(a.DataDir, "people.csv"), func(p string) error { return syscall.Mkfifo(p, 0o600) },
			"settings.data: people.csv is not a regular file"},
		{"big data file", filepath.Join(a.DataDir, "people.csv"), func(p string) error {
			return os.WriteFile(p, bytes.Repeat([]byte("session-key"), 1<<20/11+1), 0o600)
		}, "settings.data: people.csv is larger than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for path, content := range map[string]string{"password": "hunter2", "people.csv": "id\n"} {
				dir := a.SecretsDir
				if path == "people.csv" {
					dir = a.DataDir
				}
				os.Remove(filepath.Join(dir, path))
				if err := os.WriteFile(filepath.Join(dir, path), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			replace(tc.path, tc.make)
			began := time.Now()
			_, err := sync(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "session-key") {
				t.Fatalf("the error holds the file's content: %v", err)
			}
			if took := time.Since(began); took > 2*time.Second {
				t.Fatalf("took %s", took)
			}
		})
	}
}

// failing is a connector type whose every call fails with longError,
// wrapped as its setting "kind" says ("open" fails Open itself).
type failing struct{ err error }

func (f failing) Sync(context.Context) (*connector.Snapshot, error)       { return nil, f.err }
func (f failing) Grant(context.Context, connector.Subject, string) error  { return f.err }
func (f failing) Revoke(context.Context, connector.Subject, string) error { return f.err }
func (f failing) Close() error                                            { return nil }

var longError = "the system said:\n" + strings.Repeat("très \x1b[31mlong\x00 ", 200) + "\r\nend"

func init() {
	connector.Register("test-failing", func(cfg connector.Config) (connector.Connector, error) {
		err := errors.New(longError)
		switch cfg.Settings.String("kind", "") {
		case "open":
			return nil, err
		case "permanent":
			err = connector.Permanent(err)
		case "no-account":
			err = errors.Join(err, connector.ErrNoAccount)
		}
		return failing{err}, nil
	})
}

func TestErrorsFromSystemsAreCut(t *testing.T) {
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		msg := err.Error()
		if n := len([]rune(msg)); n > 500 {
			t.Errorf("%s: the error has %d characters", what, n)
		}
		if !strings.HasPrefix(msg, "the system said: très") || !strings.HasSuffix(msg, "…") {
			t.Errorf("%s: %q", what, msg)
		}
		for _, r := range msg {
			if r < ' ' || r == 0x7f {
				t.Errorf("%s: control character %U in %q", what, r, msg)
				break
			}
		}
	}
	_, err := connector.Open("test-failing", connector.Config{Settings: connector.Settings{"kind": "open"}})
	check("open", err)
	for _, kind := range []string{"", "permanent", "no-account"} {
		c, err := connector.Open("test-failing", connector.Config{Settings: connector.Settings{"kind": kind}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Sync(context.Background())
		check(kind+" sync", err)
		err = c.Grant(context.Background(), connector.Subject{ID: "alice"}, "admins")
		check(kind+" grant", err)
		if connector.IsPermanent(err) != (kind == "permanent") {
			t.Errorf("%s: IsPermanent = %t", kind, connector.IsPermanent(err))
		}
		if errors.Is(err, connector.ErrNoAccount) != (kind == "no-account") {
			t.Errorf("%s: errors.Is(ErrNoAccount) = %t", kind, errors.Is(err, connector.ErrNoAccount))
		}
		check(kind+" revoke", c.Revoke(context.Background(), connector.Subject{ID: "alice"}, "admins"))
	}
}

// stuck is a connector type whose calls wait for release, whatever their
// context says, as a call blocked in a system call does.
type stuck struct{ release chan struct{} }

func (s stuck) Sync(context.Context) (*connector.Snapshot, error) {
	<-s.release
	return &connector.Snapshot{}, nil
}
func (s stuck) Grant(context.Context, connector.Subject, string) error  { <-s.release; return nil }
func (s stuck) Revoke(context.Context, connector.Subject, string) error { <-s.release; return nil }
func (s stuck) Close() error                                            { return nil }

// stuckRelease releases the calls of the test-stuck connectors opened
// since it was last made (each run of a test makes its own).
var stuckRelease chan struct{}

func init() {
	connector.Register("test-stuck", func(cfg connector.Config) (connector.Connector, error) {
		if err := cfg.Settings.Check(connector.Spec{}); err != nil {
			return nil, err
		}
		return stuck{stuckRelease}, nil
	})
}

func TestCallsHaveADeadline(t *testing.T) {
	stuckRelease = make(chan struct{}, 1)
	for _, tc := range []struct {
		settings connector.Settings
		want     string
	}{
		{connector.Settings{"sync_timeout": "soon"}, `settings.sync_timeout: "soon" is not a duration like 30s or 5m`},
		{connector.Settings{"provision_timeout": "0s"}, "settings.provision_timeout: must be more than 0"},
		{connector.Settings{"sync_timout": "1m"}, "settings.sync_timout: unknown setting (known: provision_timeout, sync_timeout)"},
	} {
		if _, err := connector.Open("test-stuck", connector.Config{Settings: tc.settings}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.settings, err, tc.want)
		}
	}

	c, err := connector.Open("test-stuck", connector.Config{Settings: connector.Settings{"sync_timeout": "100ms", "provision_timeout": "50ms"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	began := time.Now()
	_, err = c.Sync(ctx)
	if err == nil || !strings.Contains(err.Error(), "the sync did not finish within 100ms (settings.sync_timeout)") || connector.IsPermanent(err) {
		t.Fatalf("Sync: %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Sync: %v is not context.DeadlineExceeded", err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Fatalf("Sync took %s", took)
	}
	// While the abandoned call has not returned, the connector takes no
	// other: calls fail at once rather than pile up.
	began = time.Now()
	err = c.Grant(ctx, connector.Subject{ID: "alice"}, "admins")
	if err == nil || !strings.Contains(err.Error(), "a sync abandoned after its time limit has not returned yet") {
		t.Fatalf("Grant while the sync is stuck: %v", err)
	}
	if took := time.Since(began); took > time.Second {
		t.Fatalf("Grant took %s", took)
	}
	stuckRelease <- struct{}{} // the abandoned sync returns
	stuckRelease <- struct{}{} // waits in the buffer for the next call
	var grantErr error
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if grantErr = c.Grant(ctx, connector.Subject{ID: "alice"}, "admins"); grantErr == nil || !strings.Contains(grantErr.Error(), "has not returned yet") {
			break
		}
	}
	if grantErr != nil {
		t.Fatalf("Grant once the sync returned: %v", grantErr)
	}
	err = c.Revoke(ctx, connector.Subject{ID: "alice"}, "admins")
	if err == nil || !strings.Contains(err.Error(), "the revoke did not finish within 50ms (settings.provision_timeout)") {
		t.Fatalf("Revoke: %v", err)
	}
	close(stuckRelease)
}

// prompt is a connector whose calls return their context's error as soon
// as it is done, as an HTTP client does at its deadline.
type prompt struct{}

func (prompt) Sync(ctx context.Context) (*connector.Snapshot, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (prompt) Grant(ctx context.Context, _ connector.Subject, _ string) error {
	<-ctx.Done()
	return ctx.Err()
}
func (prompt) Revoke(ctx context.Context, _ connector.Subject, _ string) error {
	<-ctx.Done()
	return ctx.Err()
}
func (prompt) Close() error { return nil }

func init() {
	connector.Register("test-prompt", func(cfg connector.Config) (connector.Connector, error) {
		if err := cfg.Settings.Check(connector.Spec{}); err != nil {
			return nil, err
		}
		return prompt{}, nil
	})
}

// TestADeadlineIsNamedWhenTheCallReturnsAtIt: a call that returns its
// context's error at the deadline, at the moment the deadline is seen, is
// told as a deadline with the setting that bounds it, every time — not as
// a bare "context deadline exceeded", as it was when the two arrived
// together (e2e TestAStuckConnectorDoesNotStallTheOthers failed so in CI).
func TestADeadlineIsNamedWhenTheCallReturnsAtIt(t *testing.T) {
	open := func() connector.Connector {
		// A connector of its own for each call: one whose call was
		// abandoned refuses the next until it has returned.
		c, err := connector.Open("test-prompt", connector.Config{Settings: connector.Settings{"sync_timeout": "1ms", "provision_timeout": "1ms"}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for i := 0; i < 300; i++ {
		_, err := open().Sync(context.Background())
		if err == nil || !strings.Contains(err.Error(), "the sync did not finish within 1ms (settings.sync_timeout)") {
			t.Fatalf("call %d: Sync: %v", i, err)
		}
		if err := open().Grant(context.Background(), connector.Subject{ID: "alice"}, "admins"); err == nil ||
			!strings.Contains(err.Error(), "did not finish within 1ms (settings.provision_timeout)") {
			t.Fatalf("call %d: Grant: %v", i, err)
		}
	}
}
