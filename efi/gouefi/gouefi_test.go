package gouefi

import (
	"bytes"
	"errors"
	"testing"

	"github.com/foxboron/go-uefi/efi/signature"
	"github.com/foxboron/go-uefi/efi/util"
	"github.com/foxboron/go-uefi/efivar"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
)

func TestGUIDConversion(t *testing.T) {
	// go-uefi's own constant for EFI_GLOBAL_VARIABLE.
	if Name(efivar.BootOrder) != efi.BootOrder || Name(efivar.Db) != efi.Db {
		t.Fatalf("%v %v", Name(efivar.BootOrder), Name(efivar.Db))
	}
	if g := GUID(efi.GlobalGUID); !util.CmpEFIGUID(*g, *efivar.BootOrder.GUID) {
		t.Fatal(g.Format())
	}
}

func TestGoUEFIOverTheFake(t *testing.T) {
	bs := efi.BootserviceAccess | efi.RuntimeAccess
	st := efitest.New(efitest.WithVariable(efi.SecureBoot, bs, []byte{1}), efitest.WithVariable(efi.SetupMode, bs, []byte{0}))
	p, _ := efi.ParsePattern("*-" + efi.ImageSecurityGUID.String())
	e := Open(efi.New(st, efi.WithMutable(p)))
	if on, err := e.GetSecureBoot(); err != nil || !on {
		t.Fatalf("SecureBoot %v %v", on, err)
	}
	// A signature database written through go-uefi's marshaller (a plain
	// NV|BS|RT variable here: the fake has no PKCS#7) reads back.
	var db signature.SignatureDatabase
	if err := db.Append(signature.CERT_SHA256_GUID, *GUID(efi.GlobalGUID), bytes.Repeat([]byte{7}, 32)); err != nil {
		t.Fatal(err)
	}
	plain := efivar.Efivar{Name: "db", GUID: efivar.Db.GUID, Attributes: 7}
	if err := e.WriteVar(plain, &db); err != nil {
		t.Fatal(err)
	}
	var back signature.SignatureDatabase
	if err := e.GetVar(plain, &back); err != nil || len(back) != 1 || !bytes.Equal(back[0].Signatures[0].Data, bytes.Repeat([]byte{7}, 32)) {
		t.Fatalf("%v %+v", err, back)
	}
	// Malformed lists never reach go-uefi (whose parser would underflow
	// and exit the test binary): a signature size below 16.
	bad := append(bytes.Clone(db.Bytes()[:24]), 8, 0, 0, 0)
	st.Put(efi.Db, 7, append(bad, make([]byte, 48)...))
	if err := e.GetVar(plain, &back); !errors.Is(err, efi.ErrMalformed) {
		t.Fatalf("malformed db: %v", err)
	}
	st.Put(efi.BootEntry(1), 7, []byte{1, 0, 0, 0, 4, 0, 0, 0, 0x7f, 0xff, 4, 0})
	if _, err := e.GetBootEntry("Boot0001"); !errors.Is(err, ErrUnsafeParser) {
		t.Fatalf("load option: %v", err)
	}
}
