package slaunch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
)

// KernelTXTRegisters are the TXT public registers a Secure Launch kernel
// reports under securityfs slaunch/txt/ (Linux Secure Launch v16,
// arch/x86/kernel/slmodule.c: sl_txt_files; read from TXT_PUB_CONFIG_REGS_BASE
// at TXT_CR_STS, _ESTS, _ERRORCODE, _DIDVID, _VER_EMIF, _SCRATCHPAD,
// _E2STS). A register the kernel did not expose is nil.
type KernelTXTRegisters struct {
	STS        *Reg `json:"sts,omitempty"`
	ESTS       *Reg `json:"ests,omitempty"`
	ErrorCode  *Reg `json:"errorcode,omitempty"`
	DIDVID     *Reg `json:"didvid,omitempty"`
	VerEMIF    *Reg `json:"ver_emif,omitempty"`
	Scratchpad *Reg `json:"scratchpad,omitempty"`
	E2STS      *Reg `json:"e2sts,omitempty"`
}

// maxTXTRegFile bounds a register file: slmodule.c writes at most 20
// bytes ("%#018llx\n" and its NUL).
const maxTXTRegFile = 64

// ReadKernelTXTRegisters reads the files under txt/ of fsys, the securityfs
// slaunch directory (os.DirFS(SecurityFSDir)). A missing txt directory
// (no TXT launch, or an AMD machine) gives nil and no error; a malformed
// file is an error naming it.
func ReadKernelTXTRegisters(fsys fs.FS) (*KernelTXTRegisters, error) {
	if _, err := fs.Stat(fsys, "txt"); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	r := &KernelTXTRegisters{}
	for _, f := range []struct {
		name string
		dst  **Reg
	}{
		{"sts", &r.STS}, {"ests", &r.ESTS}, {"errorcode", &r.ErrorCode}, {"didvid", &r.DIDVID},
		{"ver_emif", &r.VerEMIF}, {"scratchpad", &r.Scratchpad}, {"e2sts", &r.E2STS},
	} {
		b, err := readSmall(fsys, "txt/"+f.name, maxTXTRegFile)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		v, err := ParseKernelTXTRegister(b)
		if err != nil {
			return nil, fmt.Errorf("%s/txt/%s: %w", SecurityFSDir, f.name, err)
		}
		*f.dst = &v
	}
	return r, nil
}

func readSmall(fsys fs.FS, name string, max int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", SecurityFSDir, name, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s/%s: more than %d bytes: not a register", SecurityFSDir, name, max)
	}
	return b, nil
}

// ParseKernelTXTRegister parses one register file: the kernel formats it
// with "%#04x\n", "%#010x\n" or "%#018llx\n" and returns the whole buffer,
// its NUL included, so a value reads "0xc0000001\n\x00", and a zero value,
// for which C's '#' flag prints no prefix, "0000000000\n\x00".
func ParseKernelTXTRegister(b []byte) (Reg, error) {
	s := strings.TrimSpace(string(bytes.TrimRight(b, "\x00")))
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if digits == "" || len(digits) > 18 {
		return 0, fmt.Errorf("%w: %q is not a hex register value", ErrMalformed, s)
	}
	v, err := strconv.ParseUint(digits, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not a hex register value", ErrMalformed, s)
	}
	return Reg(v), nil
}

// Notes says what the registers tell about the launch, one line each
// (Intel TXT SDG Appendix B.1: STS bit 0 SENTER.DONE, bit 1 SEXIT.DONE;
// ESTS bit 0 TXT_RESET; ERRORCODE other than 0 and 0xC0000001 an error).
func (r *KernelTXTRegisters) Notes() []string {
	var out []string
	if r.STS != nil {
		if *r.STS&stsSENTERDone != 0 {
			out = append(out, "TXT.STS SENTER.DONE: the measured launch environment is running")
		} else {
			out = append(out, "TXT.STS SENTER.DONE clear: no measured launch is in effect")
		}
		if *r.STS&stsSEXITDone != 0 {
			out = append(out, "TXT.STS SEXIT.DONE: the launch was exited")
		}
	}
	if r.ESTS != nil && *r.ESTS&estsTXTReset != 0 {
		out = append(out, "TXT.ESTS TXT_RESET: a launch failed; SENTER is blocked until a power cycle")
	}
	if r.ErrorCode != nil {
		if e := uint32(*r.ErrorCode); e != 0 && e != errorcodeBenign {
			out = append(out, fmt.Sprintf("TXT.ERRORCODE %#08x: an error was recorded", e))
		}
	}
	return out
}
