package session

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestKeysLayout(t *testing.T) {
	tests := []struct {
		root, prefix string
	}{
		{"by-dev", "by-dev/meta/session/"},
		{"/by-dev/", "by-dev/meta/session/"},
		{"a/b", "a/b/meta/session/"},
		{"", "meta/session/"},
	}
	for _, tt := range tests {
		k := NewKeys(tt.root)
		if got := k.Prefix(); got != tt.prefix {
			t.Errorf("NewKeys(%q).Prefix() = %q, want %q", tt.root, got, tt.prefix)
		}
		if got, want := k.Counter(), tt.prefix+"id"; got != want {
			t.Errorf("NewKeys(%q).Counter() = %q, want %q", tt.root, got, want)
		}
		if got, want := k.Session("rootcoord", 42), tt.prefix+"rootcoord-42"; got != want {
			t.Errorf("NewKeys(%q).Session = %q, want %q", tt.root, got, want)
		}
		if got, want := k.Active("rootcoord"), tt.prefix+"rootcoord"; got != want {
			t.Errorf("NewKeys(%q).Active = %q, want %q", tt.root, got, want)
		}
	}
}

func TestKeysParse(t *testing.T) {
	k := NewKeys("by-dev")
	p := k.Prefix()
	tests := []struct {
		name string
		key  string
		role string
		id   ServerID
		ok   bool
	}{
		{"session", p + "rootcoord-7", "rootcoord", 7, true},
		{"session with underscore", p + "data_coord2-12345", "data_coord2", 12345, true},
		{"active", p + "rootcoord", "rootcoord", 0, true},
		{"counter", p + "id", "", 0, false},
		{"prefix itself", p, "", 0, false},
		{"other root", "other/meta/session/rootcoord-7", "", 0, false},
		{"nested", p + "rootcoord/x", "", 0, false},
		{"nested session", p + "a/rootcoord-7", "", 0, false},
		{"no id", p + "rootcoord-", "", 0, false},
		{"zero id", p + "rootcoord-0", "", 0, false},
		{"negative id", p + "rootcoord--3", "", 0, false},
		{"plus sign", p + "rootcoord-+3", "", 0, false},
		{"leading zero", p + "rootcoord-07", "", 0, false},
		{"not a number", p + "rootcoord-abc", "", 0, false},
		{"too large", p + "rootcoord-99999999999999999999", "", 0, false},
		{"dash in role", p + "root-coord-7", "", 0, false},
		{"upper case", p + "RootCoord-7", "", 0, false},
		{"upper case active", p + "RootCoord", "", 0, false},
		{"no role", p + "-7", "", 0, false},
		{"role id", p + "id-7", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			role, id, ok := k.Parse(tt.key)
			if role != tt.role || id != tt.id || ok != tt.ok {
				t.Errorf("Parse(%q) = (%q, %d, %v), want (%q, %d, %v)",
					tt.key, role, id, ok, tt.role, tt.id, tt.ok)
			}
		})
	}
}

func TestKeysParseRoundTrip(t *testing.T) {
	k := NewKeys("r")
	for _, role := range []string{"rootcoord", "querycoord", "a", "x_1"} {
		for _, id := range []ServerID{1, 9, 10, 1 << 40} {
			got, gotID, ok := k.Parse(k.Session(role, id))
			if !ok || got != role || gotID != id {
				t.Errorf("Parse(Session(%q, %d)) = (%q, %d, %v)", role, id, got, gotID, ok)
			}
		}
		if got, id, ok := k.Parse(k.Active(role)); !ok || got != role || id != 0 {
			t.Errorf("Parse(Active(%q)) = (%q, %d, %v)", role, got, id, ok)
		}
	}
}

func TestValidRole(t *testing.T) {
	tests := []struct {
		role string
		ok   bool
	}{
		{"rootcoord", true},
		{"data_coord2", true},
		{"", false},
		{"id", false},
		{"Rootcoord", false},
		{"root-coord", false},
		{"root/coord", false},
		{"root coord", false},
		{"rootcoördinator", false},
	}
	for _, tt := range tests {
		if err := validRole(tt.role); (err == nil) != tt.ok {
			t.Errorf("validRole(%q) = %v, want ok=%v", tt.role, err, tt.ok)
		}
	}
}

func TestRoundTTL(t *testing.T) {
	tests := []struct {
		in, want time.Duration
	}{
		{-5 * time.Second, time.Second},
		{0, time.Second},
		{time.Nanosecond, time.Second},
		{time.Second, time.Second},
		{time.Second + time.Nanosecond, 2 * time.Second},
		{1500 * time.Millisecond, 2 * time.Second},
		{2 * time.Second, 2 * time.Second},
		{10 * time.Second, 10 * time.Second},
		{59*time.Second + time.Millisecond, 60 * time.Second},
	}
	for _, tt := range tests {
		if got := roundTTL(tt.in); got != tt.want {
			t.Errorf("roundTTL(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSafetyMargin(t *testing.T) {
	tests := []struct {
		ttl, want time.Duration
	}{
		{time.Second, 150 * time.Millisecond},
		{2 * time.Second, 200 * time.Millisecond},
		{10 * time.Second, 600 * time.Millisecond},
		{18 * time.Second, time.Second},
		{60 * time.Second, time.Second},
	}
	for _, tt := range tests {
		got := safetyMargin(tt.ttl)
		if got != tt.want {
			t.Errorf("safetyMargin(%v) = %v, want %v", tt.ttl, got, tt.want)
		}
		// The margin must leave most of the TTL usable and never exceed it.
		if got <= 0 || got >= tt.ttl/2 {
			t.Errorf("safetyMargin(%v) = %v: not within (0, ttl/2)", tt.ttl, got)
		}
	}
}

func TestDecodeInfo(t *testing.T) {
	info, err := DecodeInfo("k", []byte(`{"serverID":3,"role":"rootcoord","address":"a:1"}`))
	if err != nil || info.ServerID != 3 || info.Role != "rootcoord" || info.Address != "a:1" {
		t.Fatalf("DecodeInfo = %+v, %v", info, err)
	}
	if _, err := DecodeInfo("the/key", []byte("{")); err == nil ||
		!errors.Is(err, ErrBadInfo) || !strings.Contains(err.Error(), "the/key") {
		t.Fatalf("DecodeInfo of bad JSON = %v; want ErrBadInfo naming the key", err)
	}
}
