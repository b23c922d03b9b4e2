package connector

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// DefaultSecretEnvPrefix is what the name of every environment variable a
// *_env setting names must start with, unless the server is started with
// another prefix (roster serve --secret-env-prefix).
const DefaultSecretEnvPrefix = "ROSTER_SECRET_"

// The largest files connectors read: a secret, and a data file such as an
// HR feed.
const (
	MaxSecretSize   = 64 << 10
	MaxDataFileSize = 256 << 20
)

// Access is what a connector's settings may reach on the server that runs
// it. A connector's settings are written by whoever may apply a declarative
// file, so they must not name the server's own environment (its session key)
// or files (/proc/self/environ): an *_env setting names only a variable that
// starts with EnvPrefix, an *_file setting only a file under SecretsDir, and a
// data file (the csv connector's path) only a file under DataDir. A relative
// path is taken relative to its directory.
//
// Open checks every *_env and *_file setting, and a type's OpenFunc checks
// its data files with CheckDataFile; the files are checked again when they
// are read (Secret, ReadSecretsFile, ReadDataFile), symbolic links resolved,
// since they may have changed in between, and opened through an os.Root on
// the directory. Only regular files are read, up to a size limit, and errors
// name the setting and the path, never what the file holds.
type Access struct {
	// EnvPrefix starts the name of every variable an *_env setting may name;
	// empty means DefaultSecretEnvPrefix.
	EnvPrefix string
	// SecretsDir holds the files *_file settings may name (roster serve
	// --secrets-dir). Empty: no *_file setting is accepted.
	SecretsDir string
	// DataDir holds the data files connectors read (roster serve
	// --data-dir). Empty: no data file is accepted.
	DataDir string
}

// Resolve returns a ready for a server: the default prefix filled in and
// the directories made absolute, each checked to be a directory.
func (a Access) Resolve() (Access, error) {
	a.EnvPrefix = a.prefix()
	for _, d := range []struct {
		dir  *string
		flag string
	}{{&a.SecretsDir, "--secrets-dir"}, {&a.DataDir, "--data-dir"}} {
		if *d.dir == "" {
			continue
		}
		abs, err := filepath.Abs(*d.dir)
		if err != nil {
			return a, fmt.Errorf("%s %s: %w", d.flag, *d.dir, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return a, fmt.Errorf("%s %s: %w", d.flag, *d.dir, unwrapPathError(err))
		}
		if !fi.IsDir() {
			return a, fmt.Errorf("%s %s: not a directory", d.flag, *d.dir)
		}
		*d.dir = abs
	}
	return a, nil
}

func (a Access) prefix() string {
	if a.EnvPrefix == "" {
		return DefaultSecretEnvPrefix
	}
	return a.EnvPrefix
}

// place is a directory files may be named under.
type place struct {
	dir  string
	name string // "secrets directory"
	flag string // "--secrets-dir"
}

func (a Access) secrets() place { return place{a.SecretsDir, "secrets directory", "--secrets-dir"} }
func (a Access) data() place    { return place{a.DataDir, "data directory", "--data-dir"} }

// CheckSettings checks every *_env setting of s against the prefix and every
// *_file setting against the secrets directory. Open calls it.
func (a Access) CheckSettings(s Settings) error {
	for _, k := range sortedKeys(s) {
		v := s.String(k, "")
		if v == "" {
			continue
		}
		switch {
		case strings.HasSuffix(k, "_env"):
			if err := a.checkEnv(k, v); err != nil {
				return err
			}
		case strings.HasSuffix(k, "_file"):
			if err := a.secrets().check(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckEnv checks that name, the value of the setting named setting, may be
// read: it starts with the secret prefix.
func (a Access) CheckEnv(setting, name string) error { return a.checkEnv(setting, name) }

func (a Access) checkEnv(setting, name string) error {
	if p := a.prefix(); !strings.HasPrefix(name, p) {
		return fmt.Errorf("settings.%s: %s does not start with %s: connectors may read only the environment variables whose names do (roster serve --secret-env-prefix)", setting, name, p)
	}
	return nil
}

// CheckDataFile checks the data file path, given as the setting named
// setting: it must lie under the data directory and, when it exists
// already, be a regular file there.
func (a Access) CheckDataFile(setting, path string) error {
	return a.data().check(setting, path)
}

// ReadDataFile reads the data file path, given as the setting named
// setting, from the data directory: a regular file of at most limit bytes.
func (a Access) ReadDataFile(setting, path string, limit int64) ([]byte, error) {
	return a.data().read(setting, path, limit)
}

// ReadSecretsFile reads the file path, given as the setting named setting,
// from the secrets directory: a regular file of at most limit bytes (a CA
// certificate, say; secrets themselves are read with Secret).
func (a Access) ReadSecretsFile(setting, path string, limit int64) ([]byte, error) {
	return a.secrets().read(setting, path, limit)
}

// Secret reads the secret key of s from the environment variable named by
// key_env or the file named by key_file, under a's rules; a file's trailing
// newline is dropped. The error names the variable or file, never the secret.
func (a Access) Secret(s Settings, key string) (string, error) {
	if name := s.String(key+"_env", ""); name != "" {
		if err := a.checkEnv(key+"_env", name); err != nil {
			return "", err
		}
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return "", fmt.Errorf("settings.%s_env: environment variable %s is not set", key, name)
		}
		return v, nil
	}
	if path := s.String(key+"_file", ""); path != "" {
		b, err := a.secrets().read(key+"_file", path, MaxSecretSize)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", fmt.Errorf("settings.%s_env or settings.%s_file is required", key, key)
}

// resolve returns the absolute path path names under the directory,
// without looking at the file system.
func (p place) resolve(setting, path string) (string, error) {
	if p.dir == "" {
		return "", fmt.Errorf("settings.%s: the server has no %s: start roster serve with %s DIR and put the file there", setting, p.name, p.flag)
	}
	if path == "" {
		return "", fmt.Errorf("settings.%s: want a file's path", setting)
	}
	full := path
	if !filepath.IsAbs(full) {
		full = filepath.Join(p.dir, full)
	}
	full = filepath.Clean(full)
	if !within(p.dir, full) {
		return "", fmt.Errorf("settings.%s: %s is not under the %s %s", setting, path, p.name, p.dir)
	}
	return full, nil
}

// within reports whether path is dir or lies under it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// real resolves the symbolic links of path, named under the directory, and
// checks that it still lies there.
func (p place) real(setting, path string) (string, error) {
	full, err := p.resolve(setting, path)
	if err != nil {
		return "", err
	}
	dir, err := filepath.EvalSymlinks(p.dir)
	if err != nil {
		return "", fmt.Errorf("settings.%s: the %s %s: %w", setting, p.name, p.dir, unwrapPathError(err))
	}
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", fmt.Errorf("settings.%s: cannot read %s: %w", setting, path, unwrapPathError(err))
	}
	if !within(dir, real) {
		return "", fmt.Errorf("settings.%s: %s leads outside the %s %s (a symbolic link)", setting, path, p.name, p.dir)
	}
	return real, nil
}

// check checks path: under the directory, and, when it exists, a regular
// file that is there once its links are resolved. A file that does not
// exist yet may be put there later.
func (p place) check(setting, path string) error {
	real, err := p.real(setting, path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	fi, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("settings.%s: cannot read %s: %w", setting, path, unwrapPathError(err))
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("settings.%s: %s is not a regular file", setting, path)
	}
	return nil
}

// read reads path: a regular file under the directory once its links are
// resolved, of at most limit bytes. The file is opened through an os.Root
// on the directory, which refuses to leave it even if a link is swapped in
// after the check, and without blocking, so that a FIFO cannot hold the
// caller.
func (p place) read(setting, path string, limit int64) ([]byte, error) {
	real, err := p.real(setting, path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("settings.%s: cannot read %s: %w", setting, path, unwrapPathError(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("settings.%s: %s is not a regular file", setting, path)
	}
	full, _ := p.resolve(setting, path) // checked by real
	rel, err := filepath.Rel(p.dir, full)
	if err != nil {
		return nil, fmt.Errorf("settings.%s: cannot read %s: %w", setting, path, err)
	}
	root, err := os.OpenRoot(p.dir)
	if err != nil {
		return nil, fmt.Errorf("settings.%s: the %s %s: %w", setting, p.name, p.dir, unwrapPathError(err))
	}
	defer root.Close()
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("settings.%s: cannot read %s: %w", setting, path, unwrapPathError(err))
	}
	defer f.Close()
	opened, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("settings.%s: cannot read %s: %w", setting, path, unwrapPathError(err))
	}
	if !opened.Mode().IsRegular() {
		return nil, fmt.Errorf("settings.%s: %s is not a regular file", setting, path)
	}
	tooBig := fmt.Errorf("settings.%s: %s is larger than %d bytes", setting, path, limit)
	if opened.Size() > limit {
		return nil, tooBig
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("settings.%s: cannot read %s: %w", setting, path, unwrapPathError(err))
	}
	if int64(len(data)) > limit {
		return nil, tooBig
	}
	return data, nil
}
