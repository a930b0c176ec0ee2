package tpm_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// Command codes (TPM 2.0 Part 2 §6.5.2) of the commands that carry the
// secret or an HMAC keyed with the PIN, or that start the session such an
// HMAC is computed in.
var pinOrSecretCommands = map[uint32]string{
	0x00000176: "StartAuthSession",
	0x0000016B: "PolicyAuthValue",
	0x0000015E: "Unseal",
	0x00000153: "Create",
	0x00000151: "PolicySecret",
}

// attackerSRK returns srkPublic (a marshalled TPMT_PUBLIC) with the ECC
// point replaced by a fresh key of the attacker's, and its Name computed
// here with the standard library: nameAlg ‖ SHA-256(TPMT_PUBLIC) (Part 1
// §16).
func attackerSRK(t *testing.T, srkPublic []byte) (pub, name []byte) {
	t.Helper()
	p, err := tpm2.Unmarshal[tpm2.TPMTPublic](srkPublic)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw := k.PublicKey().Bytes() // 0x04 ‖ X ‖ Y
	p.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
		X: tpm2.TPM2BECCParameter{Buffer: raw[1:33]},
		Y: tpm2.TPM2BECCParameter{Buffer: raw[33:]},
	})
	pub = tpm2.Marshal(p)
	sum := sha256.Sum256(pub)
	name = binary.BigEndian.AppendUint16(nil, uint16(tpm2.TPMAlgSHA256))
	return pub, append(name, sum[:]...)
}

// TestTamperedSRKSendsNoPIN is the attack on a sealed file on an
// unencrypted disk by someone who also watches the TPM bus: they put their
// own ECC point in srk.public (with or without a matching srk.name). Were
// the unseal session salted to it, the captured PIN-keyed HMAC of Unseal
// would let them test PINs offline, past the dictionary-attack lockout,
// while the user is told "wrong PIN". The unseal must refuse (a
// verification failure, not "wrong PIN") before sending any command keyed
// by the PIN or carrying the secret, for a persistent and a transient SRK.
func TestTamperedSRKSendsNoPIN(t *testing.T) {
	for _, persistent := range []bool{true, false} {
		name := "transient SRK"
		if persistent {
			name = "persistent SRK"
		}
		t.Run(name, func(t *testing.T) {
			tt := tpmtest.Open(t)
			if persistent {
				srk, err := tpm.ProvisionSRK(tt)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { evictSRK(tt, srk) })
			}
			pin := []byte("1234-correct")
			pol, _ := tpm.CurrentPolicy(tt, tpm.SHA256, []int{7})
			s, err := tpm.Seal(tt, randomSecret(t), pol, tpm.WithPIN(pin))
			if err != nil {
				t.Fatal(err)
			}
			if s.SRK.Persistent != persistent {
				t.Fatalf("sealed under persistent=%v, want %v", s.SRK.Persistent, persistent)
			}
			good, _ := s.Marshal()
			// Control: the untampered file does send the PIN-keyed
			// commands, so the recorder below would see them.
			rec := tpm.NewRecorder(tt)
			if _, err := tpm.Unseal(rec, reparse(t, s), tpm.WithUnsealPIN(pin)); err != nil {
				t.Fatalf("untampered file: %v", err)
			}
			if !sent(rec, 0x0000015E) {
				t.Fatalf("control: no Unseal recorded (%#x)", rec.CommandCodes())
			}
			evilPub, evilName := attackerSRK(t, s.SRK.Public)
			for _, tc := range []struct {
				what      string
				pub, name []byte
			}{
				{"attacker's point and its own name", evilPub, evilName},
				{"attacker's point under the original name", evilPub, s.SRK.Name},
			} {
				t.Run(tc.what, func(t *testing.T) {
					bad, err := tpm.ParseSealed(good)
					if err != nil {
						t.Fatal(err)
					}
					bad.SRK.Public, bad.SRK.Name = tc.pub, tc.name
					b, _ := bad.Marshal()
					before := lockoutCounter(t, tt)
					rec := tpm.NewRecorder(tt)
					parsed, perr := tpm.ParseSealed(b)
					var out []byte
					err = perr
					if perr == nil {
						out, err = tpm.Unseal(rec, parsed, tpm.WithUnsealPIN(pin))
					}
					if out != nil || err == nil {
						t.Fatalf("a file with the attacker's SRK key unsealed")
					}
					if !errors.Is(err, errkind.Verify) || errors.Is(err, tpm.ErrBadPIN) {
						t.Errorf("refusal %q: want a verification failure that is not \"wrong PIN\"", err)
					}
					for i, cc := range rec.CommandCodes() {
						if n, bad := pinOrSecretCommands[cc]; bad {
							t.Errorf("command %d: %s (%#x) sent for a file whose SRK is not the TPM's", i, n, cc)
						}
					}
					if after := lockoutCounter(t, tt); after != before {
						t.Errorf("DA lockout counter %d -> %d", before, after)
					}
				})
			}
		})
	}
}

func sent(r *tpm.Recorder, cc uint32) bool {
	for _, c := range r.CommandCodes() {
		if c == cc {
			return true
		}
	}
	return false
}

func evictSRK(tt tpm.TPMSender, srk *tpm.SRK) {
	tpm2.EvictControl{Auth: tpm2.TPMRHOwner, ObjectHandle: tpm2.NamedHandle{Handle: srk.Handle, Name: srk.Name}, PersistentHandle: tpm.SRKHandle}.Execute(tt)
}

// TestSealedNameIsHashOfPublic checks the recorded SRK name against an
// independent computation: nameAlg ‖ SHA-256 of the recorded TPMT_PUBLIC.
func TestSealedNameIsHashOfPublic(t *testing.T) {
	tt := tpmtest.Open(t)
	pol, _ := tpm.CurrentPolicy(tt, tpm.SHA256, []int{7})
	s, err := tpm.Seal(tt, []byte("k"), pol)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(s.SRK.Public)
	want := append([]byte{0x00, 0x0b}, sum[:]...)
	if !bytes.Equal(s.SRK.Name, want) {
		t.Fatalf("srk.name %x, want %x", []byte(s.SRK.Name), want)
	}
}
