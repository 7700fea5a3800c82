// Package api holds shopd's OpenAPI 3 document, the contract of the REST
// API. It is written as YAML files: openapi.yaml has the info and the shared
// components, and each module has its own file (markets.yaml, catalog.yaml,
// accounts.yaml, …) with its paths and schemas. JSON merges them.
package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"

	"sigs.k8s.io/yaml"
)

//go:embed *.yaml
var files embed.FS

// JSON returns the merged OpenAPI document as JSON. Two files that define the
// same path operation or component are an error.
func JSON() ([]byte, error) {
	names, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	doc := map[string]any{}
	for _, name := range names {
		b, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var part map[string]any
		if err := yaml.Unmarshal(b, &part); err != nil {
			return nil, fmt.Errorf("api: %s: %w", name, err)
		}
		if err := merge(doc, part, name); err != nil {
			return nil, err
		}
	}
	return json.Marshal(doc)
}

// merge adds src into dst, recursing into objects; a key defined twice with
// a non-object value is an error.
func merge(dst, src map[string]any, where string) error {
	for k, v := range src {
		old, exists := dst[k]
		if !exists {
			dst[k] = v
			continue
		}
		om, ok1 := old.(map[string]any)
		vm, ok2 := v.(map[string]any)
		if !ok1 || !ok2 {
			return fmt.Errorf("api: %s: %q is defined twice", where, k)
		}
		if err := merge(om, vm, where+"."+k); err != nil {
			return err
		}
	}
	return nil
}
