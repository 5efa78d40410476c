package rootcoord

import (
	"errors"
	"strings"
	"testing"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
)

func TestValidateCollection(t *testing.T) {
	pk := &batonv1.FieldSchema{Name: "id", Type: batonv1.FieldType_FIELD_TYPE_INT64, PrimaryKey: true}
	vec := &batonv1.FieldSchema{Name: "v", Type: batonv1.FieldType_FIELD_TYPE_FLOAT_VECTOR, Dim: 128}
	f := func(name string, typ batonv1.FieldType, dim int64) *batonv1.FieldSchema {
		return &batonv1.FieldSchema{Name: name, Type: typ, Dim: dim}
	}
	tests := []struct {
		name    string
		req     *batonv1.CreateCollectionRequest
		wantErr string // substring; empty means valid
	}{
		{"ok", &batonv1.CreateCollectionRequest{Name: "books", Fields: []*batonv1.FieldSchema{pk, vec}}, ""},
		{"underscore start", &batonv1.CreateCollectionRequest{Name: "_b1", Fields: []*batonv1.FieldSchema{vec}}, ""},
		{"empty name", &batonv1.CreateCollectionRequest{Name: "", Fields: []*batonv1.FieldSchema{vec}}, "name is empty"},
		{"too long", &batonv1.CreateCollectionRequest{Name: strings.Repeat("a", 256), Fields: []*batonv1.FieldSchema{vec}}, "limit is 255"},
		{"bad char", &batonv1.CreateCollectionRequest{Name: "my-books", Fields: []*batonv1.FieldSchema{vec}}, `'-' at position 3`},
		{"digit first", &batonv1.CreateCollectionRequest{Name: "1books", Fields: []*batonv1.FieldSchema{vec}}, "position 1"},
		{"no fields", &batonv1.CreateCollectionRequest{Name: "b"}, "0 fields"},
		{"unknown type", &batonv1.CreateCollectionRequest{Name: "b", Fields: []*batonv1.FieldSchema{vec, f("x", 77, 0)}}, "unknown type 77"},
		{"unspecified type", &batonv1.CreateCollectionRequest{Name: "b", Fields: []*batonv1.FieldSchema{vec, f("x", 0, 0)}}, "unknown type 0"},
		{"vector without dim", &batonv1.CreateCollectionRequest{Name: "b", Fields: []*batonv1.FieldSchema{f("v", batonv1.FieldType_FIELD_TYPE_FLOAT_VECTOR, 0)}}, "has no dimension"},
		{"dim too big", &batonv1.CreateCollectionRequest{Name: "b", Fields: []*batonv1.FieldSchema{f("v", batonv1.FieldType_FIELD_TYPE_FLOAT_VECTOR, MaxDim+1)}}, "dimension 32769"},
		{"binary dim", &batonv1.CreateCollectionRequest{Name: "b", Fields: []*batonv1.FieldSchema{f("v", batonv1.FieldType_FIELD_TYPE_BINARY_VECTOR, 12)}}, "multiple of 8"},
		{"dim on scalar", &batonv1.CreateCollectionRequest{Name: "b", Fields: []*batonv1.FieldSchema{vec, f("x", batonv1.FieldType_FIELD_TYPE_INT32, 4)}}, "only vector fields"},
		{"duplicate field", &batonv1.CreateCollectionRequest{Name: "b", Fields: []*batonv1.FieldSchema{vec, vec}}, "used twice"},
		{"no vector", &batonv1.CreateCollectionRequest{Name: "b", Fields: []*batonv1.FieldSchema{pk}}, "no vector field"},
		{"two pks", &batonv1.CreateCollectionRequest{Name: "b", Fields: []*batonv1.FieldSchema{pk, vec, {Name: "k", Type: batonv1.FieldType_FIELD_TYPE_INT64, PrimaryKey: true}}}, "2 primary key"},
		{"float pk", &batonv1.CreateCollectionRequest{Name: "b", Fields: []*batonv1.FieldSchema{vec, {Name: "k", Type: batonv1.FieldType_FIELD_TYPE_FLOAT, PrimaryKey: true}}}, "int64 or varchar"},
		{"bad field name", &batonv1.CreateCollectionRequest{Name: "b", Fields: []*batonv1.FieldSchema{vec, f("a b", batonv1.FieldType_FIELD_TYPE_BOOL, 0)}}, "field name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateCollection(tt.req)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want ErrInvalid containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseFieldType(t *testing.T) {
	for _, name := range []string{"int64", "FLOAT_VECTOR", "varchar", "binary_vector"} {
		ft, err := ParseFieldType(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.EqualFold(FieldTypeName(ft), name) {
			t.Errorf("%s round-trips to %s", name, FieldTypeName(ft))
		}
	}
	if _, err := ParseFieldType("vector"); err == nil || !strings.Contains(err.Error(), "float_vector") {
		t.Fatalf("unknown type error should list the valid ones: %v", err)
	}
}

func TestComposeParseTS(t *testing.T) {
	ts := ComposeTS(1_700_000_000_123, 42)
	phys, logical := ParseTS(ts)
	if phys.UnixMilli() != 1_700_000_000_123 || logical != 42 {
		t.Fatalf("round trip gave %v, %d", phys.UnixMilli(), logical)
	}
}
