package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Every command's help is in one style: a Short that is a capitalised sentence without a
// final period, a Long that starts as a sentence, an Example for every command that runs, and
// flag usages that pflag prints as the writer meant (no back-quoted word taken for the type,
// one default).
func TestHelpStyle(t *testing.T) {
	backQuoted := regexp.MustCompile("`[^`]*`")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := c.CommandPath()
		if r := []rune(c.Short); len(r) == 0 || !unicode.IsUpper(r[0]) || strings.HasSuffix(c.Short, ".") {
			t.Errorf("%s: Short %q is not a capitalised sentence without a final period", path, c.Short)
		}
		if r := []rune(c.Long); len(r) > 0 && !unicode.IsUpper(r[0]) {
			t.Errorf("%s: Long %q does not start as a sentence", path, c.Long[:min(len(c.Long), 40)])
		}
		if !c.HasSubCommands() && strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s: no Example", path)
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if backQuoted.MatchString(f.Usage) {
				t.Errorf("%s --%s: usage %q has a back-quoted word, which pflag shows as the type", path, f.Name, f.Usage)
			}
			if strings.Contains(f.Usage, "(default") && f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
				t.Errorf("%s --%s: usage %q states a default beside pflag's (default %s)", path, f.Name, f.Usage, f.DefValue)
			}
		})
		for _, sub := range c.Commands() {
			if sub.Name() != "help" && sub.Name() != "completion" {
				walk(sub)
			}
		}
	}
	walk(newRootCmd())
}

// Counts in the commands' output agree with their number: "1 chunk", not "1 chunks".
func TestOutputPlurals(t *testing.T) {
	dir := t.TempDir()
	data := writeFile(t, dir, "data.csv", "a,y\n1,2\n3,4\n5,7\n")
	code, out, errOut := runComet(t, "dataset", "commit", data, "--label", "y", "--salt-file", filepath.Join(dir, "s.salt"), "--out", filepath.Join(dir, "m.json"))
	if code != 0 || !strings.Contains(out, "committed 3 rows × 1 feature (") || !strings.Contains(out, "1 chunk of 8 rows") {
		t.Errorf("commit: exit %d\n%s%s", code, out, errOut)
	}
}
