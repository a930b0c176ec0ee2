// Package bench holds benchmarks that compare slkit with other
// implementations measured in the same run (go-attestation's event-log
// parser). It is a separate module so that the comparison libraries do not
// become dependencies of slkit.
package bench
