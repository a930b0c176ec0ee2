package launch

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"strings"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
)

// MeasureReport is a measurement as `slkit measure --json` prints it: the
// banks extended, the events appended and the log's event count.
type MeasureReport struct {
	Banks     []tpm.Alg   `json:"banks"`
	Events    []tpm.Event `json:"events"`
	Log       string      `json:"log"`
	LogEvents int         `json:"log_events"`
}

// Report is the measurement's report.
func (m *Measurement) Report() *MeasureReport {
	return &MeasureReport{Banks: m.Banks, Events: m.Events, Log: m.LogPath, LogEvents: len(m.Log.Events)}
}

// Text lists the events extended (digests in the last bank), then, when
// the measurement is complete (done), what was extended and logged.
func (m *Measurement) Text(done bool) string {
	s := tpm.EventsText(m.Events, m.Banks[len(m.Banks)-1])
	if done {
		s += fmt.Sprintf("extended %d events in banks %s; event log %s (%d events)\n", len(m.Events), tpm.AlgList(m.Banks), m.LogPath, len(m.Log.Events))
	}
	return s
}

// DryRunReport is a launch that stopped before kexec, as `slkit launch
// --dry-run --json` prints it.
type DryRunReport struct {
	Entry  string      `json:"entry"`
	Events []tpm.Event `json:"events"`
	Log    string      `json:"log"`
	Kernel string      `json:"kernel"`
	Initrd string      `json:"initrd,omitempty"`
	// Handover lists the DRTM backend's files handed to the target (the
	// DRTM log), DRTMFallback why the dynamic launch did not happen for
	// an entry that does not require it.
	Handover     []string `json:"drtm_handover,omitempty"`
	DRTMFallback string   `json:"drtm_fallback,omitempty"`
	Cmdline      string   `json:"cmdline"`
}

// DryRunReport is the report of a launch made with a dry-run Kexec.
func (r *Result) DryRunReport() *DryRunReport {
	pe := r.Entry
	rep := &DryRunReport{Entry: pe.Name, Events: r.Measurement.Events, Log: r.Measurement.LogPath, Kernel: pe.Kernel.Path, Cmdline: pe.Cmdline}
	if pe.Initrd != nil {
		rep.Initrd = pe.Initrd.Path
	}
	for _, f := range r.DRTM {
		rep.Handover = append(rep.Handover, f.Path)
	}
	if r.DRTMFallback != nil {
		rep.DRTMFallback = strings.Join(strings.Fields(r.DRTMFallback.Error()), " ")
	}
	return rep
}

// DryRunText is the dry run in one line: what was measured, whether the
// dynamic launch happened, and what kexec would have been given.
func (r *Result) DryRunText() string {
	pe, drtm := r.Entry, ""
	initrd := "none"
	if pe.Initrd != nil {
		initrd = pe.Initrd.Path + " + event log at " + TargetLogPath
	}
	for _, f := range r.DRTM {
		if f.Path == DRTMTargetLogPath {
			drtm = fmt.Sprintf("; DRTM happened and verified (DRTM log, %d bytes, for %s)", len(f.Data), f.Path)
		}
	}
	return fmt.Sprintf("dry run: entry %q measured (%d events, log %s)%s; would kexec kernel %s, initrd %s, cmdline %q\n",
		pe.Name, len(r.Measurement.Events), r.Measurement.LogPath, drtm, pe.Kernel.Path, initrd, pe.Cmdline)
}

// EntryFiles is a boot entry given as files (`slkit predict`, `measure`,
// `drtm stage`).
type EntryFiles struct {
	// Kernel and Initrd are the images' paths (Initrd "": none).
	Kernel, Initrd string
	Cmdline        string
	// Policy is the signed policy file's bytes to measure (nil: none),
	// PolicyKey the key it verifies under (nil: none).
	Policy    []byte
	PolicyKey ed25519.PublicKey
}

// ReadPolicy reads the signed policy file policyPath to measure into
// Policy (its exact bytes are measured: they must be a signed policy,
// policy.ParseEnvelope) and the public key file keyPath it verifies
// under into PolicyKey; "" reads neither. A problem is an
// *fsys.InputError naming the file.
func (ef *EntryFiles) ReadPolicy(policyPath, keyPath string) (err error) {
	if policyPath != "" {
		if ef.Policy, err = policy.SignedInput.Read(policyPath); err != nil {
			return err
		}
		if _, err := policy.ParseEnvelope(ef.Policy); err != nil {
			return &fsys.InputError{Path: policyPath, Err: err}
		}
	}
	if keyPath != "" {
		ef.PolicyKey, err = fsys.ReadInput(policy.KeyInput, keyPath, policy.ParsePublicKey)
	}
	return err
}

// OpenEntry opens the entry's images for reading (fsys.OpenInput: regular
// files only, never a FIFO; a problem is an *fsys.InputError naming the
// file) and validates the entry (Entry.Validate). done closes the images.
func OpenEntry(ef EntryFiles) (e *Entry, done func(), err error) {
	var files []io.Closer
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	open := func(path string) (*Image, error) {
		f, err := fsys.OpenInput(path)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		st, err := f.Stat()
		if err != nil {
			return nil, fsys.NameInput(path, err)
		}
		return &Image{R: f, Size: st.Size(), Name: path}, nil
	}
	k, err := open(ef.Kernel)
	if err != nil {
		return nil, nil, err
	}
	e = &Entry{Kernel: *k, Cmdline: ef.Cmdline, Policy: ef.Policy}
	if ef.Initrd != "" {
		if e.Initrd, err = open(ef.Initrd); err != nil {
			return nil, nil, err
		}
	}
	if ef.PolicyKey != nil {
		if e.PolicyKey, err = PolicyKeyBytes(ef.PolicyKey); err != nil {
			return nil, nil, err
		}
	}
	if err := e.Validate(); err != nil {
		return nil, nil, err
	}
	return e, closeAll, nil
}

// EntryRequest is a boot entry as `slkit predict`, `measure` and `drtm
// stage` are given it: file names and a profile name (their flags
// --kernel, --initrd, --cmdline, --policy, --policy-key and --profile;
// "" when not given).
type EntryRequest struct {
	// Kernel and Initrd are the images' paths (Initrd "": none).
	Kernel, Initrd string
	// Cmdline is the kernel command line.
	Cmdline string
	// Policy and PolicyKey are the signed policy file to measure and the
	// public key file it verifies under (EntryFiles.ReadPolicy).
	Policy, PolicyKey string
	// Profile is the measurement profile's name (ProfileByName; "" for
	// ProfileMeasured).
	Profile string
}

// Open looks up r's profile (an unknown one is ErrProfile), reads its
// policy files (EntryFiles.ReadPolicy) and opens the entry (OpenEntry);
// done closes the images.
func (r EntryRequest) Open() (e *Entry, prof *Profile, done func(), err error) {
	name := r.Profile
	if name == "" {
		name = ProfileMeasured
	}
	if prof, err = ProfileByName(name); err != nil {
		return nil, nil, nil, err
	}
	ef := EntryFiles{Kernel: r.Kernel, Initrd: r.Initrd, Cmdline: r.Cmdline}
	if err := ef.ReadPolicy(r.Policy, r.PolicyKey); err != nil {
		return nil, nil, nil, err
	}
	e, done, err = OpenEntry(ef)
	return e, prof, done, err
}
