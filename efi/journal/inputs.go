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

// CheckedPaths are the journal at path and its state file (StatePath of
// state), each refused before anything reads it when it is not a regular
// file within its limit (Input, StateInput); a missing one is fine:
// nothing queued, or nothing committed yet.
func CheckedPaths(path, state string) (string, string, error) {
	state = StatePath(path, state)
	if err := Input.Check(path, true); err != nil {
		return path, state, err
	}
	return path, state, StateInput.Check(state, true)
}
