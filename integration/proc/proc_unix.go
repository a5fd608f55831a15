//go:build unix && !linux

package proc

import "syscall"

// Attr puts a child in its own process group, so that a Ctrl-C at the
// terminal reaches only the program that started it (which then stops it
// in order).
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
