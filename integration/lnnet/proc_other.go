//go:build !unix

package lnnet

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
