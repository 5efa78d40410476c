package rootcoord

import (
	"errors"
	"fmt"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
)

// Limits on collection schemas.
const (
	MaxNameLength        = 255
	MaxDescriptionLength = 2048
	MaxFields            = 64
	MaxDim               = 32768
	DefaultMaxLength     = 65535
	MaxRequestIDLength   = 128
)

// ErrInvalid is returned for a request that breaks a schema rule.
var ErrInvalid = errors.New("rootcoord: invalid request")

// ValidateName checks a collection or field name.
func ValidateName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: %s name is empty", ErrInvalid, what)
	case len(name) > MaxNameLength:
		return fmt.Errorf("%w: %s name is %d characters long; the limit is %d",
			ErrInvalid, what, len(name), MaxNameLength)
	}
	for i, r := range name {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_'
		if letter || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return fmt.Errorf("%w: %s name %q has %q at position %d; use letters, digits and _, "+
			"starting with a letter or _", ErrInvalid, what, name, r, i+1)
	}
	return nil
}

func validateRequestID(id string) error {
	if len(id) > MaxRequestIDLength {
		return fmt.Errorf("%w: request_id is %d bytes long; the limit is %d",
			ErrInvalid, len(id), MaxRequestIDLength)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return fmt.Errorf("%w: request_id has byte 0x%02x at position %d; use printable ASCII "+
				"without spaces", ErrInvalid, id[i], i+1)
		}
	}
	return nil
}

func isVector(t batonv1.FieldType) bool {
	return t == batonv1.FieldType_FIELD_TYPE_FLOAT_VECTOR ||
		t == batonv1.FieldType_FIELD_TYPE_BINARY_VECTOR
}

// ValidateCollection checks a create request and fills in defaults.
func ValidateCollection(req *batonv1.CreateCollectionRequest) error {
	if err := ValidateName("collection", req.GetName()); err != nil {
		return err
	}
	if len(req.GetDescription()) > MaxDescriptionLength {
		return fmt.Errorf("%w: description is %d bytes; the limit is %d", ErrInvalid,
			len(req.GetDescription()), MaxDescriptionLength)
	}
	if err := validateRequestID(req.GetRequestId()); err != nil {
		return err
	}
	fields := req.GetFields()
	if len(fields) == 0 || len(fields) > MaxFields {
		return fmt.Errorf("%w: collection %q has %d fields; give 1 to %d, one of them a vector",
			ErrInvalid, req.GetName(), len(fields), MaxFields)
	}
	seen := map[string]bool{}
	var pks, vectors int
	for _, f := range fields {
		if err := validateField(f); err != nil {
			return err
		}
		if seen[f.GetName()] {
			return fmt.Errorf("%w: field name %q is used twice", ErrInvalid, f.GetName())
		}
		seen[f.GetName()] = true
		if f.GetPrimaryKey() {
			pks++
		}
		if isVector(f.GetType()) {
			vectors++
		}
	}
	if pks > 1 {
		return fmt.Errorf("%w: %d primary key fields; mark at most one", ErrInvalid, pks)
	}
	if vectors == 0 {
		return fmt.Errorf("%w: collection %q has no vector field; add a float_vector "+
			"field with a dimension", ErrInvalid, req.GetName())
	}
	return nil
}

func validateField(f *batonv1.FieldSchema) error {
	if err := ValidateName("field", f.GetName()); err != nil {
		return err
	}
	t := f.GetType()
	if _, known := batonv1.FieldType_name[int32(t)]; !known || t == batonv1.FieldType_FIELD_TYPE_UNSPECIFIED {
		return fmt.Errorf("%w: field %q has unknown type %d; use one of %s", ErrInvalid,
			f.GetName(), int32(t), FieldTypeNames())
	}
	if err := validateDim(f); err != nil {
		return err
	}
	if f.GetPrimaryKey() && t != batonv1.FieldType_FIELD_TYPE_INT64 &&
		t != batonv1.FieldType_FIELD_TYPE_VARCHAR {
		return fmt.Errorf("%w: primary key field %q is %s; it must be int64 or varchar",
			ErrInvalid, f.GetName(), FieldTypeName(t))
	}
	if t != batonv1.FieldType_FIELD_TYPE_VARCHAR && f.GetMaxLength() != 0 {
		return fmt.Errorf("%w: field %q: max_length applies to varchar only", ErrInvalid, f.GetName())
	}
	if ml := f.GetMaxLength(); ml < 0 || ml > DefaultMaxLength {
		return fmt.Errorf("%w: field %q: max_length %d; give 1 to %d", ErrInvalid, f.GetName(),
			ml, DefaultMaxLength)
	}
	return nil
}

func validateDim(f *batonv1.FieldSchema) error {
	t, dim := f.GetType(), f.GetDim()
	switch {
	case isVector(t) && dim == 0:
		return fmt.Errorf("%w: vector field %q has no dimension; set dim (1 to %d)",
			ErrInvalid, f.GetName(), MaxDim)
	case isVector(t) && (dim < 0 || dim > MaxDim):
		return fmt.Errorf("%w: vector field %q has dimension %d; give 1 to %d",
			ErrInvalid, f.GetName(), dim, MaxDim)
	case t == batonv1.FieldType_FIELD_TYPE_BINARY_VECTOR && dim%8 != 0:
		return fmt.Errorf("%w: binary vector field %q has dimension %d; it must be a multiple of 8",
			ErrInvalid, f.GetName(), dim)
	case !isVector(t) && dim != 0:
		return fmt.Errorf("%w: field %q is %s; only vector fields take a dimension",
			ErrInvalid, f.GetName(), FieldTypeName(t))
	}
	return nil
}
