package layout

import (
	"fmt"
	"strings"
)

// Severity says how much a finding matters: an error makes a layout or manifest unusable, a
// warning is advice, a note only informs.
type Severity string

// Severities of a Finding.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Finding is one problem or note, and where it is. Every door reports findings of this one
// type: layout validation, the post-renderer and KRM function, lint, fn --verify and status.
type Finding struct {
	Severity Severity `json:"severity"`
	// Rule names the rule that found it (e.g. "scheduler-shared"), or "" for a field check.
	Rule string `json:"rule,omitempty"`
	Location
	Message string `json:"message"`
}

// Location says where a finding is: a field of a layout, a field of an object in a file, or
// both (an object of a release and the layout field that would settle it).
type Location struct {
	// File is the file the object or layout was read from, or "".
	File string `json:"file"`
	// APIVersion, Kind, Name and Namespace identify the object, when the finding is about one.
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace"`
	// Field is the path of the field in that object, e.g. spec.template.spec.containers[0].command.
	Field string `json:"field"`
	// Layout is the path of the SidekiqLayout field, e.g. spec.workers[2].queues[0].
	Layout string `json:"layoutField,omitempty"`
	// ChartValue is the chart value that sets the field, e.g. mastodon.sidekiq.workers[1].queues.
	ChartValue string `json:"chartValue,omitempty"`
}

// Object names the object of a location, `Kind/name`, or "".
func (l Location) Object() string {
	if l.Kind == "" {
		return ""
	}
	return l.Kind + "/" + l.Name
}

// String names the location for a message: `spec.workers[0].queues[1]`, or
// `Deployment/x (in file.yaml)`.
func (l Location) String() string {
	switch {
	case l.Kind != "" && l.File != "":
		return fmt.Sprintf("%s (in %s)", l.Object(), l.File)
	case l.Kind != "":
		return l.Object()
	case l.Layout != "":
		return l.Layout
	}
	return l.Field
}

// String renders a finding as `field: message (Kind name; chart value v)`: the layout field
// when it has one, then the message, then the object and the chart value that sets it.
func (f Finding) String() string {
	var b strings.Builder
	if p := f.Layout; p != "" {
		b.WriteString(p + ": ")
	} else if f.Kind == "" && f.Field != "" {
		b.WriteString(f.Field + ": ")
	}
	b.WriteString(f.Message)
	switch {
	case f.Kind != "" && f.ChartValue != "":
		fmt.Fprintf(&b, " (%s %s; chart value %s)", f.Kind, f.Name, f.ChartValue)
	case f.Kind != "":
		fmt.Fprintf(&b, " (%s %s)", f.Kind, f.Name)
	case f.ChartValue != "":
		fmt.Fprintf(&b, " (chart value %s)", f.ChartValue)
	}
	return b.String()
}

// Report is what validation found.
type Report struct {
	Findings []Finding
}

// Errors returns the findings of severity error.
func (r Report) Errors() []Finding { return r.of(Error) }

// Warnings returns the findings of severity warning.
func (r Report) Warnings() []Finding { return r.of(Warning) }

func (r Report) of(s Severity) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity == s {
			out = append(out, f)
		}
	}
	return out
}

// HasErrors reports whether any error was found.
func (r Report) HasErrors() bool { return len(r.Errors()) > 0 }

// Err returns the errors as one error, one finding a line, or nil.
func (r Report) Err() error {
	errs := r.Errors()
	if len(errs) == 0 {
		return nil
	}
	return &FindingsError{Findings: errs}
}

// FindingsError carries every error of a layout or a transformation.
type FindingsError struct{ Findings []Finding }

func (e *FindingsError) Error() string {
	if len(e.Findings) == 1 {
		return e.Findings[0].String()
	}
	lines := make([]string, len(e.Findings))
	for i, f := range e.Findings {
		lines[i] = "\n  " + f.String()
	}
	return fmt.Sprintf("%d problems:%s", len(e.Findings), strings.Join(lines, ""))
}
