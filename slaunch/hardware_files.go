package slaunch

import "errors"

// HardwareFiles names the files of `slkit drtm stage --backend hardware`
// (its flags --kernel, --dce and --out) for Stage.
type HardwareFiles struct {
	// Kernel and DCE are the kernel image's and the DCE module's paths,
	// named in errors.
	Kernel, DCE string
	// Out is the directory the stage is written to when the launch is
	// refused only for want of a ring-0 stub or of a capable platform
	// ("" for none).
	Out string
}

// Stage is StageHardware(in), with a malformed image named once as its
// flag (NameInput): a kernel that is not a bzImage or has no MLE header
// as "--kernel KERNEL", any other malformed module as "--dce DCE". When
// the launch was refused with ErrNeedsDLStub or ErrNotCapable and Out is
// given, what was staged is written there (HardwareStage.WriteDir, with
// the checklist of what a ring-0 launch still needs) and written is
// true; a failure to write is returned in place of the refusal.
func (f HardwareFiles) Stage(in HardwareInput) (written bool, err error) {
	st, err := StageHardware(in)
	var fe *FormatError
	if errors.As(err, &fe) && fe.What == "kernel" || errors.Is(err, ErrNoMLEHeader) {
		return false, NameInput("--kernel "+f.Kernel, "kernel", err)
	}
	if f.Out != "" && (errors.Is(err, ErrNeedsDLStub) || errors.Is(err, ErrNotCapable)) {
		if werr := st.WriteDir(f.Out); werr != nil {
			return false, werr
		}
		written = true
	}
	return written, NameInput("--dce "+f.DCE, "dce", err)
}
