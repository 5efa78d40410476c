//go:build !linux

package main

import (
	"errors"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// rss is only implemented on Linux.
func rss(int) (int64, error) { return 0, errors.New("RSS is only read on Linux") }
