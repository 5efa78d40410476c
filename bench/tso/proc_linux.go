package main

import "syscall"

// childAttr makes the kernel kill a child process when the harness dies,
// so an interrupted run leaves no etcd or rootcoord behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
