package envelope_test

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

func key(t testing.TB, name string) *keys.Signer {
	t.Helper()
	k, err := keys.Generate(name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const payload = `{"_type":"https://in-toto.io/Statement/v1"}`

func TestSignCoSignVerify(t *testing.T) {
	ctx := context.Background()
	reg, prov, stranger := key(t, "registry"), key(t, "provider"), key(t, "stranger")
	env, err := envelope.Sign(ctx, []byte(payload), reg)
	if err != nil {
		t.Fatal(err)
	}
	d1, err := envelope.Digest(env)
	if err != nil {
		t.Fatal(err)
	}
	co, err := envelope.CoSign(ctx, env, prov)
	if err != nil {
		t.Fatal(err)
	}
	if d2, _ := envelope.Digest(co); d2 != d1 {
		t.Fatal("co-signing changed the digest")
	}
	if len(env.Signatures) != 1 || len(co.Signatures) != 2 {
		t.Fatal("CoSign modified its input or did not add a signature")
	}
	signers, got, err := envelope.Verify(ctx, co, reg.Verifier(), prov.Verifier())
	if err != nil || string(got) != payload || len(signers) != 2 || signers[0].KeyID() != reg.KeyID() {
		t.Fatalf("Verify: %v %q %v", signers, got, err)
	}
	if _, _, err := envelope.Verify(ctx, co, stranger.Verifier()); !errors.Is(err, envelope.ErrSignature) {
		t.Fatalf("untrusted key: err = %v", err)
	}
	// Same payload, same key: Ed25519 is deterministic, so resubmission
	// gives the same envelope and digest.
	again, _ := envelope.Sign(ctx, []byte(payload), reg)
	if again.Signatures[0].Sig != env.Signatures[0].Sig {
		t.Fatal("signing is not deterministic")
	}
}

func TestParseRejects(t *testing.T) {
	ctx := context.Background()
	reg := key(t, "registry")
	env, err := envelope.Sign(ctx, []byte(payload), reg)
	if err != nil {
		t.Fatal(err)
	}
	good, err := envelope.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := envelope.Parse(good); err != nil {
		t.Fatal(err)
	}
	urlB64 := *env
	urlB64.Payload = base64.URLEncoding.EncodeToString([]byte("??>>" + payload))
	noKeyID := *env
	noKeyID.Signatures = []dsse.Signature{{Sig: env.Signatures[0].Sig}}
	cases := map[string]*dsse.Envelope{
		"payload type":       {PayloadType: "text/plain", Payload: env.Payload, Signatures: env.Signatures},
		"url-safe base64":    &urlB64,
		"no signatures":      {PayloadType: envelope.PayloadType, Payload: env.Payload},
		"signature no keyid": &noKeyID,
	}
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			raw, err := envelope.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := envelope.Parse(raw); !errors.Is(err, envelope.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
	for name, raw := range map[string]string{
		"unknown field": `{"payloadType":"application/vnd.in-toto+json","payload":"","signatures":[],"x":1}`,
		"trailing":      string(good) + "{}",
	} {
		if _, err := envelope.Parse([]byte(raw)); !errors.Is(err, envelope.ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	reg := key(f, "registry")
	env, err := envelope.Sign(context.Background(), []byte(payload), reg)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := envelope.Marshal(env)
	f.Add(good)
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"a+00000000","sig":""}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := envelope.Parse(b)
		if err != nil {
			return
		}
		if _, err := envelope.Digest(e); err != nil {
			t.Fatalf("parsed envelope has no digest: %v", err)
		}
		// Verification of arbitrary input must fail cleanly, never panic.
		if _, _, err := envelope.Verify(context.Background(), e, reg.Verifier()); err == nil && string(b) != string(good) {
			if p, _ := envelope.Payload(e); string(p) != payload {
				t.Fatalf("forged envelope verified: %s", b)
			}
		}
	})
}
