package proc

import "syscall"

// Attr puts a child in its own process group, so that a Ctrl-C at the
// terminal reaches only the program that started it (which then stops it
// in order), and kills it if that program dies first (a test binary
// killed at its timeout leaves no server behind).
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
