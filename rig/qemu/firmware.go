package qemu

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/slkit/slkit/internal/fsys"
)

// OVMF firmware files of Debian's ovmf package (2022.11): the 4 MiB
// variable-store builds, as pflash CODE (read-only) + VARS (writable copy).
const (
	ovmfDir           = "/usr/share/OVMF"
	ovmfCode          = "OVMF_CODE_4M.fd"
	ovmfVars          = "OVMF_VARS_4M.fd"
	ovmfCodeSecure    = "OVMF_CODE_4M.secboot.fd"
	ovmfVarsMS        = "OVMF_VARS_4M.ms.fd"       // Microsoft keys enrolled, Secure Boot on
	ovmfVarsSnakeoil  = "OVMF_VARS_4M.snakeoil.fd" // Debian's test PK/KEK/db ("snakeoil"), Secure Boot on
	snakeoilKeyPrefix = "/usr/share/ovmf/PkKek-1-snakeoil"
)

// OVMF selects UEFI firmware for a VM.
type OVMF struct {
	// SecureBoot uses the SMM build with an enrolled variable store.
	SecureBoot bool
	// Snakeoil enrols Debian's snakeoil test keys instead of Microsoft's
	// (a kernel signed with /usr/share/ovmf/PkKek-1-snakeoil.key boots).
	Snakeoil bool
	// SetupMode starts the Secure Boot build from the store without keys
	// (no PK: setup mode), to enrol one's own from inside the guest; the
	// store should be a persistent Vars file that keeps them.
	SetupMode bool
	// Vars is the variable store to use and keep (it persists across runs,
	// as NVRAM does). Empty: a private copy of the template in the VM dir.
	Vars string
}

func (o *OVMF) files() (code, varsTemplate string) {
	if o.SecureBoot {
		v := ovmfVarsMS
		switch {
		case o.SetupMode:
			v = ovmfVars
		case o.Snakeoil:
			v = ovmfVarsSnakeoil
		}
		return filepath.Join(ovmfDir, ovmfCodeSecure), filepath.Join(ovmfDir, v)
	}
	return filepath.Join(ovmfDir, ovmfCode), filepath.Join(ovmfDir, ovmfVars)
}

// prepareVars returns the VARS file to attach: o.Vars (created from the
// template when it does not exist yet) or a fresh copy in dir.
func (o *OVMF) prepareVars(dir string) (string, error) {
	code, tmpl := o.files()
	if _, err := os.Stat(code); err != nil {
		return "", fmt.Errorf("OVMF: %w (apt-get install ovmf, or run make deps)", ErrNotInstalled)
	}
	dst := o.Vars
	if dst == "" {
		dst = filepath.Join(dir, "OVMF_VARS.fd")
	} else if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	return dst, copyFile(tmpl, dst)
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return fsys.WriteFile(fsys.OS{}, dst, b, 0o600)
}
