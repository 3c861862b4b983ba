//go:build unix && !linux

package loadgen

import "syscall"

// sysProcAttr puts a server in its own process group, out of reach of the
// terminal's Ctrl-C, so that this program stops the servers in order.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
