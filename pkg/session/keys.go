package session

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Keys is the etcd key layout under one root path.
type Keys struct {
	root string
}

// NewKeys returns the layout under rootPath (for example "by-dev").
func NewKeys(rootPath string) Keys { return Keys{root: strings.Trim(rootPath, "/")} }

// Root returns the root path.
func (k Keys) Root() string { return k.root }

// Prefix returns the folder holding every session, counter and ACTIVE key,
// with a trailing slash.
func (k Keys) Prefix() string { return path.Join(k.root, "meta", "session") + "/" }

// Counter returns the server ID counter key.
func (k Keys) Counter() string { return k.Prefix() + "id" }

// Session returns the key of one process's session.
func (k Keys) Session(role string, id ServerID) string {
	return k.Prefix() + role + "-" + strconv.FormatInt(int64(id), 10)
}

// Active returns the ACTIVE key of a role.
func (k Keys) Active(role string) string { return k.Prefix() + role }

// Parse classifies a key under Prefix: a session key yields its role and
// server ID; an ACTIVE key yields its role and a zero ID; the counter and
// foreign keys yield ok == false and zero values. Only the exact keys that
// Session and Active produce are recognised.
func (k Keys) Parse(key string) (role string, id ServerID, ok bool) {
	rest, found := strings.CutPrefix(key, k.Prefix())
	if !found {
		return "", 0, false
	}
	role, num, isSession := strings.Cut(rest, "-")
	if validRole(role) != nil {
		return "", 0, false
	}
	if !isSession {
		return role, 0, true
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != num {
		return "", 0, false
	}
	return role, ServerID(n), true
}

func validRole(role string) error {
	if role == "" || role == "id" {
		return fmt.Errorf("session: role %q is not allowed; use a name such as rootcoord", role)
	}
	for _, r := range role {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return fmt.Errorf("session: role %q: use lower-case letters, digits and _ only", role)
		}
	}
	return nil
}
