package policy

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"reflect"
	"testing"
)

// FuzzParsePolicy: Parse never panics, fails only with ErrMalformed, and a
// document it accepts re-marshals to one it parses to the same policy.
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(validDoc))
	f.Add([]byte(`{"version":1,"entries":[{"name":"a","kernel":{"path":"/k","sha256":"` + sha1hex + `"},"cmdline":"","profile":"p"}]}`))
	f.Add([]byte(`{"version":1,"entries":[{"name":"a","name":"b"}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1e0,"entries":[]}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]`))
	f.Add([]byte(`{"version":1,"entries":[{"name":"a","kernel":{"path":"/k","sha256":"` + sha1hex + `"},"initrd":null,"cmdline":"\u0000","profile":"p"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted an invalid policy: %v", err)
		}
		m, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		p2, err := Parse(m)
		if err != nil {
			t.Fatalf("re-marshalled policy does not parse: %v\n%s", err, m)
		}
		if !reflect.DeepEqual(p, p2) {
			t.Fatalf("round trip changed the policy:\n%+v\n%+v", p, p2)
		}
	})
}

// FuzzVerifyEnvelope: ParseEnvelope never panics, round-trips what it
// accepts, and Verify accepts nothing but payloads that were really signed
// by the test key (the seeds), whatever the fuzzer does around them.
func FuzzVerifyEnvelope(f *testing.F) {
	key := testKey(3)
	pub := key.Public().(ed25519.PublicKey)
	signed, err := Sign([]byte(validDoc), key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	other, _ := Sign([]byte(validDoc), testKey(4))
	f.Add(other)
	f.Add([]byte(`{"payloadType":"` + PayloadType + `","payload":"e30=","signatures":[{"keyid":"","sig":"` +
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==" + `"}]}`))
	f.Add([]byte(`{"payloadType":"x","payload":"","signatures":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := ParseEnvelope(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			if _, verr := Verify(b, pub); verr == nil {
				t.Fatal("Verify accepted what ParseEnvelope refused")
			}
			return
		}
		m, err := env.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		env2, err := ParseEnvelope(m)
		if err != nil || !reflect.DeepEqual(env, env2) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, env, env2)
		}
		v, err := Verify(b, pub)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrSignature) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if !bytes.Equal(v.Payload, []byte(validDoc)) {
			t.Fatalf("verified a payload the key never signed: %q", v.Payload)
		}
	})
}

// FuzzParseKey: key parsers never panic, fail only with ErrMalformed, and
// a key they accept re-encodes to a file that parses to the same key.
func FuzzParseKey(f *testing.F) {
	k := testKey(5)
	kb, _ := MarshalPrivateKey(k)
	pb, _ := MarshalPublicKey(k.Public().(ed25519.PublicKey))
	f.Add(kb)
	f.Add(pb)
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if priv, err := ParsePrivateKey(b); err == nil {
			again, _ := MarshalPrivateKey(priv)
			if p2, err := ParsePrivateKey(again); err != nil || !p2.Equal(priv) {
				t.Fatalf("private key round trip: %v", err)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error not ErrMalformed: %v", err)
		}
		if pub, err := ParsePublicKey(b); err == nil {
			again, _ := MarshalPublicKey(pub)
			if p2, err := ParsePublicKey(again); err != nil || !p2.Equal(pub) {
				t.Fatalf("public key round trip: %v", err)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error not ErrMalformed: %v", err)
		}
	})
}
