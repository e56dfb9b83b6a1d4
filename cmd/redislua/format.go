package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
)

// formats are lint's -format values.
var formats = map[string]func(io.Writer, []problem) error{
	"text":  writeText,
	"json":  writeJSON,
	"sarif": writeSARIF,
}

// writeText prints one problem a line.
func writeText(w io.Writer, ps []problem) error {
	for _, p := range ps {
		if _, err := fmt.Fprintln(w, p.String()); err != nil {
			return err
		}
	}
	return nil
}

// writeJSON prints the problems as one JSON array, [] when there are none.
func writeJSON(w io.Writer, ps []problem) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ps)
}

// The parts of a SARIF 2.1.0 log that code-scanning tools read.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID               string    `json:"id"`
		ShortDescription sarifText `json:"shortDescription"`
		HelpURI          string    `json:"helpUri"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID    string          `json:"ruleId"`
		RuleIndex int             `json:"ruleIndex"`
		Level     string          `json:"level"`
		Message   sarifText       `json:"message"`
		Locations []sarifLocation `json:"locations"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           *sarifRegion  `json:"region,omitempty"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn"`
	}
)

const (
	sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"
	checksDoc   = "https://github.com/redislua/redislua/blob/main/docs/checks.md"
)

// writeSARIF prints the problems as a SARIF 2.1.0 log with one run: the
// rules are the IDs found, sorted; each result points at its file (a
// relative URI with forward slashes) and, when known, line and column.
func writeSARIF(w io.Writer, ps []problem) error {
	index := map[string]int{}
	var ids []string
	for _, p := range ps {
		if _, ok := index[p.ID]; !ok {
			index[p.ID] = 0
			ids = append(ids, p.ID)
		}
	}
	sort.Strings(ids)
	rules := make([]sarifRule, len(ids))
	for i, id := range ids {
		index[id] = i
		rules[i] = sarifRule{ID: id, ShortDescription: sarifText{"redislua check " + id}, HelpURI: checksDoc}
	}
	results := make([]sarifResult, len(ps))
	for i, p := range ps {
		loc := sarifPhysical{ArtifactLocation: sarifArtifact{URI: filepath.ToSlash(p.File)}}
		if p.Line > 0 {
			loc.Region = &sarifRegion{StartLine: p.Line, StartColumn: max(p.Column, 1)}
		}
		results[i] = sarifResult{RuleID: p.ID, RuleIndex: index[p.ID], Level: p.Severity,
			Message: sarifText{p.Message}, Locations: []sarifLocation{{loc}}}
	}
	log := sarifLog{Schema: sarifSchema, Version: "2.1.0", Runs: []sarifRun{{
		Tool:    sarifTool{sarifDriver{Name: "redislua", Version: version(), InformationURI: "https://github.com/redislua/redislua", Rules: rules}},
		Results: results,
	}}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}
