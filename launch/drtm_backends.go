package launch

import (
	"errors"
	"fmt"
	"io"

	"github.com/slkit/slkit/slaunch"
)

// EmulatedDRTM is the emulated backend (slaunch/README.md, "The emulated
// DCE"): open returns the host channel to the rig host
// (slaunch.OpenHostChannel: /dev/ttyS1 in the VM, a socket in tests), and
// slaunch.LaunchEmulated runs the _TPM_Hash sequence over the emulated
// DCE on the host, moves the guest to locality 2, extends PCR17 and PCR18
// and verifies the DRTM log against the TPM. The log goes to the target
// at DRTMTargetLogPath. The images are not read again for hashing: the
// DLME and the initrd digests are those Measure computed.
//
// Every failure says that DRTM did not happen (errors.Is
// slaunch.ErrNoDRTM) and, as a *slaunch.LaunchError, whether the DCE event
// had happened: no host channel, a kernel that is not a bzImage, or a
// host that refuses the hash before doing anything, did not start the
// launch; a host that fails after hashing, refuses the locality, a TPM
// that refuses the extends, or a log that does not replay, began it.
func EmulatedDRTM(open func() (slaunch.DCEHost, io.Closer, error)) StageDRTM {
	return func(in *DRTMInput) ([]HandoverFile, error) {
		host, c, err := open()
		if err != nil {
			if !errors.Is(err, slaunch.ErrNoDRTM) {
				err = fmt.Errorf("no host channel to the emulated DCE: %w", err)
			}
			return nil, slaunch.NotStarted("host channel", err)
		}
		defer c.Close()
		l, err := slaunch.LaunchEmulated(in.TPM, host, in.images())
		if err != nil {
			return nil, err
		}
		return []HandoverFile{{Path: DRTMTargetLogPath, Data: l.Log}}, nil
	}
}

// EmulatedDRTMAt is EmulatedDRTM over the rig's host channel at path
// (a serial device or a unix socket; slaunch.OpenHostChannel with
// slaunch.DefaultHostTimeout).
func EmulatedDRTMAt(path string) StageDRTM {
	return EmulatedDRTM(func() (slaunch.DCEHost, io.Closer, error) {
		return slaunch.OpenHostChannel(path, slaunch.DefaultHostTimeout)
	})
}

// HardwareDRTM is the hardware backend: slaunch.StageHardware probes p,
// parses and matches the DCE (a SINIT ACM or an AMD SKL) against the
// platform and the kernel's MLE header, builds the SLRT (and the TXT
// OsSinitData) and predicts, and then refuses, because executing
// GETSEC[SENTER] or SKINIT needs a ring-0 dynamic-launch stub
// (slaunch.HardwareRefusal). It never executes anything, so its refusal
// is one of a dynamic launch that did not start (slaunch.NotStarted): an
// entry with require_drtm is refused, one without it is launched as a
// measured launch. It reads the staged copy of the kernel, the one that
// was measured.
func HardwareDRTM(p slaunch.Platform, dce []byte) StageDRTM {
	return func(in *DRTMInput) ([]HandoverFile, error) {
		_, err := slaunch.StageHardware(slaunch.HardwareInput{Platform: p, Images: in.images(), DCE: dce, Banks: in.Banks})
		if err == nil {
			err = errors.New("the hardware backend staged the launch but cannot execute it")
		}
		return nil, slaunch.NotStarted("hardware backend", err)
	}
}

// images are the entry's images for package slaunch, with the digests
// Measure computed.
func (in *DRTMInput) images() slaunch.Images {
	e := in.Entry
	im := slaunch.Images{Kernel: e.Kernel.R, KernelSize: e.Kernel.Size, Cmdline: e.Cmdline, KernelDigests: in.Digests[Kernel]}
	if e.Initrd != nil {
		im.Initrd = io.NewSectionReader(e.Initrd.R, 0, e.Initrd.Size)
		im.InitrdSize = e.Initrd.Size
		im.InitrdDigests = in.Digests[Initrd]
	}
	return im
}
