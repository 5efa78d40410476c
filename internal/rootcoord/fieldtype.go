package rootcoord

import (
	"fmt"
	"sort"
	"strings"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
)

const fieldTypePrefix = "FIELD_TYPE_"

// FieldTypeName returns the short lower-case name of a field type, such as
// "float_vector".
func FieldTypeName(t batonv1.FieldType) string {
	return strings.ToLower(strings.TrimPrefix(t.String(), fieldTypePrefix))
}

// ParseFieldType parses a short field type name, case-insensitively.
func ParseFieldType(name string) (batonv1.FieldType, error) {
	v, ok := batonv1.FieldType_value[fieldTypePrefix+strings.ToUpper(name)]
	if !ok || v == 0 {
		return 0, fmt.Errorf("%w: unknown field type %q; use one of %s", ErrInvalid, name,
			FieldTypeNames())
	}
	return batonv1.FieldType(v), nil
}

// FieldTypeNames lists the accepted short names.
func FieldTypeNames() string {
	var names []string
	for v := range batonv1.FieldType_name {
		if v != 0 {
			names = append(names, FieldTypeName(batonv1.FieldType(v)))
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
