package lint

import (
	"encoding/json"
	"fmt"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"io"
	"strings"
)

// flagsFile is the file shown for findings that concern a command-line flag.
const flagsFile = "(flags)"

// WriteText writes findings like a compiler, one a line and grouped by file:
//
//	path: Kind/name: field: error: message [rule]
//
// followed by a summary line.
func WriteText(w io.Writer, findings []layout.Finding, files, objects int) error {
	var b strings.Builder
	for _, f := range findings {
		file := f.File
		if file == "" {
			file = flagsFile
		}
		parts := []string{file}
		if f.Kind != "" {
			parts = append(parts, f.Kind+"/"+f.Name)
		}
		if f.Field != "" {
			parts = append(parts, f.Field)
		}
		fmt.Fprintf(&b, "%s: %s: %s [%s]\n", strings.Join(parts, ": "), f.Severity, f.Message, rule(f))
	}
	errs := Errors(findings)
	fmt.Fprintf(&b, "%s, %s in %s (%s)\n",
		plural(errs, "error"), plural(len(findings)-errs, "warning"), plural(files, "file"), plural(objects, "object"))
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes findings as a JSON array (empty when clean).
func WriteJSON(w io.Writer, findings []layout.Finding) error {
	if findings == nil {
		findings = []layout.Finding{}
	}
	data, err := json.MarshalIndent(findings, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// rule names the rule of a finding; field checks of a layout have none.
func rule(f layout.Finding) string {
	if f.Rule == "" {
		return "layout"
	}
	return f.Rule
}
