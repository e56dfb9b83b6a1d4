package redistest

import "syscall"

// sysProcAttr makes the kernel kill a server when the test process dies
// without running its cleanups (a panic, a -timeout, a SIGKILL), so that no
// redis-server outlives the tests. The signal is tied to the OS thread that
// started the server, and Go only ends a thread whose goroutine exits while
// locked to it with runtime.LockOSThread.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
