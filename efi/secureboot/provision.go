package secureboot

import (
	"fmt"
	"path/filepath"
	"time"
)

// Provisioned is a key set written to a directory together with the
// signed writes that enrol it (`slkit efi keygen --secure-boot`).
type Provisioned struct {
	Dir        string
	Set        *KeySet
	Enrollment *Enrollment
	Time       time.Time
}

// Provision makes a new key set at time now, writes it to dir (Write:
// keys 0600, never replacing one) and its enrolment with timestamp now
// (Enroll, WriteDir), db holding also the certificates in the PEM or DER
// files dbCerts (LoadCert).
func Provision(dir string, now time.Time, dbCerts ...string) (*Provisioned, error) {
	var extra [][]byte
	for _, f := range dbCerts {
		cert, err := LoadCert(f)
		if err != nil {
			return nil, err
		}
		extra = append(extra, cert.Raw)
	}
	ks, err := GenerateKeySet(now)
	if err != nil {
		return nil, err
	}
	if err := ks.Write(dir); err != nil {
		return nil, err
	}
	en, err := ks.Enroll(now, extra...)
	if err != nil {
		return nil, err
	}
	if err := en.WriteDir(dir); err != nil {
		return nil, err
	}
	return &Provisioned{Dir: dir, Set: ks, Enrollment: en, Time: now}, nil
}

// Text says what was written, one line per enrolment write.
func (p *Provisioned) Text() string {
	s := fmt.Sprintf("wrote PK, KEK and db keys (0600) and certificates to %s, owner %s\n", p.Dir, p.Set.Owner)
	for _, w := range p.Enrollment.Writes {
		s += fmt.Sprintf("  %s: %s (timestamp %s UTC)\n", w.Var.Name, filepath.Join(p.Dir, EnrollFile(w.Var)), p.Time.UTC().Format(time.DateTime))
	}
	return s
}
