package verifier

import "github.com/slkit/slkit/internal/fsys"

// The inputs of the verifier (fsys.Input).
var (
	// CAsInput is a PEM file of EK certificate authorities (ParseCAs).
	CAsInput = fsys.Input{What: "CA certificates", Max: MaxCAFileSize}
	// RecordInput is a challenge's record (ParseRecord).
	RecordInput = fsys.Input{What: "activation record", Max: MaxRecordSize}
)
