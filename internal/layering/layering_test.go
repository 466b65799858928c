package layering

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/comet-attest/comet/"

// mayImport says which of the module's top-level folders each one may import (DESIGN.md's
// "knows of" column, plus internal/, which every layer shares).
var mayImport = map[string][]string{
	"prover":   {"prover", "internal"},
	"attest":   {"attest", "prover", "internal"},
	"chain":    {"chain", "internal"},
	"registry": {"registry", "attest", "prover", "chain", "internal"},
	"web":      {"web", "registry", "attest", "prover", "chain", "internal"},
	"internal": {"internal"},
	"cmd":      {"cmd", "web", "registry", "attest", "prover", "chain", "internal"},
}

// goList runs go list over the module with a template of one line per package.
func goList(t *testing.T, format string, patterns ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-e", "-f", format}, patterns...)...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var lines []string
	for s := bufio.NewScanner(bytes.NewReader(out)); s.Scan(); {
		lines = append(lines, s.Text())
	}
	return lines
}

func layer(pkg string) string {
	top, _, _ := strings.Cut(strings.TrimPrefix(pkg, module), "/")
	return top
}

func TestImportsPointDown(t *testing.T) {
	for _, line := range goList(t, `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`, module+"...") {
		fields := strings.Fields(line)
		from := layer(fields[0])
		allowed, ok := mayImport[from]
		if !ok {
			t.Errorf("%s: top-level folder %q is not in DESIGN.md's table", fields[0], from)
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			to := layer(imp)
			if !slices.Contains(allowed, to) {
				t.Errorf("%s imports %s: %s knows only of %v", fields[0], imp, from, allowed)
			}
		}
	}
}

// TestLibrariesLinkNoServer keeps what a client links small: neither the registry client nor
// the offline verifier may pull in the HTTP framework, the store, the job queue or SQLite,
// and the client not the prover either.
func TestLibrariesLinkNoServer(t *testing.T) {
	server := []string{"github.com/gin-gonic/", "gorm.io/", "github.com/riverqueue/", "github.com/mattn/go-sqlite3", "github.com/jackc/pgx", module + "registry/api", module + "registry/store", module + "registry/jobs", module + "registry/service"}
	for _, tc := range []struct {
		pkg       string
		forbidden []string
	}{
		{"registry/client", append(server, "github.com/consensys/gnark", module+"prover", module+"attest", module+"chain")},
		{"attest/verify", append(server, module+"registry", module+"chain")},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			deps := goList(t, `{{range .Deps}}{{.}}{{"\n"}}{{end}}`, module+tc.pkg)
			for _, d := range deps {
				for _, f := range tc.forbidden {
					if strings.HasPrefix(d, f) {
						t.Errorf("%s links %s", tc.pkg, d)
					}
				}
			}
			t.Logf("%s links %d packages", tc.pkg, len(deps))
		})
	}
}
