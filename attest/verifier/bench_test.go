package verifier_test

import (
	"crypto"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-attestation/attest"

	slattest "github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/attest/attesttest"
	"github.com/slkit/slkit/attest/verifier"
)

// BenchmarkAttestVerify times the verification of one bundle that holds
// the firmware (OVMF, 24 events), pre-launch and DRTM logs of a machine
// that launched a policy entry with the emulated DRTM (4 banks, PCRs
// 0-23): slkit's whole verify (EK chain, AK proof and activation, quotes,
// every log per bank, the DRTM check, the policy prediction of 3 entries
// over a 1 MiB kernel) against go-attestation alone doing its part
// (the quotes with AKPublic.VerifyAll, each log with EventLog.Verify).
func BenchmarkAttestVerify(b *testing.B) {
	e := enrollB(b, attesttest.Boot(b, filepath.Join(b.TempDir(), "ca"), "drtm"))
	nonce := attesttest.Nonce(b)
	ev := e.Quote(nonce, slattest.WithActivation(e.secret))
	b.Run("impl=slkit", func(b *testing.B) {
		o := verifier.Options{Nonce: nonce, CAs: e.cas, Record: e.record,
			Policy: &verifier.PolicyInput{Signed: e.Signed, Key: e.Pub, Images: os.DirFS(e.Images)}}
		for b.Loop() {
			if _, err := verifier.Verify(ev, o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=go-attestation", func(b *testing.B) {
		for b.Loop() {
			ak, err := attest.ParseAKPublic(ev.AK.Public)
			if err != nil {
				b.Fatal(err)
			}
			var quotes []attest.Quote
			var pcrs []attest.PCR
			for _, q := range ev.Quotes {
				quotes = append(quotes, attest.Quote{Quote: q.Message, Signature: q.Signature})
				h, _ := q.Bank.Hash()
				for _, i := range ev.PCRs.Indices(q.Bank) {
					v, _ := ev.PCRs.Get(q.Bank, i)
					pcrs = append(pcrs, attest.PCR{Index: i, Digest: v, DigestAlg: h})
				}
			}
			if err := ak.VerifyAll(quotes, pcrs, nonce); err != nil {
				b.Fatal(err)
			}
			for _, raw := range [][]byte{ev.Logs.Firmware, ev.Logs.PreLaunch, ev.Logs.DRTM} {
				el, err := attest.ParseEventLog(raw)
				if err != nil {
					b.Fatal(err)
				}
				var sha256 []attest.PCR
				for _, p := range pcrs {
					if p.DigestAlg == crypto.SHA256 {
						sha256 = append(sha256, p)
					}
				}
				// PCR 9 holds the firmware's and slkit's events: each log
				// alone replays only the PCRs it alone extends.
				el.Verify(sha256)
			}
		}
	})
}
