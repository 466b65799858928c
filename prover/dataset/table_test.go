package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestReadAll(t *testing.T) {
	tab, err := ReadAll(t.Context(), strings.NewReader("id,a,b,y\nx,1,2,3\nz,4,5,6\n"), Options{Label: "y", Exclude: []string{"id"}, Format: q16})
	if err != nil {
		t.Fatal(err)
	}
	one := q16.One()
	if tab.N != 2 || tab.D != 2 || tab.Label != "y" || tab.Format != q16 || len(tab.Values) != 6 {
		t.Fatalf("table %+v", tab)
	}
	row := tab.Row(1)
	if row[0] != 4*one || row[1] != 5*one || row[2] != 6*one {
		t.Errorf("Row(1) = %v", row)
	}
	if cap(row) != 3 {
		t.Errorf("Row(1) has capacity %d: appending to it would overwrite the next row", cap(row))
	}
	if _, err := ReadAll(t.Context(), strings.NewReader("a,y\n"), Options{Label: "y", Format: q16}); !errors.Is(err, ErrNoRows) {
		t.Errorf("header only: %v, want ErrNoRows", err)
	}
}

// cancelAfter cancels a context once more than n bytes have been read through it.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= k; c.n < 0 {
		c.cancel()
	}
	return k, err
}

func TestReadAllCancel(t *testing.T) {
	const rows = 100_000
	var sb strings.Builder
	sb.WriteString("a,y\n")
	for i := range rows {
		fmt.Fprintf(&sb, "%d,%d\n", i, i)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if _, err := ReadAll(ctx, &cancelAfter{r: strings.NewReader(sb.String()), n: 10_000, cancel: cancel}, Options{Label: "y", Format: q16}); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadAll after cancel: %v, want context.Canceled", err)
	} else {
		t.Log(err)
	}
	if _, err := ReadAll(ctx, strings.NewReader("a,y\n1,2\n"), Options{Label: "y", Format: q16}); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadAll with a cancelled context: %v", err)
	}
}
