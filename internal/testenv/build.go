package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// BuildRoster compiles the roster command of the module the test runs in
// into out, with the go on PATH. It is built without -race whatever the test
// binary is built with: it is the product under test, not the harness.
func BuildRoster(out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(gomod))
	if mod == "" || mod == os.DevNull {
		return fmt.Errorf("go env GOMOD: not inside a module")
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/roster")
	cmd.Dir = filepath.Dir(mod)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/roster: %w\n%s", err, b)
	}
	return nil
}
