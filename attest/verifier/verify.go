package verifier

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	slattest "github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/tpm"
)

// Options are what a verification checks the evidence against.
type Options struct {
	// Nonce is the verifier's nonce for this attestation.
	Nonce []byte
	// CAs are the EK certificate authorities.
	CAs *CAs
	// Record is the verifier's record of the AK's credential activation.
	Record *Record
	// Policy, when set, is the launch policy the launch must be an entry
	// of.
	Policy *PolicyInput
}

// Report is what a verification found, as far as it got.
type Report struct {
	OK bool `json:"ok"`
	// Failure is the refusal, empty when OK.
	Failure string `json:"failure,omitempty"`
	// EKSubject and EKIssuer are the certificate's, once it verified.
	EKSubject string `json:"ek_subject,omitempty"`
	EKIssuer  string `json:"ek_issuer,omitempty"`
	// AKName is the AK's name (hex), and Activated whether it passed the
	// record's credential activation.
	AKName    string `json:"ak_name,omitempty"`
	Activated bool   `json:"activated"`
	// Banks are the banks quoted, PCRs the PCRs quoted (in every bank).
	Banks []tpm.Alg   `json:"banks,omitempty"`
	PCRs  []int       `json:"pcrs,omitempty"`
	Logs  []LogReport `json:"logs,omitempty"`
	// Unexplained are the quoted PCRs no log extends (their values are
	// quoted but not described: PCR 10 holds IMA's measurements, PCR 17
	// all ones without a dynamic launch).
	Unexplained []int `json:"unexplained,omitempty"`
	// Launch is the launch-policy verdict (with a policy only).
	Launch *LaunchReport `json:"launch,omitempty"`
}

// Verify checks evidence, in this order, and stops at the first failure,
// which it returns (wrapping one of the package's sentinels) together with
// the report so far:
//
//  1. the EK certificate chains to the CAs (ErrEKCertificate);
//  2. the AK's creation proof (ErrAK) and its credential activation: the
//     record's EK certificate, AK name and secret (ErrNotActivated);
//  3. every quote is over the verifier's nonce (ErrNonce) and verifies
//     with the AK against the evidence's PCR values (ErrQuote);
//  4. every log replays to the quoted PCRs in every quoted bank it carries
//     (ErrCoverage, ErrLogReplay), the DRTM log by slaunch.CheckDRTM too;
//  5. with a policy, the launch is one of its entries (ErrNoEntry).
func Verify(ev *slattest.Evidence, o Options) (*Report, error) {
	r := &Report{}
	err := r.verify(ev, o)
	r.OK = err == nil
	if err != nil {
		r.Failure = err.Error()
	}
	return r, err
}

func (r *Report) verify(ev *slattest.Evidence, o Options) error {
	if o.CAs == nil || o.Record == nil || len(o.Nonce) == 0 {
		return errors.New("verify: a nonce, the EK CAs and the activation record are required")
	}
	cert, err := o.CAs.VerifyEK(ev.EK.Certificate)
	if err != nil {
		return err
	}
	r.EKSubject, r.EKIssuer = cert.Subject.String(), cert.Issuer.String()
	name, err := checkAK(ev)
	if err != nil {
		return err
	}
	r.AKName = hex.EncodeToString(name)
	if err := checkActivation(ev, o.Record, cert.Raw, name); err != nil {
		return err
	}
	r.Activated = true
	quoted, err := verifyQuotes(ev, o.Nonce)
	if err != nil {
		return err
	}
	r.Banks = quoted.Algs()
	r.PCRs = quoted.Indices(r.Banks[0])
	views, logs, err := checkLogs(ev, quoted)
	r.Logs = logs
	if err != nil {
		return err
	}
	for _, i := range r.PCRs {
		if !slices.ContainsFunc(logs, func(l LogReport) bool { return slices.Contains(l.PCRs, i) }) {
			r.Unexplained = append(r.Unexplained, i)
		}
	}
	if o.Policy != nil {
		r.Launch, err = checkPolicy(o.Policy, views, quoted)
		return err
	}
	return nil
}

// WriteText prints the report for people, one fact per line.
func (r *Report) WriteText(w io.Writer) {
	verdict := "verified"
	if !r.OK {
		verdict = "REFUSED"
	}
	fmt.Fprintf(w, "attestation %s\n", verdict)
	if r.EKSubject != "" {
		fmt.Fprintf(w, "  EK certificate: %q issued by %q, chains to the given CAs\n", r.EKSubject, r.EKIssuer)
	}
	if r.AKName != "" {
		act := "did not pass credential activation"
		if r.Activated {
			act = "activated (credential made to the EK for this AK, secret returned)"
		}
		fmt.Fprintf(w, "  AK %s: %s\n", r.AKName, act)
	}
	if len(r.Banks) > 0 {
		fmt.Fprintf(w, "  quotes: %s over PCR %s, the verifier's nonce, signed by the AK\n", algList(r.Banks), pcrList(r.PCRs))
	}
	for _, l := range r.Logs {
		line := fmt.Sprintf("  %s log: %d events, PCR %s, replays in %s", l.Name, l.Events, pcrList(l.PCRs), algList(l.Verified))
		if l.ReplayedWith != "" {
			line += " (as " + l.ReplayedWith + ")"
		}
		if len(l.NotInLog) > 0 {
			line += "; not in the log: " + algList(l.NotInLog)
		}
		fmt.Fprintln(w, line)
	}
	if len(r.Unexplained) > 0 {
		fmt.Fprintf(w, "  quoted, no log describes them: PCR %s\n", pcrList(r.Unexplained))
	}
	if l := r.Launch; l != nil {
		kind := "measured launch (PCR 8, 9)"
		if l.Dynamic {
			kind = "dynamic launch (PCR 8, 9, 17, 18)"
		}
		if l.Entry != "" {
			fmt.Fprintf(w, "  launched: policy entry %q, %s as slkit predicts it\n", l.Entry, kind)
		} else if l.Closest != "" {
			fmt.Fprintf(w, "  launched: no policy entry; closest %q differs at %d event(s)\n", l.Closest, len(l.Diffs))
		}
	}
}
