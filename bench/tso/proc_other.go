//go:build !linux

package main

import "syscall"

// childAttr has nothing to add outside Linux: an interrupted run may leave
// its children running there.
func childAttr() *syscall.SysProcAttr { return nil }
