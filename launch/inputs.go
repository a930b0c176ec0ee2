package launch

import "github.com/slkit/slkit/internal/fsys"

// HandoverInput is a file handed over to the launched kernel
// (HandoverFile): any content, empty too.
var HandoverInput = fsys.Input{What: "hand-over file", Max: 16 << 20, EmptyOK: true}
