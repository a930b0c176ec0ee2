// Package guestphase prints the rig's phase markers from the benchmark
// baselines' guest programs (`slkit: phase=NAME t=UPTIME`), as slkit's
// own init does, so that a benchmark times every image the same way.
package guestphase

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Uptime is the guest's CLOCK_BOOTTIME in seconds (0 if unreadable).
func Uptime() float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return float64(ts.Nano()) / float64(time.Second)
}

// Enter prints the marker of phase name with the uptime.
func Enter(name string) { fmt.Printf("slkit: phase=%s t=%.2fs\n", name, Uptime()) }
