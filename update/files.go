package update

import (
	"fmt"
	"strings"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/nextboot"
	"github.com/slkit/slkit/tpm"
)

// File is a sealed file by name, as `slkit update` takes them
// (--sealed): Prepare and Finish replace it atomically.
type File struct {
	Name   string
	Sealed *tpm.Sealed
}

// ReadFiles reads the sealed files names in turn (tpm.ReadSealedFile),
// each first checked as a path the atomic writer can replace when
// replace (fsys.CheckOutput: the commands that rewrite them), and
// reports whether any of them was sealed with a PIN.
func ReadFiles(names []string, replace bool) (files []File, pin bool, err error) {
	for _, n := range names {
		if replace {
			if err := fsys.CheckOutput(n); err != nil {
				return nil, false, err
			}
		}
		s, err := tpm.ReadSealedFile(n)
		if err != nil {
			return nil, false, err
		}
		files, pin = append(files, File{Name: n, Sealed: s}), pin || s.Policy.PIN
	}
	return files, pin, nil
}

// save replaces the file in fs (mode 0600, tpm.WriteSealed).
func (f File) save(fs fsys.FS) func(*tpm.Sealed) error {
	return func(s *tpm.Sealed) error { return tpm.WriteSealed(fs, f.Name, s) }
}

// Prepared is the result of `slkit update prepare`: the journal to
// commit, the firmware prediction (nil without one) and a Plan per file.
type Prepared struct {
	Journal  *Pending         `json:"journal"`
	Firmware *nextboot.Report `json:"firmware,omitempty"`
	Files    []PreparedFile   `json:"files"`
}

// PreparedFile is Prepare's plan for one file.
type PreparedFile struct {
	File string `json:"file"`
	*Plan
}

// PrepareFiles runs Prepare on each file in turn, replacing it in fs; it
// stops at the first failure, naming its file.
func PrepareFiles(t tpm.TPMSender, fs fsys.FS, files []File, opts ...Option) ([]PreparedFile, error) {
	var out []PreparedFile
	for _, f := range files {
		p, err := Prepare(t, f.Sealed, f.save(fs), opts...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		out = append(out, PreparedFile{f.Name, p})
	}
	return out, nil
}

// Text is the result as lines of text: the journal at journalPath, the
// firmware prediction, and a line per file, saying that next (and the
// firmware prediction) is where predicted values came from.
func (p *Prepared) Text(journalPath, next string) string {
	var b strings.Builder
	b.WriteString(p.Journal.Text(journalPath))
	if p.Firmware != nil {
		fmt.Fprintln(&b, p.Firmware)
		fw := "predicted from the firmware log " + p.Firmware.Log
		if next == "" {
			next = fw
		} else {
			next += "; " + fw
		}
	}
	for _, f := range p.Files {
		fmt.Fprintf(&b, "%s: %s\n", f.File, f.Plan.Text(next))
	}
	return b.String()
}

// FinishedFile is what Finish did with one file.
type FinishedFile struct {
	File string `json:"file"`
	*Finished
}

// FinishFiles runs Finish on each file in turn, replacing it in fs; it
// stops at the first failure, naming its file.
func FinishFiles(t tpm.TPMSender, fs fsys.FS, files []File, opts ...Option) ([]FinishedFile, error) {
	var out []FinishedFile
	for _, f := range files {
		d, err := Finish(t, f.Sealed, f.save(fs), opts...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		out = append(out, FinishedFile{f.Name, d})
	}
	return out, nil
}

// Text is the file's lines of `slkit update finish`: what Finish did,
// and when the dropped update object's window closes.
func (f FinishedFile) Text() string {
	s := fmt.Sprintf("%s: %s\n", f.File, f.Finished)
	if w := f.Window; w != nil {
		s += fmt.Sprintf("%s: update window: counter %#08x in %d..%d closes at the next launch past it (only the pre-launch stage counts)\n", f.File, w.Index, w.Min, w.Max)
	}
	return s
}

// FinishReport is what FinishFiles did with every file (`slkit update
// finish`, as JSON {"files":[...]}).
type FinishReport struct {
	Files []FinishedFile `json:"files"`
}

// Text is the lines of `slkit update finish`: each file's Text.
func (r FinishReport) Text() string {
	var b strings.Builder
	for _, f := range r.Files {
		b.WriteString(f.Text())
	}
	return b.String()
}

// FileReport is the Status of one file.
type FileReport struct {
	File string `json:"file"`
	*Status
}

// Statuses is FileStatus of each file: the report of every file, and the
// first file's error (a refusal, a counter that could not be read),
// naming it. A file FileStatus cannot report on stops it: no report.
func Statuses(t tpm.TPMSender, files []File, opts ...Option) ([]FileReport, error) {
	var out []FileReport
	var first error
	for _, f := range files {
		st, err := FileStatus(t, f.Sealed, opts...)
		if err != nil {
			err = fmt.Errorf("%s: %w", f.Name, err)
		}
		if st == nil {
			return nil, err
		}
		if first == nil {
			first = err
		}
		out = append(out, FileReport{f.Name, st})
	}
	return out, first
}

// StatusText is the lines of `slkit update status`: "FILE: STATUS" for
// each file.
func StatusText(reps []FileReport) string {
	var b strings.Builder
	for _, r := range reps {
		fmt.Fprintf(&b, "%s: %s\n", r.File, r.Status)
	}
	return b.String()
}
