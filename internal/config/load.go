package config

import (
	"errors"
	"fmt"
	"reflect"
)

// Load builds a config: defaults < YAML file (path may be "" for none) <
// environment. lookupEnv is os.LookupEnv in production, a map-backed func in
// tests; nil means an empty environment. See the package doc for the keys,
// the aliases and which setting wins.
//
// Load reports every problem it finds, joined, and validates the result. It
// returns a nil Config with any error.
func Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	return load(path, processEnv(lookupEnv))
}

// load is Load with the environment's BATON_ names already listed.
func load(path string, env environment) (*Config, error) {
	c := Default()
	var errs []error

	// 1. The file, over the defaults.
	if path != "" {
		ss, err := fileSettings(path)
		errs = append(errs, err, applyAll(c, ss))
	}

	// 2. Aliases, then BATON_ variables: a BATON_ variable wins over an
	// alias for the same key.
	aliases, err := aliasSettings(env)
	errs = append(errs, err, applyAll(c, aliases))
	vars, err := batonSettings(env)
	errs = append(errs, err, applyAll(c, vars))

	// 3. Only a config that was read cleanly is worth validating.
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// applyAll applies one source's settings to c in order. Two settings of the
// same source that reach the same field (the two spellings of the
// active-standby switch) must agree.
func applyAll(c *Config, ss []setting) error {
	var errs []error
	first := make(map[any]setting)
	for _, s := range ss {
		ptr := s.key.field(c)
		before := deref(ptr)
		if err := s.apply(c); err != nil {
			errs = append(errs, err)
			continue
		}
		prev, dup := first[ptr]
		if !dup {
			first[ptr] = s
			continue
		}
		if !reflect.DeepEqual(before, deref(ptr)) {
			errs = append(errs, conflict(prev, s))
		}
	}
	return errors.Join(errs...)
}

// deref returns the value ptr points to.
func deref(ptr any) any {
	return reflect.ValueOf(ptr).Elem().Interface()
}

// conflict returns the error for two settings of one source that disagree.
func conflict(a, b setting) error {
	return fmt.Errorf("%w: %s = %q (%s) and %s = %q (%s) set the same thing differently; "+
		"keep one of them", ErrConflict, a.key.name, clip(a.val.text), a.val.origin,
		b.key.name, clip(b.val.text), b.val.origin)
}
