package tpm

// DefaultCounterIndex is the NV index of slkit's update-window counter, in
// the owner range 0x01800000–0x01BFFFFF of the TCG "Registry of Reserved
// TPM 2.0 Handles and Localities".
const DefaultCounterIndex uint32 = 0x0180534C

// The update-window counter is an anchor (see Anchor): every pre-launch
// stage that counts launches increments it, and nothing after the
// pre-launch stage can. These names are that anchor's.
type Counter = Anchor

// ErrCounter and ErrNoCounter are the anchor's errors.
var (
	ErrCounter   = ErrAnchor
	ErrNoCounter = ErrNoAnchor
)

// CounterAt returns the update-window counter at index with its Name
// computed offline.
func CounterAt(index uint32) (*Counter, error) { return AnchorAt(index) }

// OpenCounter checks that the index at index is slkit's update-window
// counter (OpenAnchor).
func OpenCounter(t TPMSender, index uint32) (*Counter, error) {
	return OpenAnchor(t, index)
}

// DefineCounter defines the update-window counter at index and increments
// it once (DefineAnchor): only in the pre-launch stage.
func DefineCounter(t TPMSender, index uint32, opts ...NVOption) (*Counter, error) {
	return DefineAnchor(t, index, opts...)
}
