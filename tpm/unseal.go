package tpm

import (
	"errors"
	"fmt"

	"github.com/slkit/slkit/internal/errkind"

	"github.com/google/go-tpm/tpm2"
)

// Errors of Unseal. A refusal wraps ErrUnsealRefused (and ErrPCRMismatch
// when PCRs differ); a wrong PIN wraps ErrBadPIN.
var (
	ErrUnsealRefused = errkind.New(errkind.Verify, "unseal refused")
	ErrBadPIN        = errkind.New(errkind.Verify, "wrong PIN")
	ErrLockout       = errkind.New(errkind.Verify, "TPM is in dictionary-attack lockout")
)

type unsealConfig struct {
	pin        []byte
	logs       []*EventLog
	logProblem string
	info       *UnsealInfo
}

// UnsealOption configures Unseal.
type UnsealOption func(*unsealConfig)

// WithUnsealPIN supplies the PIN of a sealed object that requires one.
func WithUnsealPIN(pin []byte) UnsealOption { return func(c *unsealConfig) { c.pin = pin } }

// WithEventLogs gives the current event logs, so that a refusal can name
// the first event that differs from the sealed expectation.
func WithEventLogs(logs ...*EventLog) UnsealOption {
	return func(c *unsealConfig) { c.logs = append(c.logs, logs...) }
}

// WithLogUnavailable says why the current event log cannot be used (it
// did not parse): a refusal then says so instead of naming an event. The
// log only explains a refusal; an unusable one never stops an unseal.
func WithLogUnavailable(problem string) UnsealOption {
	return func(c *unsealConfig) { c.logProblem = problem }
}

// WithUnsealInfo fills info with how the secret was released (the main
// object, or the update object after the main one was refused).
func WithUnsealInfo(info *UnsealInfo) UnsealOption { return func(c *unsealConfig) { c.info = info } }

// Unseal returns the sealed secret if the TPM's PCRs (and locality and PIN)
// satisfy the object's policy. The policy session is salted to the SRK and
// encrypts the response, so the secret never crosses the TPM interface in
// clear; with a PIN, only an HMAC keyed with it is sent. With a persistent
// SRK it costs 6 TPM commands (7 with a PIN): ReadPublic, Load,
// StartAuthSession, PolicyPCR[, PolicyAuthValue], Unseal, FlushContext.
//
// Before any command keyed by the PIN or carrying the secret, the SRK the
// session is salted to is checked (SRKFor): the file's recorded SRK public
// key must have the recorded name, and that name must be the TPM's SRK's.
// Otherwise someone who altered the file could have the session salted to
// a key of theirs and test PINs offline against the captured HMAC.
//
// A refusal returns an *UnsealRefusal naming each PCR that differs and,
// given event logs, the first event that differs. Nothing is released.
//
// A file with an Update object (`slkit update prepare`) is tried in two
// steps: the main object first; only when the TPM refuses its policy, the
// update object (see UnsealUpdate). A refusal of both names what failed
// for each, the update window's counter included.
func Unseal(t TPMSender, s *Sealed, opts ...UnsealOption) ([]byte, error) {
	cfg := unsealConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if s.Policy.PIN && len(cfg.pin) == 0 {
		return nil, fmt.Errorf("%w: the sealed object requires a PIN", ErrBadPIN)
	}
	if len(cfg.pin) > MaxPIN {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrPINSize, len(cfg.pin), MaxPIN)
	}
	out, err := unsealObject(t, s, &cfg)
	if err == nil || s.Update == nil || !errors.Is(err, ErrUnsealRefused) {
		return out, err
	}
	return unsealUpdate(t, s, err, &cfg)
}

// unsealObject unseals one sealed object of a file.
func unsealObject(t TPMSender, s *Sealed, cfg *unsealConfig) ([]byte, error) {
	srk, srkPub, err := SRKFor(t, s)
	if err != nil {
		return nil, err
	}
	defer srk.Close(t)
	pub, err := tpm2.Unmarshal[tpm2.TPM2BPublic](s.Public)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSealed, err)
	}
	priv, err := tpm2.Unmarshal[tpm2.TPM2BPrivate](s.Private)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSealed, err)
	}
	obj, err := tpm2.Load{
		ParentHandle: tpm2.AuthHandle{Handle: srk.Handle, Name: srk.Name, Auth: tpm2.PasswordAuth(nil)},
		InPrivate:    *priv,
		InPublic:     *pub,
	}.Execute(t)
	if err != nil {
		var rejected tpm2.TPMFmt1Error
		if errors.As(err, &rejected) {
			// The SRK is the one the file names, so the TPM rejects the
			// blobs themselves (an integrity or parameter check).
			return nil, fmt.Errorf("%w: the TPM rejects the sealed object: %w", ErrSealedTampered, err)
		}
		return nil, fmt.Errorf("%w: Load(sealed object): %w", ErrTPM, err)
	}
	defer tpm2.FlushContext{FlushHandle: obj.ObjectHandle}.Execute(t)

	policy := s.sealPolicy()
	sopts := []tpm2.AuthOption{tpm2.Salted(srk.Handle, *srkPub), tpm2.AESEncryption(128, tpm2.EncryptOut)}
	if s.Policy.PIN {
		sopts = append(sopts, tpm2.Auth(cfg.pin))
	}
	var sess tpm2.Session
	if policy.Counter == nil {
		// The policy runs when Unseal starts the session (one
		// round trip less); PolicyPCR with an empty digest cannot fail
		// there, a mismatch shows at Unseal.
		sess = tpm2.Policy(policyHash, 16, func(tt TPMSender, h tpm2.TPMISHPolicy, _ tpm2.TPM2BNonce) error {
			return policy.run(tt, h, tpm2.TPM2BNonce{})
		}, sopts...)
	} else {
		// PolicyNV fails at once when the window is closed: run the
		// policy in a session of our own, flushed on every path.
		ps, closeSess, err := tpm2.PolicySession(t, policyHash, 16, sopts...)
		if err != nil {
			return nil, fmt.Errorf("%w: policy session: %w", ErrTPM, err)
		}
		defer closeSess()
		if err := policy.run(t, ps.Handle(), tpm2.TPM2BNonce{}); err != nil {
			if refusedPolicy(err) {
				return nil, explainRefusal(t, s, cfg, err)
			}
			return nil, fmt.Errorf("%w: %w", ErrTPM, err)
		}
		sess = ps
	}
	rsp, err := tpm2.Unseal{ItemHandle: tpm2.AuthHandle{Handle: obj.ObjectHandle, Name: obj.Name, Auth: sess}}.Execute(t)
	if err == nil {
		return rsp.OutData.Buffer, nil
	}
	switch {
	case errors.Is(err, tpm2.TPMRCPolicyFail), errors.Is(err, tpm2.TPMRCLocality):
		return nil, explainRefusal(t, s, cfg, err)
	case errors.Is(err, tpm2.TPMRCAuthFail), errors.Is(err, tpm2.TPMRCBadAuth):
		return nil, fmt.Errorf("%w: the TPM rejected the PIN (counts toward its dictionary-attack lockout)", ErrBadPIN)
	case errors.Is(err, tpm2.TPMRCLockout):
		return nil, fmt.Errorf("%w: too many wrong PINs; wait for the lockout to expire", ErrLockout)
	}
	return nil, fmt.Errorf("%w: Unseal: %w", ErrTPM, err)
}
