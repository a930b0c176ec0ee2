// Package policy is slkit's signed launch policy: a versioned JSON document
// listing the boot entries the pre-launch environment may launch (kernel
// and initrd paths with their SHA-256, command line, measurement profile,
// whether DRTM is required), signed with Ed25519 inside a DSSE envelope
// (in-toto Dead Simple Signing Envelope v1) whose signature covers the
// exact payload bytes, never re-serialized JSON.
//
// Everything here fails closed: a signature that does not verify under the
// given key, an envelope or document that is malformed in any way (unknown
// fields, duplicate keys, an unknown version, duplicate entry names, a hash
// that is not 64 lowercase hex digits) is an error.
package policy
