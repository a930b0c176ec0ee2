package slaunch

import (
	"fmt"
	"path/filepath"
	"strings"
)

// GRUBEntry describes a TrenchBoot GRUB menu entry (TrenchBoot/grub
// grub-sl-2.12: the slaunch and slaunch_module commands of
// loader/slaunch/slaunch.c; the entry shape of the TrenchBoot Linux Secure
// Launch documentation). Paths are as GRUB sees them (relative to its
// root device).
type GRUBEntry struct {
	Title string
	// DCE is the SINIT ACM (Intel) or the SKL (AMD) for slaunch_module;
	// empty when firmware provides the SINIT ACM.
	DCE     string
	Kernel  string
	Initrd  string
	Cmdline string
	// Unrestricted adds --unrestricted, which lets anyone at the console
	// boot the entry even when GRUB has a superuser password; off unless
	// asked for.
	Unrestricted bool
	// Comments are written as "# " lines before the entry (GRUB script
	// comments), e.g. what the kernel expects from the loader.
	Comments []string
}

// MenuEntry renders the entry:
//
//	# COMMENT...
//	menuentry 'TITLE' [--unrestricted] {
//		slaunch
//		slaunch_module DCE
//		linux KERNEL CMDLINE
//		initrd INITRD
//	}
//
// Words GRUB's script parser would treat specially are single-quoted. GRUB
// joins the linux command's arguments with single spaces and prepends
// BOOT_IMAGE=KERNEL (grub-core/loader/i386/linux.c), so the command line
// must not have leading, trailing or repeated spaces; the kernel sees
// "BOOT_IMAGE=KERNEL CMDLINE".
func (e GRUBEntry) MenuEntry() (string, error) {
	if e.Kernel == "" {
		return "", fmt.Errorf("GRUB entry: no kernel")
	}
	if e.Title == "" {
		e.Title = "slkit secure launch"
	}
	for name, v := range map[string]string{"title": e.Title, "DCE path": e.DCE, "kernel path": e.Kernel,
		"initrd path": e.Initrd, "command line": e.Cmdline, "comment": strings.Join(e.Comments, " ")} {
		if strings.ContainsAny(v, "\n\r\x00") {
			return "", fmt.Errorf("GRUB entry: %s contains a line break or NUL", name)
		}
	}
	if e.Cmdline != strings.Join(strings.Fields(e.Cmdline), " ") {
		return "", fmt.Errorf("GRUB entry: command line %q has leading, trailing or repeated white space, which GRUB's linux command collapses", e.Cmdline)
	}
	var b strings.Builder
	for _, c := range e.Comments {
		b.WriteString("# " + c + "\n")
	}
	opt := ""
	if e.Unrestricted {
		opt = " --unrestricted"
	}
	fmt.Fprintf(&b, "menuentry %s%s {\n", grubQuoteAlways(e.Title), opt)
	b.WriteString("\tslaunch\n")
	if e.DCE != "" {
		fmt.Fprintf(&b, "\tslaunch_module %s\n", grubQuote(e.DCE))
	}
	b.WriteString("\tlinux " + grubQuote(e.Kernel))
	for _, w := range strings.Fields(e.Cmdline) {
		b.WriteString(" " + grubQuote(w))
	}
	b.WriteString("\n")
	if e.Initrd != "" {
		fmt.Fprintf(&b, "\tinitrd %s\n", grubQuote(e.Initrd))
	}
	b.WriteString("}\n")
	return b.String(), nil
}

// grubQuote leaves a word bare when it only has characters GRUB's script
// lexer takes literally, and single-quotes it otherwise.
func grubQuote(w string) string {
	for _, r := range w {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-,:=+@%()", r)) {
			return grubQuoteAlways(w)
		}
	}
	if w == "" {
		return "''"
	}
	return w
}

// grubQuoteAlways single-quotes s; a single quote inside is written as
// '\” (GRUB script quoting is the POSIX shell's).
func grubQuoteAlways(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// GRUBPath maps a path on this machine to the path GRUB uses when its root
// device is mounted at root here: with root "/boot", "/boot/vmlinuz" is
// "/vmlinuz". An empty root leaves the path as it is.
func GRUBPath(root, local string) (string, error) {
	if root == "" || local == "" {
		return local, nil
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	absLocal, err := filepath.Abs(local)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(absRoot, absLocal)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%s is not below the GRUB root %s", local, root)
	}
	return "/" + filepath.ToSlash(rel), nil
}

// CheckDCEModule refuses a DCE module that is neither a SINIT ACM
// (ParseACM) nor an AMD SKL (ParseSKL): what GRUB's slaunch_module loads.
func CheckDCEModule(b []byte) error {
	_, aerr := ParseACM(b)
	if aerr == nil {
		return nil
	}
	if _, serr := ParseSKL(b); serr != nil {
		return fmt.Errorf("neither a SINIT ACM (%v) nor an SKL (%v)", aerr, serr)
	}
	return nil
}
