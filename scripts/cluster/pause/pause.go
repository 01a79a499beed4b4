// The local cluster's pause image: the process that holds each pod's namespaces. Nothing can be
// pulled here, so it is built from this file (static, no libc) instead of registry.k8s.io/pause.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		// As PID 1 of the pod it inherits orphans: reap them.
		children := make(chan os.Signal, 1)
		signal.Notify(children, syscall.SIGCHLD)
		for range children {
			for {
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}()
	<-signals
}
