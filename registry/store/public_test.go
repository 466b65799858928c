package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// The public pages' reads: logged attestations newest first by log index, paged with a
// cursor, revoked ones marked and unlogged ones left out; a provider's models newest first,
// paged; a search by hash prefix; the anchor that covers a log entry; a model file with its
// provider's name. A cursor the store did not make is ErrBadCursor.
func TestPublicReads(t *testing.T) {
	openEach(t, func(t *testing.T, s *Store, _ Options) {
		ctx := context.Background()
		base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		const n = 7
		var shas []string
		for i := range n {
			provider := "acme"
			if i%2 == 1 {
				provider = "bolt"
			}
			sha := seed(t, s, provider, byte('a'+i))
			shas = append(shas, sha)
			at := base.Add(time.Duration(i) * time.Second)
			if err := s.InTx(ctx, func(tx *Tx) error {
				// models.created_at orders a provider's models.
				if err := tx.db.Model(&Model{}).Where("sha256 = ?", sha).Update("created_at", at).Error; err != nil {
					return err
				}
				sub := submission(fmt.Sprintf("sub_%d", i), provider, sha)
				sub.Status = StatusLogged
				if err := tx.Create(ctx, sub); err != nil {
					return err
				}
				a := &Attestation{ID: hex64(byte('A' + i)), SubmissionID: sub.ID, ModelSHA256: sha, ProviderID: provider,
					Envelope: []byte("{}"), Leaf: []byte{1}, KeyID: "k", IssuedAt: at}
				if i != n-1 { // the newest is not in the log yet
					idx := int64(i)
					a.LogIndex = &idx
				}
				return tx.Create(ctx, a)
			}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.InTx(ctx, func(tx *Tx) error {
			return tx.Create(ctx, &Revocation{ID: hex64('R'), AttestationID: hex64('A' + 2), Reason: "bad", Envelope: []byte("{}"), Leaf: []byte{1}, RevokedAt: base})
		}); err != nil {
			t.Fatal(err)
		}

		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			page, next, err := s.PublicAttestations(ctx, Page{Limit: 4, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page {
				got = append(got, m.SHA256)
				if m.Revoked() != (m.SHA256 == shas[2]) || m.AttestationID == nil || m.Name != m.ProviderID+".json" || m.ProviderName != m.ProviderID {
					t.Errorf("attestation row %+v", m)
				}
			}
			if next == "" {
				break
			}
			cursor = next
			if pages > 3 {
				t.Fatal("pages never end")
			}
		}
		want := []string{shas[5], shas[4], shas[3], shas[2], shas[1], shas[0]}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("public attestations %v, want %v", got, want)
		}

		got = nil
		cursor = ""
		for {
			page, next, err := s.ProviderModels(ctx, "acme", Page{Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page {
				got = append(got, m.SHA256)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if want := []string{shas[6], shas[4], shas[2], shas[0]}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("acme's models %v, want %v", got, want)
		}

		for _, bad := range []string{"forged", encodeCursor("x"), encodeCursor("-1")} {
			if _, _, err := s.PublicAttestations(ctx, Page{Cursor: bad}); !errors.Is(err, ErrBadCursor) {
				t.Errorf("attestations with cursor %q: %v", bad, err)
			}
		}
		if _, _, err := s.ProviderModels(ctx, "acme", Page{Cursor: encodeCursor("12")}); !errors.Is(err, ErrBadCursor) {
			t.Errorf("provider models with a cursor of another list: %v", err)
		}

		m, err := s.ModelsByPrefix(ctx, shas[3][:10], 10)
		if err != nil || len(m) != 1 || m[0].SHA256 != shas[3] || m[0].ProviderID != "bolt" {
			t.Errorf("models by prefix: %+v %v", m, err)
		}
		if m, err := s.ModelsByPrefix(ctx, "0123456789", 10); err != nil || len(m) != 0 {
			t.Errorf("models by an unknown prefix: %+v %v", m, err)
		}

		if _, err := s.AnchorCovering(ctx, 3); !errors.Is(err, ErrNotFound) {
			t.Errorf("anchor with none: %v", err)
		}
		if err := s.InTx(ctx, func(tx *Tx) error {
			for _, a := range []*Anchor{{TreeSize: 2, Root: "r", Checkpoint: "c", Status: AnchorAccepted},
				{TreeSize: 5, Root: "r", Checkpoint: "c", Status: AnchorSubmitted}, {TreeSize: 9, Root: "r", Checkpoint: "c", Status: AnchorAccepted}} {
				if err := tx.Create(ctx, a); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for index, size := range map[int64]int64{0: 2, 1: 2, 3: 9, 8: 9} {
			if a, err := s.AnchorCovering(ctx, index); err != nil || a.TreeSize != size {
				t.Errorf("anchor covering %d: %+v %v, want size %d", index, a, err, size)
			}
		}
		if _, err := s.AnchorCovering(ctx, 9); !errors.Is(err, ErrNotFound) {
			t.Errorf("anchor covering an entry past every anchor: %v", err)
		}

		f, err := s.PublicModelFile(ctx, shas[1], "bolt")
		if err != nil || string(f.Body) != "{}" || f.ProviderName != "bolt" {
			t.Errorf("model file: %+v %v", f, err)
		}
		if f, err := s.PublicModelFile(ctx, shas[1], "nobody"); err != nil || f.ProviderName != "" {
			t.Errorf("model file of an unknown provider: %+v %v", f, err)
		}
		if _, err := s.PublicModelFile(ctx, hex64('9'), "bolt"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown model file: %v", err)
		}
	})
}
