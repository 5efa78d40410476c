package deploy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"
)

// This file renders the Helm chart without Helm, which is not installed
// where these tests run: Go's text/template with the few Helm and Sprig
// functions the chart uses, written here with Helm's semantics. It is no
// substitute for `helm lint` and `helm template`, but it catches template
// syntax errors, missing values, bad indentation and wrong wiring.

// release describes the install being rendered.
type release struct {
	Name, Namespace string
	values          map[string]any // merged over values.yaml
}

// chartDir is the chart under test.
const chartDir = "helm/baton"

// renderChart renders every template of the chart for rel and returns the
// output of each file by its path under templates/ (NOTES.txt included).
func renderChart(t *testing.T, rel release) map[string]string {
	t.Helper()
	out, err := tryRenderChart(rel)
	if err != nil {
		t.Fatalf("render %s for release %q: %v", chartDir, rel.Name, err)
	}
	return out
}

func tryRenderChart(rel release) (map[string]string, error) {
	// 1. Values: the chart's, with the release's merged over them.
	values := readYAML(filepath.Join(chartDir, "values.yaml"))
	mergeInto(values, rel.values)
	chart := readYAML(filepath.Join(chartDir, "Chart.yaml"))

	// 2. Every template in one set, so that defines are shared.
	paths, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil {
		return nil, err
	}
	root := template.New("chart").Option("missingkey=zero")
	root.Funcs(helmFuncs(root))
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		name := filepath.ToSlash(filepath.Join("baton", "templates", filepath.Base(p)))
		if _, err := root.New(name).Parse(string(src)); err != nil {
			return nil, err
		}
	}

	// 3. Render each file that is not a partial (_*.tpl).
	out := map[string]string{}
	for _, p := range paths {
		base := filepath.Base(p)
		if strings.HasPrefix(base, "_") {
			continue
		}
		name := "baton/templates/" + base
		data := map[string]any{
			"Values": values,
			"Release": map[string]any{"Name": rel.Name, "Namespace": rel.Namespace,
				"Service": "Helm"},
			"Chart": map[string]any{"Name": chart["name"], "Version": chart["version"],
				"AppVersion": chart["appVersion"]},
			"Template": map[string]any{"Name": name, "BasePath": "baton/templates"},
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return nil, err
		}
		out[base] = strings.ReplaceAll(buf.String(), "<no value>", "")
	}
	return out, nil
}

// helmFuncs returns the Helm and Sprig functions the chart uses.
func helmFuncs(root *template.Template) template.FuncMap {
	return template.FuncMap{
		"include": func(name string, data any) (string, error) {
			var buf bytes.Buffer
			err := root.ExecuteTemplate(&buf, name, data)
			return buf.String(), err
		},
		"fail":     func(msg string) (string, error) { return "", errors.New(msg) },
		"required": required,
		"toYaml":   toYAML,
		"fromYaml": func(s string) (map[string]any, error) {
			m := map[string]any{}
			err := yaml.Unmarshal([]byte(s), &m)
			return m, err
		},
		"nindent":    func(n int, s string) string { return "\n" + indent(n, s) },
		"indent":     indent,
		"quote":      func(v any) string { return fmt.Sprintf("%q", toString(v)) },
		"toString":   toString,
		"default":    func(def, v any) any { return orDefault(def, v) },
		"trunc":      func(n int, s string) string { return s[:min(n, len(s))] },
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"replace":    func(old, nu, s string) string { return strings.ReplaceAll(s, old, nu) },
		"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
		"list":       func(vs ...any) []any { return vs },
		"append":     func(l []any, v any) []any { return append(append([]any{}, l...), v) },
		"join":       join,
		"until":      until,
		"int":        toInt,
		"dict":       dict,
		"has":        has,
		"hasKey":     func(m map[string]any, k string) bool { _, ok := m[k]; return ok },
		"dig":        dig,
		"sha256sum": func(s string) string {
			sum := sha256.Sum256([]byte(s))
			return hex.EncodeToString(sum[:])
		},
	}
}

func required(msg string, v any) (any, error) {
	if v == nil || v == "" {
		return nil, errors.New(msg)
	}
	return v, nil
}

// toYAML is Helm's toYaml: YAML without the final newline.
func toYAML(v any) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

func toString(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// orDefault is Sprig's default: def when v is empty.
func orDefault(def, v any) any {
	if v == nil {
		return def
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Map:
		if rv.Len() == 0 {
			return def
		}
	case reflect.Bool:
		if !rv.Bool() {
			return def
		}
	case reflect.Int, reflect.Int64, reflect.Float64:
		if rv.IsZero() {
			return def
		}
	}
	return v
}

func join(sep string, l any) string {
	var parts []string
	rv := reflect.ValueOf(l)
	for i := 0; rv.IsValid() && i < rv.Len(); i++ {
		parts = append(parts, toString(rv.Index(i).Interface()))
	}
	return strings.Join(parts, sep)
}

func until(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case float64:
		return int(x), nil
	case nil:
		return 0, nil
	}
	return 0, fmt.Errorf("int: cannot convert %T %v", v, v)
}

func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("dict: odd number of arguments")
	}
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[toString(kv[i])] = kv[i+1]
	}
	return m, nil
}

func has(needle any, l []any) bool {
	for _, v := range l {
		if reflect.DeepEqual(v, needle) {
			return true
		}
	}
	return false
}

// dig is Sprig's dig: keys..., default, map.
func dig(args ...any) (any, error) {
	if len(args) < 3 {
		return nil, errors.New("dig: want keys, a default and a map")
	}
	m, ok := args[len(args)-1].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("dig: last argument is a %T, not a map", args[len(args)-1])
	}
	def := args[len(args)-2]
	var cur any = m
	for _, k := range args[:len(args)-2] {
		cm, ok := cur.(map[string]any)
		if !ok {
			return def, nil
		}
		if cur, ok = cm[toString(k)]; !ok {
			return def, nil
		}
	}
	return cur, nil
}

// readYAML reads a YAML mapping; it panics on error, as only the
// repository's own files are read.
func readYAML(path string) map[string]any {
	src, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(src, &m); err != nil {
		panic(fmt.Sprintf("%s: %v", path, err))
	}
	return m
}

// mergeInto merges src into dst, maps key by key, other values replaced.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		sm, ok := v.(map[string]any)
		dm, ok2 := dst[k].(map[string]any)
		if ok && ok2 {
			mergeInto(dm, sm)
			continue
		}
		dst[k] = v
	}
}

// manifests splits rendered files into YAML documents, each decoded, and
// fails the test on a document that is not valid YAML.
func manifests(t *testing.T, files map[string]string) []map[string]any {
	t.Helper()
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var docs []map[string]any
	for _, name := range names {
		if name == "NOTES.txt" {
			continue
		}
		dec := yaml.NewDecoder(strings.NewReader(files[name]))
		for {
			doc := map[string]any{}
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: not valid YAML: %v\n%s", name, err, files[name])
			}
			if len(doc) > 0 {
				docs = append(docs, doc)
			}
		}
	}
	return docs
}
