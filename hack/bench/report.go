package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
)

// Row is one figure of the report.
type Row struct {
	// Cores is how many CPUs the machine has.
	Cores int `json:"cores"`
	// Scenario names the scenario.
	Scenario string `json:"scenario"`
	// Params are the scenario's parameters, "nodes=1000 frameworks=10".
	Params string `json:"params"`
	// Measure says what the figure is.
	Measure string `json:"measure"`
	// Value is the figure.
	Value float64 `json:"value"`
	// Unit is its unit.
	Unit string `json:"unit"`
	// Target is the target, empty when the figure has none.
	Target string `json:"target,omitempty"`
	// Met says whether the target was met; nil when there is none.
	Met *bool `json:"met,omitempty"`
	// Note says what else matters (an error, a skipped part).
	Note string `json:"note,omitempty"`
}

// Report collects rows.
type Report struct {
	// MasterFlags are the flags every master ran with beyond its data dir and
	// port, "--memory-limit 3584Mi".
	MasterFlags string `json:"masterFlags,omitempty"`
	Rows        []Row  `json:"rows"`
}

// add appends a row with the machine's cores.
func (r *Report) add(row Row) {
	row.Cores = runtime.NumCPU()
	r.Rows = append(r.Rows, row)
	fmt.Fprintf(os.Stderr, "bench: %s %s: %s = %s %s %s\n", row.Scenario, row.Params, row.Measure, formatValue(row.Value), row.Unit, row.Note)
}

// fail records that a scenario could not run.
func (r *Report) fail(scenario, params string, err error) {
	r.add(Row{Scenario: scenario, Params: params, Measure: "error", Note: err.Error()})
}

// target returns a row's target and whether v meets it: below for "<",
// at least for ">=".
func target(text string, v float64, limit float64, below bool) (string, *bool) {
	met := v >= limit
	if below {
		met = v < limit
	}
	return text, &met
}

// Print writes the table.
func (r *Report) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CORES\tSCENARIO\tPARAMETERS\tMEASURE\tFIGURE\tUNIT\tTARGET\tMET\tNOTE")
	for _, row := range r.Rows {
		met := ""
		if row.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*row.Met]
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Cores, row.Scenario, row.Params, row.Measure,
			formatValue(row.Value), row.Unit, row.Target, met, strings.ReplaceAll(row.Note, "\n", " "))
	}
	tw.Flush()
	if r.MasterFlags != "" {
		fmt.Fprintf(w, "\nevery master ran with %s\n", r.MasterFlags)
	}
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func formatValue(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
