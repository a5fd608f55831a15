//go:build unix

package lnnet

import (
	"os"
	"syscall"
)

// killGroup kills p and every process of its group (sysProcAttr gave it
// one of its own).
func killGroup(p *os.Process) { syscall.Kill(-p.Pid, syscall.SIGKILL) }
