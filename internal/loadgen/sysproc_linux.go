package loadgen

import "syscall"

// sysProcAttr puts a server in its own process group, out of reach of the
// terminal's Ctrl-C, and has the kernel send it SIGTERM if this program dies
// without stopping it, so that no server outlives a crashed run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
