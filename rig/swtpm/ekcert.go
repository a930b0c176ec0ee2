package swtpm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// stateFile is the file swtpm keeps a TPM 2.0's persistent state in
// (swtpm's dir backend: tpm2-00.permall).
const stateFile = "tpm2-00.permall"

// LocalCA is the certificate authority swtpm_localca keeps in a directory:
// a self-signed root (swtpm-localca-rootca-cert.pem) and the issuer it
// signs EK certificates with (issuercert.pem, signed by the root). Both are
// created the first time a TPM is manufactured with the directory.
type LocalCA struct {
	Dir string
	// Root is the root certificate (PEM), the trust anchor a verifier is
	// given.
	Root string
	// Issuer is the intermediate certificate (PEM) that signs the EK
	// certificates.
	Issuer string
}

// NewLocalCA names the CA files in dir (they exist once a TPM has been
// manufactured with WithEKCert(dir)).
func NewLocalCA(dir string) LocalCA {
	return LocalCA{Dir: dir, Root: filepath.Join(dir, "swtpm-localca-rootca-cert.pem"), Issuer: filepath.Join(dir, "issuercert.pem")}
}

// Chain returns the issuer and the root certificate, PEM, concatenated:
// what `slkit attest verify --ek-ca` takes.
func (ca LocalCA) Chain() ([]byte, error) {
	var out []byte
	for _, p := range []string{ca.Issuer, ca.Root} {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("local CA: %w", err)
		}
		out = append(out, b...)
	}
	return out, nil
}

// WithEKCert makes Start manufacture the TPM the way a TPM vendor does
// when its state directory holds no state yet: `swtpm_setup --tpm2
// --create-ek-cert` creates the RSA-2048 EK (TCG EK Credential Profile
// template L-1, persistent at 0x81010001, certificate in NV index
// 0x01c00002) and an ECC EK, each with a certificate that swtpm_localca
// signs with the local CA kept in caDir (created on first use and shared
// by every TPM manufactured with it: see NewLocalCA). All PCR banks stay
// active (--pcr-banks -), as on an unmanufactured swtpm.
func WithEKCert(caDir string) Option { return func(c *config) { c.ekCA = caDir } }

// manufacture runs swtpm_setup on dir unless it already holds a TPM state.
func manufacture(ctx context.Context, dir, caDir string) error {
	if _, err := os.Stat(filepath.Join(dir, stateFile)); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	setup, err := exec.LookPath("swtpm_setup")
	if err != nil {
		return fmt.Errorf("swtpm_setup: %w (apt-get install swtpm-tools, or run make deps)", ErrNotInstalled)
	}
	localca, err := exec.LookPath("swtpm_localca")
	if err != nil {
		return fmt.Errorf("swtpm_localca: %w (apt-get install swtpm-tools, or run make deps)", ErrNotInstalled)
	}
	caDir, err = filepath.Abs(caDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(caDir, 0o700); err != nil {
		return fmt.Errorf("local CA dir: %w", err)
	}
	// swtpm_localca's configuration (statedir, signing key, issuer
	// certificate, serial number file), and swtpm_setup's, which names
	// swtpm_localca and that configuration; written into the CA directory
	// so that no system-wide file (/etc/swtpm-localca.conf) is used.
	caConf := filepath.Join(caDir, "swtpm-localca.conf")
	if err := os.WriteFile(caConf, []byte(fmt.Sprintf(
		"statedir = %[1]s\nsigningkey = %[1]s/signkey.pem\nissuercert = %[1]s/issuercert.pem\ncertserial = %[1]s/certserial\n", caDir)), 0o600); err != nil {
		return err
	}
	opts := filepath.Join(caDir, "swtpm-localca.options")
	if err := os.WriteFile(opts, nil, 0o600); err != nil {
		return err
	}
	setupConf := filepath.Join(caDir, "swtpm_setup.conf")
	if err := os.WriteFile(setupConf, []byte(fmt.Sprintf(
		"create_certs_tool = %s\ncreate_certs_tool_config = %s\ncreate_certs_tool_options = %s\n", localca, caConf, opts)), 0o600); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("swtpm state dir: %w", err)
	}
	log := filepath.Join(dir, "swtpm_setup.log")
	cmd := exec.CommandContext(ctx, setup, "--tpm2", "--tpmstate", dir, "--create-ek-cert",
		"--config", setupConf, "--pcr-banks", "-", "--logfile", log)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		b, _ := os.ReadFile(log)
		return fmt.Errorf("swtpm_setup --create-ek-cert in %s: %v: %s %s", dir, err, strings.TrimSpace(string(out)), lastLine(b))
	}
	return nil
}
