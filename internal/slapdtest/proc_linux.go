package slapdtest

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill slapd if the test process dies
// without running its cleanups (a panic, a timeout, go test being killed).
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
