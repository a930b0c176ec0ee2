package attest_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"math/big"
	"testing"

	gattest "github.com/google/go-attestation/attest"
	"github.com/google/go-tpm/tpm2"

	"github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

var testNonce = bytes.Repeat([]byte{0x5a}, 32)

// TestCollect: on a TPM without an EK certificate (the simulator, or a
// fresh swtpm), Collect quotes PCRs 0-23 in every active bank with the
// nonce; each quote is checked here independently: the TPMS_ATTEST's
// qualifying data is the nonce, its PCR digest is SHA-256 over the values
// read separately with PCR_Read, and the ECDSA signature verifies with the
// AK's public key (crypto/ecdsa). go-attestation accepts the AK's creation
// proof, and the AK is the same key on a second Collect (a primary of the
// endorsement hierarchy).
func TestCollect(t *testing.T) {
	tt := tpmtest.Open(t)
	tpm.Extend(tt, 16, tpm.Digests{tpm.SHA256: make(tpm.Digest, 32)})
	ev, err := attest.Collect(tt, testNonce)
	if err != nil {
		t.Fatal(err)
	}
	banks, err := tpm.ActiveBanks(tt)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Quotes) != len(banks) {
		t.Fatalf("%d quotes for %d banks", len(ev.Quotes), len(banks))
	}
	if ev.EK.Certificate != nil || ev.EK.NVIndex != 0 {
		t.Errorf("a TPM without EK certificate: %d bytes from NV %#x", len(ev.EK.Certificate), ev.EK.NVIndex)
	}
	ekPub, err := tpm2.Unmarshal[tpm2.TPMTPublic](ev.EK.Public)
	if err != nil || ekPub.Type != tpm2.TPMAlgECC {
		t.Fatalf("EK public: %v %+v", err, ekPub)
	}
	akPub, err := tpm2.Unmarshal[tpm2.TPMTPublic](ev.AK.Public)
	if err != nil {
		t.Fatal(err)
	}
	a := akPub.ObjectAttributes
	if !a.Restricted || !a.SignEncrypt || a.Decrypt || !a.FixedTPM || !a.FixedParent || !a.SensitiveDataOrigin {
		t.Errorf("AK attributes %+v", a)
	}
	k, err := tpm2.Pub(*akPub)
	if err != nil {
		t.Fatal(err)
	}
	key := k.(*ecdsa.PublicKey)
	read, err := tpm.ReadBanks(tt, banks, attest.AllPCRs)
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range ev.Quotes {
		if q.Bank != banks[i] {
			t.Errorf("quote %d is %s, the TPM's bank %d is %s", i, q.Bank, i, banks[i])
		}
		att, err := tpm2.Unmarshal[tpm2.TPMSAttest](q.Message)
		if err != nil {
			t.Fatal(err)
		}
		info, err := att.Attested.Quote()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(att.ExtraData.Buffer, testNonce) {
			t.Errorf("%s quote: qualifying data %x", q.Bank, att.ExtraData.Buffer)
		}
		var all []byte
		for p := 0; p < 24; p++ {
			v, _ := read.Get(q.Bank, p)
			w, _ := ev.PCRs.Get(q.Bank, p)
			if !v.Equal(w) {
				t.Errorf("%s PCR %d: evidence %s, PCR_Read %s", q.Bank, p, w, v)
			}
			all = append(all, v...)
		}
		if d := sha256.Sum256(all); !bytes.Equal(d[:], info.PCRDigest.Buffer) {
			t.Errorf("%s quote: PCR digest %x, SHA-256 of PCR 0-23 is %x", q.Bank, info.PCRDigest.Buffer, d)
		}
		sig, err := tpm2.Unmarshal[tpm2.TPMTSignature](q.Signature)
		if err != nil {
			t.Fatal(err)
		}
		es, err := sig.Signature.ECDSA()
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(q.Message)
		if !ecdsa.Verify(key, h[:], new(big.Int).SetBytes(es.SignatureR.Buffer), new(big.Int).SetBytes(es.SignatureS.Buffer)) {
			t.Errorf("%s quote: the signature does not verify with the AK", q.Bank)
		}
		if ecdsa.Verify(key, h[:], new(big.Int).SetBytes(es.SignatureS.Buffer), new(big.Int).SetBytes(es.SignatureR.Buffer)) {
			t.Fatal("negative control: a swapped signature verifies; the check cannot fail")
		}
	}
	p := gattest.ActivationParameters{AK: gattest.AttestationParameters{Public: ev.AK.Public,
		CreateData: ev.AK.CreationData, CreateAttestation: ev.AK.CreationAttestation, CreateSignature: ev.AK.CreationSignature}}
	if err := p.CheckAKParameters(); err != nil {
		t.Errorf("go-attestation refuses the AK's creation proof: %v", err)
	}
	again, err := attest.Collect(tt, testNonce, attest.WithPCRs([]int{7, 0, 7}))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.AK.Public, ev.AK.Public) {
		t.Error("the AK changed between two Collects")
	}
	if idx := again.PCRs.Indices(banks[0]); len(idx) != 2 || idx[0] != 0 || idx[1] != 7 {
		t.Errorf("WithPCRs(7, 0, 7): quoted %v", idx)
	}
	for _, n := range [][]byte{nil, make([]byte, 7), make([]byte, 65)} {
		if _, err := attest.Collect(tt, n); !errors.Is(err, attest.ErrNonce) {
			t.Errorf("a %d-byte nonce: %v", len(n), err)
		}
	}
}

// TestActivate: a credential the TPM itself makes (TPM2_MakeCredential to
// the EK for the AK's name, an implementation independent of slkit's and
// go-attestation's) is activated and gives back the secret, which never
// crosses the TPM interface in clear during Activate (while the recorder
// does see it in MakeCredential's command: the check can fail). A
// challenge for another AK name, or one made to another EK, is refused.
func TestActivate(t *testing.T) {
	tt := tpmtest.Open(t)
	ev, err := attest.Collect(tt, testNonce)
	if err != nil {
		t.Fatal(err)
	}
	ekPub, err := tpm2.Unmarshal[tpm2.TPMTPublic](ev.EK.Public)
	if err != nil {
		t.Fatal(err)
	}
	akPub, _ := tpm2.Unmarshal[tpm2.TPMTPublic](ev.AK.Public)
	name, err := tpm2.ObjectName(akPub)
	if err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte("slkit activation secret "), 2)[:32]
	rec := tpm.NewRecorder(tt)
	ld, err := tpm2.LoadExternal{InPublic: tpm2.New2B(*ekPub), Hierarchy: tpm2.TPMRHNull}.Execute(rec)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := tpm2.MakeCredential{Handle: ld.ObjectHandle, Credential: tpm2.TPM2BDigest{Buffer: secret}, ObjectName: *name}.Execute(rec)
	tpm2.FlushContext{FlushHandle: ld.ObjectHandle}.Execute(tt)
	if err != nil {
		t.Fatal(err)
	}
	if !inTraffic(rec, secret) {
		t.Fatal("negative control: MakeCredential's clear credential is not seen by the recorder")
	}
	ch := &attest.Challenge{Format: attest.ChallengeFormat, AKName: name.Buffer,
		Credential: tpm2.Marshal(mc.CredentialBlob), Secret: tpm2.Marshal(mc.Secret)}
	rec.Reset()
	got, err := attest.Activate(rec, ch)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, secret) {
		t.Fatalf("activated %x, want %x", got, secret)
	}
	if inTraffic(rec, secret) {
		t.Error("the activated secret crossed the TPM interface in clear")
	}

	other := *ch
	other.AKName = append([]byte{0, 0xb}, bytes.Repeat([]byte{1}, 32)...)
	if _, err := attest.Activate(tt, &other); !errors.Is(err, attest.ErrActivation) {
		t.Errorf("a challenge for another AK: %v", err)
	}
	// A credential made to another EK (go-tpm's CreateCredential, to a
	// fresh ECC key) for the right name: the TPM's ActivateCredential
	// refuses it.
	priv, err := ecdsa.GenerateKey(ekCurve(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fake := *ekPub
	fake.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
		X: tpm2.TPM2BECCParameter{Buffer: priv.X.FillBytes(make([]byte, 32))},
		Y: tpm2.TPM2BECCParameter{Buffer: priv.Y.FillBytes(make([]byte, 32))},
	})
	kem, err := tpm2.ImportEncapsulationKey(&fake)
	if err != nil {
		t.Fatal(err)
	}
	id, enc, err := tpm2.CreateCredential(rand.Reader, kem, name.Buffer, secret)
	if err != nil {
		t.Fatal(err)
	}
	wrongEK := &attest.Challenge{Format: attest.ChallengeFormat, AKName: name.Buffer,
		Credential: tpm2.Marshal(tpm2.TPM2BIDObject{Buffer: id}), Secret: tpm2.Marshal(tpm2.TPM2BEncryptedSecret{Buffer: enc})}
	if _, err := attest.Activate(tt, wrongEK); !errors.Is(err, attest.ErrActivation) {
		t.Errorf("a credential made to another EK: %v", err)
	}
}

// inTraffic reports whether b appears in any recorded command or response.
func inTraffic(r *tpm.Recorder, b []byte) bool {
	for _, m := range append(append([][]byte(nil), r.Commands...), r.Responses...) {
		if bytes.Contains(m, b) {
			return true
		}
	}
	return false
}

func ekCurve() elliptic.Curve { return elliptic.P256() }
