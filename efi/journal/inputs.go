package journal

import "github.com/slkit/slkit/internal/fsys"

// The inputs of the journal's formats, each read whole (fsys.Input).
var (
	// Input is a journal file: at most MaxBytes.
	Input = fsys.Input{What: "EFI journal", Max: MaxBytes}
	// StateInput is a journal's state file: at most MaxStateBytes.
	StateInput = fsys.Input{What: "EFI journal state file", Max: MaxStateBytes}
	// VarDataInput is a variable's data to queue: at most MaxBytes (a
	// journal holds it).
	VarDataInput = fsys.Input{What: "variable data", Max: MaxBytes}
	// KeyInput is a journal key file: PEM or raw (ParsePublicKey,
	// ParsePrivateKey), or a sealed private key (`slkit efi keygen
	// --seal-pcrs`: a sealed file with its expected events).
	KeyInput = fsys.Input{What: "journal key file", Max: 64 << 10}
)
