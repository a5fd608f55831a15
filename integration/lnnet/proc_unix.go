//go:build unix && !linux

package lnnet

import "syscall"

// sysProcAttr puts a child in its own process group, so that a Ctrl-C at
// the terminal reaches only the program that started it (which then stops
// it in order).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
