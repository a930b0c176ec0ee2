package journal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"hash/crc32"
	"reflect"
	"testing"

	"github.com/slkit/slkit/efi"
)

func seedJournals(f *testing.F) {
	key := testKey(1)
	f.Add(handJournal(nil, key))
	j := &Journal{Generation: 3, Entries: []Entry{
		{Seq: 1, Change: Change{Op: OpAppend, Var: vendorVar, Attr: efi.DefaultAttr, Data: []byte("tok"), Expect: ExpectData([]byte("x"))}},
		{Seq: 2, Change: Change{Op: OpDelete, Var: efi.Name{Name: "Old", GUID: vendorGUID}, Expect: Expect{Kind: ExpectAbsent}}},
		{Seq: 3, Change: set(efi.BootEntry(3), loadOption("x"))},
		{Seq: 4, Change: Change{Op: OpOsIndications, Var: efi.OsIndications, SetBits: 4, ClearBits: 1, Reboot: true}},
	}}
	b, err := j.Marshal(key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:100])
	f.Add(rawJournal(key, 1, []Entry{{Seq: 2, Change: set(vendorVar, []byte("a"))}}))
}

// fixJournalCRCs recomputes the header and entry checksums of b, so that
// the fuzzer reaches the parser behind them instead of stopping at a
// checksum mismatch on almost every input.
func fixJournalCRCs(b []byte) []byte {
	b = bytes.Clone(b)
	if len(b) < headerSize {
		return b
	}
	binary.LittleEndian.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
	for off := headerSize; off+entryOverhead <= len(b); {
		l := int(binary.LittleEndian.Uint32(b[off:]))
		if l < entryOverhead || l > len(b)-off {
			break
		}
		binary.LittleEndian.PutUint32(b[off+l-4:], crc32.Checksum(b[off:off+l-4], castagnoli))
		off += l
	}
	return b
}

// FuzzParseJournal: Parse never panics, fails only with ErrMalformed, and
// a journal it accepts re-signs (with any key) to one that parses to the
// same entries, with the same entry bytes. Each input is parsed as it is
// and with its checksums made to match.
func FuzzParseJournal(f *testing.F) {
	seedJournals(f)
	key := testKey(5)
	f.Fuzz(func(t *testing.T, in []byte) {
		checkJournalRoundTrip(t, in, key)
		checkJournalRoundTrip(t, fixJournalCRCs(in), key)
	})
}

func checkJournalRoundTrip(t *testing.T, b []byte, key ed25519.PrivateKey) {
	j, err := Parse(b)
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error not ErrMalformed: %v", err)
		}
		return
	}
	m, err := (&Journal{Generation: j.Generation, Created: j.Created, Entries: j.Entries}).marshal(key, false)
	if err != nil {
		t.Fatalf("accepted journal does not re-marshal: %v", err)
	}
	j2, err := Verify(m, pubOf(key))
	if err != nil || !reflect.DeepEqual(j.Entries, j2.Entries) || j.Generation != j2.Generation || !j.Created.Equal(j2.Created) {
		t.Fatalf("round trip: %v", err)
	}
	if !bytes.Equal(b[headerSize:len(b)-sigSize], m[headerSize:len(m)-sigSize]) {
		t.Fatal("entry bytes differ after the round trip")
	}
	if _, err := Verify(b, pubOf(key)); err == nil && !bytes.Equal(b, m) {
		t.Fatal("a journal not signed by the key verified")
	}
}

// FuzzParseState: the state parser never panics, fails only with
// ErrBadState, and what it accepts marshals back to the same bytes.
func FuzzParseState(f *testing.F) {
	s := &State{Generation: 4, Journal: [32]byte{1}, Runs: 2, Entries: []EntryState{
		{Seq: 1, Status: Done, TriesLeft: 2, Pre: [32]byte{9}, HasPre: true},
		{Seq: 2, Status: Attempting, TriesLeft: 1, HasPre: true, HasPost: true, Post: [32]byte{7}},
		{Seq: 3, Status: Failed, Reason: ReasonErrno, Errno: 28},
	}}
	s.AppliedThrough = s.appliedThrough()
	f.Add(s.Marshal())
	f.Add((&State{}).Marshal())
	f.Add(s.Marshal()[:70])
	f.Fuzz(func(t *testing.T, in []byte) {
		fixed := bytes.Clone(in)
		if n := len(fixed); n >= 4 { // make the trailing checksum match
			binary.LittleEndian.PutUint32(fixed[n-4:], crc32.Checksum(fixed[:n-4], castagnoli))
		}
		for _, b := range [][]byte{in, fixed} {
			st, err := ParseState(b)
			if err != nil {
				if !errors.Is(err, ErrBadState) {
					t.Fatalf("error not ErrBadState: %v", err)
				}
				continue
			}
			if !bytes.Equal(st.Marshal(), b) {
				t.Fatal("round trip")
			}
			if st.AppliedThrough > uint32(len(st.Entries)) {
				t.Fatalf("applied-through %d past %d entries", st.AppliedThrough, len(st.Entries))
			}
		}
	})
}

// FuzzParseKeys: the key file parsers never panic, fail only with
// ErrMalformed, and a private key they accept signs what its public key
// verifies.
func FuzzParseKeys(f *testing.F) {
	key := testKey(3)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pder, _ := x509.MarshalPKIXPublicKey(pubOf(key))
	f.Add(key.Seed())
	f.Add([]byte(key))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}))
	f.Add([]byte(pubOf(key)))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePrivateKey(b)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("private: error not ErrMalformed: %v", err)
		}
		if err == nil && !ed25519.Verify(pubOf(k), []byte("m"), ed25519.Sign(k, []byte("m"))) {
			t.Fatal("an accepted private key does not match its public half")
		}
		p, err := ParsePublicKey(b)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("public: error not ErrMalformed: %v", err)
		}
		if err == nil && len(p) != ed25519.PublicKeySize {
			t.Fatalf("public key of %d bytes", len(p))
		}
	})
}
