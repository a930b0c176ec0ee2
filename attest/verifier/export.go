package verifier

import (
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-tpm/tpm2"

	slattest "github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// ExportFile is one file of an export: its name and content.
type ExportFile struct {
	Name string
	Data []byte
}

// WriteTPM2Tools writes the files of ExportTPM2Tools into dir (created
// when missing; each file replaced atomically) and returns how many, and
// the commands.
func WriteTPM2Tools(ev *slattest.Evidence, dir string) (int, []string, error) {
	files, cmds, err := ExportTPM2Tools(ev)
	if err != nil {
		return 0, nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, nil, err
	}
	for _, f := range files {
		if err := fsys.WriteFile(fsys.OS{}, filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return 0, nil, err
		}
	}
	return len(files), cmds, nil
}

// Layout of tpm2-tools' "serialized" PCR file (tpm2_quote -o, the format
// tpm2_checkquote -f reads without -l: tpm2-tools 5.4 lib/pcr.c
// pcr_fwrite_serialized, tools/misc/tpm2_checkquote.c
// parse_selection_data_from_file): the TSS2 C structures written as they
// lie in memory, little-endian — TPML_PCR_SELECTION (u32 count, then 16
// TPMS_PCR_SELECTION of {u16 hash, u8 sizeofSelect, u8 pcrSelect[4]} padded
// to 8 bytes), a u32 count of TPML_DIGEST, then each TPML_DIGEST (u32
// count, then 8 TPM2B_DIGEST of {u16 size, u8 buffer[64]}).
const (
	tssNumPCRBanks    = 16
	tssPCRSelectionSz = 8
	tssPCRSelectMax   = 4
	tssDigestsPerList = 8
	tssDigest2BSize   = 2 + 64
	tssDigestListSize = 4 + tssDigestsPerList*tssDigest2BSize
)

// ExportTPM2Tools converts the evidence's quotes into the files
// tpm2_checkquote reads, per bank B: quote-B.msg (the TPMS_ATTEST),
// quote-B.sig (the TPMT_SIGNATURE, tpm2_quote's default "tss" format) and
// pcrs-B.bin (the quoted values, serialized as tpm2_quote -o writes them);
// and ak.pem (the AK's public key, PKIX PEM) and nonce.hex. Commands holds
// one tpm2_checkquote command line per bank, relative to the export
// directory.
func ExportTPM2Tools(ev *slattest.Evidence) (files []ExportFile, commands []string, err error) {
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](ev.AK.Public)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: AK public: %v", slattest.ErrMalformed, err)
	}
	k, err := tpm2.Pub(*pub)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: AK public key: %v", slattest.ErrMalformed, err)
	}
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, nil, err
	}
	files = append(files,
		ExportFile{"ak.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})},
		ExportFile{"nonce.hex", []byte(hex.EncodeToString(ev.Nonce) + "\n")})
	for _, q := range ev.Quotes {
		att, err := tpm2.Unmarshal[tpm2.TPMSAttest](q.Message)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s quote: %v", slattest.ErrMalformed, q.Bank, err)
		}
		info, err := att.Attested.Quote()
		if err != nil || len(info.PCRSelect.PCRSelections) != 1 {
			return nil, nil, fmt.Errorf("%w: the %s quote is not a one-bank TPMS_QUOTE_INFO", slattest.ErrMalformed, q.Bank)
		}
		sel := info.PCRSelect.PCRSelections[0]
		pcrs, err := serializePCRs(sel, ev.PCRs)
		if err != nil {
			return nil, nil, err
		}
		b := q.Bank.String()
		files = append(files,
			ExportFile{"quote-" + b + ".msg", q.Message},
			ExportFile{"quote-" + b + ".sig", q.Signature},
			ExportFile{"pcrs-" + b + ".bin", pcrs})
		commands = append(commands, fmt.Sprintf("tpm2_checkquote -u ak.pem -m quote-%s.msg -s quote-%s.sig -f pcrs-%s.bin -g sha256 -q %s",
			b, b, b, hex.EncodeToString(ev.Nonce)))
	}
	return files, commands, nil
}

// serializePCRs writes the values of one selection in tpm2-tools'
// serialized layout.
func serializePCRs(sel tpm2.TPMSPCRSelection, vals *tpm.PCRs) ([]byte, error) {
	bank := tpm.Alg(sel.Hash)
	if len(sel.PCRSelect) > tssPCRSelectMax {
		return nil, fmt.Errorf("%w: a %d-byte PCR selection does not fit tpm2-tools' %d", slattest.ErrMalformed, len(sel.PCRSelect), tssPCRSelectMax)
	}
	idx := tpm.SelectedPCRs(sel.PCRSelect)
	lists := (len(idx) + tssDigestsPerList - 1) / tssDigestsPerList
	out := make([]byte, 4+tssNumPCRBanks*tssPCRSelectionSz+4+lists*tssDigestListSize)
	binary.LittleEndian.PutUint32(out[0:], 1)
	binary.LittleEndian.PutUint16(out[4:], uint16(sel.Hash))
	out[6] = byte(len(sel.PCRSelect))
	copy(out[7:7+tssPCRSelectMax], sel.PCRSelect)
	off := 4 + tssNumPCRBanks*tssPCRSelectionSz
	binary.LittleEndian.PutUint32(out[off:], uint32(lists))
	off += 4
	for l := 0; l < lists; l++ {
		chunk := idx[l*tssDigestsPerList : min(len(idx), (l+1)*tssDigestsPerList)]
		binary.LittleEndian.PutUint32(out[off:], uint32(len(chunk)))
		for j, i := range chunk {
			v, ok := vals.Get(bank, i)
			if !ok || len(v) > 64 {
				return nil, fmt.Errorf("%w: no %s value for PCR %d", slattest.ErrMalformed, bank, i)
			}
			d := off + 4 + j*tssDigest2BSize
			binary.LittleEndian.PutUint16(out[d:], uint16(len(v)))
			copy(out[d+2:], v)
		}
		off += tssDigestListSize
	}
	return out, nil
}

// TPM2ToolsText is `slkit attest export`'s report: the n files written
// to dir, and the commands that check each quote there.
func TPM2ToolsText(n int, dir string, cmds []string) string {
	text := fmt.Sprintf("wrote %d files to %s; check each quote there with:\n", n, dir)
	for _, cmd := range cmds {
		text += "  " + cmd + "\n"
	}
	return text
}
