// Package gouefi runs go-uefi's high-level efivarfs API
// (github.com/foxboron/go-uefi/efivarfs: GetSecureBoot, GetSetupMode,
// Getdb, WriteSignedUpdate, ...) over slkit's variable layer, so that
// go-uefi code works against the real efivarfs and against efi/efitest
// alike, with slkit's handling of the efivarfs traps underneath.
//
// go-uefi's own EFIFS is not used as slkit's seam: it reads by stat size,
// its immutable check opens with O_CREAT (leaving phantom files), and its
// signature and device path parsers call log.Fatal on malformed input.
// Here every value is read to EOF, and bytes reach a go-uefi parser only
// after slkit's bounds-checked parser accepted them: signature databases
// go through efi.ParseSignatureLists first; load options (whose go-uefi
// device path parser exits even on some valid input) are refused with
// ErrUnsafeParser — use efi.ParseLoadOption.
//
// It lives in its own package because go-uefi's efivarfs pulls in its
// PKCS#7 code and net/http; package efi and the slkit binary do not.
package gouefi

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/slkit/slkit/internal/errkind"

	"github.com/foxboron/go-uefi/efi/attributes"
	"github.com/foxboron/go-uefi/efi/device"
	"github.com/foxboron/go-uefi/efi/signature"
	"github.com/foxboron/go-uefi/efi/util"
	"github.com/foxboron/go-uefi/efivar"
	"github.com/foxboron/go-uefi/efivarfs"

	"github.com/slkit/slkit/efi"
)

// ErrUnsafeParser is returned instead of handing bytes to a go-uefi parser
// that may exit the process.
var ErrUnsafeParser = errkind.New(errkind.Input, "go-uefi parser refused: it exits the process on malformed input")

// EFIVars implements go-uefi's efivarfs.EFIVars over an *efi.Vars.
type EFIVars struct{ Vars *efi.Vars }

var _ efivarfs.EFIVars = EFIVars{}

// Open returns go-uefi's high-level API over v.
func Open(v *efi.Vars) *efivarfs.Efivarfs { return efivarfs.Open(EFIVars{v}) }

// Name converts a go-uefi variable to slkit's name.
func Name(v efivar.Efivar) efi.Name {
	var g efi.GUID
	if v.GUID != nil {
		binary.LittleEndian.PutUint32(g[0:], v.GUID.Data1)
		binary.LittleEndian.PutUint16(g[4:], v.GUID.Data2)
		binary.LittleEndian.PutUint16(g[6:], v.GUID.Data3)
		copy(g[8:], v.GUID.Data4[:])
	}
	return efi.Name{Name: v.Name, GUID: g}
}

// GUID converts slkit's GUID to go-uefi's.
func GUID(g efi.GUID) *util.EFIGUID {
	u := util.EFIGUID{
		Data1: binary.LittleEndian.Uint32(g[0:]),
		Data2: binary.LittleEndian.Uint16(g[4:]),
		Data3: binary.LittleEndian.Uint16(g[6:]),
	}
	copy(u.Data4[:], g[8:])
	return &u
}

// GetVar reads and unmarshals a variable.
func (e EFIVars) GetVar(v efivar.Efivar, u efivar.Unmarshallable) error {
	_, err := e.GetVarWithAttributes(v, u)
	return err
}

// GetVarWithAttributes reads a variable (to EOF, APPEND masked), checks
// its attributes as go-uefi does, vets the bytes, and unmarshals them.
func (e EFIVars) GetVarWithAttributes(v efivar.Efivar, u efivar.Unmarshallable) (attributes.Attributes, error) {
	n := Name(v)
	vr, err := e.Vars.Get(n)
	if err != nil {
		return 0, err
	}
	attrs := attributes.Attributes(vr.Attr)
	if !v.Attributes.Equal(attrs) {
		return attrs, efivarfs.ErrIncorrectAttributes
	}
	if err := vet(n, u, vr.Data); err != nil {
		return attrs, err
	}
	return attrs, u.Unmarshal(bytes.NewBuffer(vr.Data))
}

// vet refuses bytes a go-uefi parser could exit on.
func vet(n efi.Name, u efivar.Unmarshallable, data []byte) error {
	switch u.(type) {
	case *signature.SignatureDatabase:
		if _, err := efi.ParseSignatureLists(data); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
	case *device.EFILoadOption:
		return fmt.Errorf("%s: %w (use efi.ParseLoadOption)", n, ErrUnsafeParser)
	}
	return nil
}

// WriteVar marshals and writes a variable in one write; the APPEND
// attribute makes it an append.
func (e EFIVars) WriteVar(v efivar.Efivar, m efivar.Marshallable) error {
	var b bytes.Buffer
	m.Marshal(&b)
	a := efi.Attr(v.Attributes)
	if a&efi.AppendWrite != 0 {
		return e.Vars.Append(Name(v), a&^efi.AppendWrite, b.Bytes())
	}
	return e.Vars.Set(Name(v), a, b.Bytes())
}
