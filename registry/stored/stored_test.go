package stored_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/registry/stored"
)

// signed is a real attestation envelope, as the registry stores it, and its predicate.
func signed(t testing.TB) ([]byte, *statement.Training) {
	t.Helper()
	k, err := keys.Generate("stored-test")
	if err != nil {
		t.Fatal(err)
	}
	subj, tr := attesttest.Sample(7)
	env, _, err := attesttest.SignWith(context.Background(), k, subj, tr)
	if err != nil {
		t.Fatal(err)
	}
	b, err := envelope.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := envelope.ParsePayload(b)
	if err != nil {
		t.Fatal(err)
	}
	_, strict, err := statement.ParseTraining(payload)
	if err != nil {
		t.Fatal(err)
	}
	return b, strict
}

func TestTrainingAgreesWithTheStrictParse(t *testing.T) {
	env, want := signed(t)
	got, err := stored.Training(env)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lean decode\n%+v\nstrict parse\n%+v", got, want)
	}
	if got.Featurizer == nil || got.Featurizer.Name != "hashing" {
		t.Fatalf("featurizer %+v", got.Featurizer)
	}
}

func TestBadStoredEnvelopesNameWhatIsWrong(t *testing.T) {
	env, _ := signed(t)
	for _, tc := range []struct {
		name string
		env  []byte
		read func([]byte) error
		want string
	}{
		{"not JSON", []byte("{"), training, "attestation envelope"},
		{"other payload type", []byte(strings.Replace(string(env), envelope.PayloadType, "text/plain", 1)), training, "payload type"},
		{"training read as an evaluation", env, evaluation, "predicate type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.read(tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
			if tc.want == "predicate type" && !errors.Is(err, statement.ErrInvalid) {
				t.Fatalf("error %v is not statement.ErrInvalid", err)
			}
		})
	}
}

func training(b []byte) error   { _, err := stored.Training(b); return err }
func evaluation(b []byte) error { _, err := stored.Evaluation(b); return err }

// BenchmarkTraining: the lean decode a lookup does against the strict parse it replaces,
// on the same real envelope.
func BenchmarkTraining(b *testing.B) {
	env, _ := signed(b)
	b.Run("stored", func(b *testing.B) {
		for b.Loop() {
			if _, err := stored.Training(env); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strict", func(b *testing.B) {
		for b.Loop() {
			payload, err := envelope.ParsePayload(env)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := statement.ParseTraining(payload); err != nil {
				b.Fatal(err)
			}
		}
	})
}
