package slaunch

import "github.com/slkit/slkit/internal/fsys"

// The inputs of the dynamic launch, each read whole (fsys.Input).
var (
	// RecordingInput is a platform recording (ParseRecording).
	RecordingInput = fsys.Input{What: "platform recording", Max: 16 << 20}
	// DCEInput is a DCE module: an Intel SINIT ACM or an AMD SKL
	// (CheckDCEModule).
	DCEInput = fsys.Input{What: "DCE module (SINIT ACM or SKL)", Max: 16 << 20}
	// DRTMLogInput is a launch's DRTM log as handed over (Leave): at most
	// MaxLeaveLogSize bytes.
	DRTMLogInput = fsys.Input{What: "DRTM log", Max: MaxLeaveLogSize}
)
