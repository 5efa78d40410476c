// Package config loads and validates Baton's configuration.
//
// # Sources and precedence
//
// Load builds a Config from three layers, each overriding the one before:
//
//  1. Default(), the built-in values.
//  2. A YAML file of nested sections (etcd, common, log, rootCoord,
//     dataCoord, queryCoord). configs/baton.yaml lists every key with its
//     default, its environment variable and what it does.
//  3. The environment. Every key has a variable named BATON_ followed by the
//     key upper-cased with dots turned into underscores: common.session.ttl
//     is BATON_COMMON_SESSION_TTL. A few older names are accepted as
//     aliases: ETCD_ENDPOINTS, ROOT_COORD_ADDRESS (host:port, setting both
//     rootCoord.address and rootCoord.port), ROOT_COORD_ENABLE_ACTIVE_STANDBY
//     and the same for DATA_COORD_ and QUERY_COORD_. Aliases are applied
//     before the BATON_ variables, so for any one key a BATON_ variable wins
//     over an alias; with ROOT_COORD_ADDRESS=h:1 and BATON_ROOTCOORD_PORT=2
//     the address is h and the port 2.
//
// A variable set to the empty string counts as unset.
//
// rootCoord.enableActiveStandby is an older spelling of
// rootCoord.activeStandby.enabled (likewise for the other roles). If one
// source (the file, or the BATON_ variables) sets both spellings, they must
// agree.
//
// # Values
//
// Durations are Go duration strings ("10s", "500ms", "1m30s") or a bare
// number of seconds ("10", "2.5"). Booleans are true/false, 1/0 or yes/no in
// any case. etcd.endpoints is a YAML list or a comma-separated string.
//
// # Errors
//
// Load refuses, rather than ignores, anything it does not understand: an
// unknown key at any depth of the file, a BATON_ variable that names no key,
// a value of the wrong type, a YAML syntax error, a missing file. It reports
// every problem it finds at once (joined with errors.Join), each wrapping one
// of the package's sentinel errors and naming the key, where it was set and
// what to do. Load validates the result; a Config changed after Load should
// be checked again with Validate.
//
// Unknown BATON_ variables are found by listing the process environment
// (os.Environ) and keeping the names that lookupEnv also reports as set, so
// a map-backed lookupEnv hides the process environment entirely.
//
// No function in this package panics on any input.
package config
