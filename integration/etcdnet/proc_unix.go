//go:build unix && !linux

package etcdnet

import "syscall"

// sysProcAttr puts a member in its own process group, so that a Ctrl-C at
// the terminal reaches only the test (which then stops the cluster).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
