//go:build !unix

package proc

import (
	"os"
	"syscall"
)

// Attr is nil: no process groups here.
func Attr() *syscall.SysProcAttr { return nil }

// KillGroup kills p.
func KillGroup(p *os.Process) { p.Kill() }
