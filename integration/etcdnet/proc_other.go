//go:build !unix

package etcdnet

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
