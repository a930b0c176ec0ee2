package attest

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Summary says in one line what the evidence written to out holds: the
// nonce, the EK certificate's NV index, the banks quoted over pcrs (as
// given), the logs read (ReadLogs' names) and the activation secret.
func (e *Evidence) Summary(out, pcrs string, logs []string) string {
	banks := make([]string, len(e.Quotes))
	for i, q := range e.Quotes {
		banks[i] = q.Bank.String()
	}
	cert := "no EK certificate in NV"
	if e.EK.Certificate != nil {
		cert = fmt.Sprintf("EK certificate from NV %#x", e.EK.NVIndex)
	}
	logList := "no event log"
	if len(logs) > 0 {
		logList = "logs " + strings.Join(logs, ", ")
	}
	s := fmt.Sprintf("evidence in %s: nonce %s; %s; quotes %s over PCR %s; %s", out, hex.EncodeToString(e.Nonce), cert, strings.Join(banks, ", "), pcrs, logList)
	if e.Activation != nil {
		s += "; activation secret included"
	}
	return s + "\n"
}
