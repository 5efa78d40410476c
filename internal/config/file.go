package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// schemaNode is one section or key of the file's layout, built from keys.
type schemaNode struct {
	path     string                 // dotted path; "" at the top level
	names    []string               // children in table order, for hints
	children map[string]*schemaNode // by name as written in the file
	key      *key                   // set on leaves only
}

// schema is the layout of the file.
var schema = buildSchema(keys)

// buildSchema arranges the dotted key names into a tree.
func buildSchema(ks []*key) *schemaNode {
	root := &schemaNode{children: map[string]*schemaNode{}}
	for _, k := range ks {
		n := root
		for _, part := range strings.Split(k.name, ".") {
			n = n.child(part)
		}
		n.key = k
	}
	return root
}

// child returns the child called name, adding it if it is new.
func (n *schemaNode) child(name string) *schemaNode {
	if c, ok := n.children[name]; ok {
		return c
	}
	c := &schemaNode{path: joinPath(n.path, name), children: map[string]*schemaNode{}}
	n.children[name] = c
	n.names = append(n.names, name)
	return c
}

// joinPath appends name to a dotted path.
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// fileSettings reads the YAML file at path and returns the settings it
// holds, or every problem found in it.
func fileSettings(path string) ([]setting, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: read file %s: %w; give an existing file or none",
			path, err)
	}
	root, err := parseYAML(path, data)
	if err != nil || root == nil {
		return nil, err
	}
	w := walker{file: path}
	w.mapping(schema, root)
	return w.settings, errors.Join(w.errs...)
}

// parseYAML decodes data into its top-level node, nil for an empty
// document. It refuses a second document and a top level that is not a
// mapping.
func parseYAML(path string, data []byte) (root *yaml.Node, err error) {
	defer func() {
		// The YAML parser is third-party code; turn a panic on hostile input
		// into an error so that Load never panics.
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("%w: %s: parser failed: %v", ErrSyntax, path, r)
		}
	}()

	// 1. The first document.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrSyntax, path, err)
	}

	// 2. No second document.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrSyntax, path, err)
		}
		return nil, fmt.Errorf("%w: %s: a second document starts at line %d; keep one",
			ErrSyntax, path, extra.Line)
	}

	// 3. The top level is a mapping of sections, or empty.
	if len(doc.Content) == 0 {
		return nil, nil
	}
	top := resolve(doc.Content[0])
	if isNull(top) {
		return nil, nil
	}
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: %s:%d: the top level must be a mapping of sections (%s), "+
			"not %s", ErrSyntax, path, top.Line, strings.Join(schema.names, ", "), kindOf(top))
	}
	return top, nil
}

// walker turns a file's nodes into settings, collecting every error.
type walker struct {
	file     string
	settings []setting
	errs     []error
}

// fail records an error about the node at line.
func (w *walker) fail(sentinel error, line int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	w.errs = append(w.errs, fmt.Errorf("%w: %s (%s:%d)", sentinel, msg, w.file, line))
}

// mapping walks a mapping node whose layout is s.
func (w *walker) mapping(s *schemaNode, n *yaml.Node) {
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		w.entry(s, resolve(n.Content[i]), resolve(n.Content[i+1]), seen)
	}
}

// entry walks one key and its value inside the section s.
func (w *walker) entry(s *schemaNode, k, v *yaml.Node, seen map[string]int) {
	if k.Kind != yaml.ScalarNode {
		w.fail(ErrSyntax, k.Line, "a key in %s is %s; keys must be plain names",
			sectionName(s), kindOf(k))
		return
	}
	path := joinPath(s.path, k.Value)
	if first, dup := seen[k.Value]; dup {
		w.fail(ErrSyntax, k.Line, "%q is set twice, first at line %d; keep one",
			clip(path), first)
		return
	}
	seen[k.Value] = k.Line

	child, ok := s.children[k.Value]
	if !ok {
		w.unknown(s, k)
		return
	}
	if child.key != nil {
		w.leaf(child.key, v)
		return
	}
	w.section(child, v)
}

// unknown records an unknown key k inside section s, with hints.
func (w *walker) unknown(s *schemaNode, k *yaml.Node) {
	hint := ""
	if near := suggest(k.Value, s.names); near != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", joinPath(s.path, near))
	}
	w.fail(ErrUnknownKey, k.Line, "%q%s; valid keys in %s: %s",
		clip(joinPath(s.path, k.Value)), hint, sectionName(s), strings.Join(s.names, ", "))
}

// section walks the value of a key that holds a section.
func (w *walker) section(s *schemaNode, v *yaml.Node) {
	switch {
	case isNull(v):
		// An empty section keeps every default.
	case v.Kind == yaml.MappingNode:
		w.mapping(s, v)
	default:
		w.fail(ErrBadValue, v.Line, "%s is %s; it must be a mapping with keys %s",
			s.path, kindOf(v), strings.Join(s.names, ", "))
	}
}

// leaf records the value v of key k.
func (w *walker) leaf(k *key, v *yaml.Node) {
	origin := fmt.Sprintf("%s:%d", w.file, v.Line)
	switch {
	case isNull(v):
		w.fail(ErrBadValue, v.Line, "%s has no value; set %s or delete the line",
			k.name, describe(k.field(new(Config))))
	case v.Kind == yaml.ScalarNode:
		w.settings = append(w.settings, setting{key: k, val: raw{text: v.Value, origin: origin}})
	case v.Kind == yaml.SequenceNode:
		w.list(k, v, origin)
	default:
		w.fail(ErrBadValue, v.Line, "%s is %s; expected %s",
			k.name, kindOf(v), describe(k.field(new(Config))))
	}
}

// list records a sequence value v of key k; its items must be scalars.
func (w *walker) list(k *key, v *yaml.Node, origin string) {
	items := make([]string, 0, len(v.Content))
	for i, item := range v.Content {
		item = resolve(item)
		if item.Kind != yaml.ScalarNode || isNull(item) {
			w.fail(ErrBadValue, item.Line, "item %d of %s is %s; expected a string",
				i+1, k.name, kindOf(item))
			return
		}
		items = append(items, item.Value)
	}
	val := raw{list: items, isList: true, origin: origin}
	w.settings = append(w.settings, setting{key: k, val: val})
}

// resolve follows an alias (*anchor) to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	if n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// isNull reports whether n is an empty or null scalar.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// kindOf names a node's kind for error messages.
func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "empty"
		}
		return fmt.Sprintf("the value %q", clip(n.Value))
	}
	return "not a plain value"
}

// sectionName names section s for messages: its path, or "the top level".
func sectionName(s *schemaNode) string {
	if s.path == "" {
		return "the top level"
	}
	return s.path
}
