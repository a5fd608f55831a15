package etcdnet

import "syscall"

// sysProcAttr puts a member in its own process group, so that a Ctrl-C at
// the terminal reaches only the test (which then stops the cluster), and
// kills it if the test dies first (a test binary killed at its timeout
// leaves no etcd behind).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
