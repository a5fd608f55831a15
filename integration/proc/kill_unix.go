//go:build unix

package proc

import (
	"os"
	"syscall"
)

// KillGroup kills p and every process of its group (Attr gave it one of
// its own), as a crash or a power cut would.
func KillGroup(p *os.Process) { syscall.Kill(-p.Pid, syscall.SIGKILL) }
