package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain name":             "plain name",
		"evil\u202Egnp.exe":      "evil[U+202E]gnp.exe",
		"\u2066iso\u2069":        "[U+2066]iso[U+2069]",
		"a\u200Fb\u061Cc\u200Ed": "a[U+200F]b[U+061C]c[U+200E]d",
		"bell\a tab\t nl\n":      "bell[U+0007] tab\t nl\n",
		"العربية":                "العربية", // right-to-left letters stay; <bdi> isolates them
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseCheckpoint(t *testing.T) {
	note := "example.org/log\n42\nq83vEjRWeJ+rze8SNFZ4mg==\n\n— example.org/log AAAA\n— witness.example BBBB\n— other.witness CCCC\n"
	cp := parseCheckpoint([]byte(note), "example.org/log")
	if cp.Origin != "example.org/log" || cp.Size != 42 || cp.RootHash != "q83vEjRWeJ+rze8SNFZ4mg==" || cp.Witnesses != 2 || len(cp.Signatures) != 3 || cp.Note != note {
		t.Errorf("checkpoint %+v", cp)
	}
}

func TestLooseDistance(t *testing.T) {
	ws := []weightRow{{"a", 3}, {"b", -4}} // norm 5
	for _, c := range []struct {
		bound string
		want  string
	}{
		{"0.01", ""},
		{"5", ""},
		{"5.54179e+09", "larger than the weights themselves (their Euclidean norm is 5)"},
		{"", ""},
		{"not a number", ""},
	} {
		got := looseDistance(c.bound, ws)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("bound %q: %q, want %q", c.bound, got, c.want)
		}
	}
}

func TestChart(t *testing.T) {
	c := newChart([]weightRow{{"a", 2}, {"b", -1}, {"c", 0}})
	if len(c.Bars) != 3 || c.Bars[0].Negative || !c.Bars[1].Negative {
		t.Fatalf("bars %+v", c.Bars)
	}
	// The largest weight fills its half; the others are to scale; a zero weight is a hairline.
	a, b, z := c.Bars[0], c.Bars[1], c.Bars[2]
	if a.X != c.ZeroX || b.X+b.W != c.ZeroX || a.W != 2*b.W || z.W != 1 || a.X+a.W > c.Width || b.X < c.LabelX {
		t.Errorf("geometry: zero %g, bars %+v", c.ZeroX, c.Bars)
	}
	if newChart(nil) != nil {
		t.Error("a chart of no weights")
	}
}

// A site built without the registry's reads (as other pages' tests build it) serves the
// search form and answers 404 for records.
func TestPublicWithoutRecords(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for path, status := range map[string]int{
		"/": 200, "/?q=" + strings.Repeat("ab", 4): 200, "/?q=zz": 400, "/?q=" + strings.Repeat("0", 64): 303,
		"/models/" + strings.Repeat("0", 64): 404, "/providers/acme-legal": 404, "/log": 200,
	} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != status {
			t.Errorf("GET %s: %d, want %d", path, w.Code, status)
		}
	}
}
