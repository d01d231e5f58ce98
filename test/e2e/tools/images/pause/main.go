// The sandbox ("pause") process of every pod on the test node: it holds the pod's
// namespaces open, reaps the zombies it inherits as PID 1, and exits on SIGINT or
// SIGTERM. No outside registry is reachable here, so containerd's sandbox image is
// this program, built locally and packed by oci-image.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
