package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad writes arbitrary bytes as the YAML file, and an arbitrary string
// into a few variables, and checks that Load never panics and that whatever
// it accepts is valid.
func FuzzLoad(f *testing.F) {
	shipped, err := os.ReadFile(shippedFile)
	if err != nil {
		f.Fatal(err)
	}
	seeds := []string{
		string(shipped),
		"",
		"etcd:\n  rootPath: [a\n",
		"a: &x\n  b: *x\n",
		"rootCoord:\n  port: 99999999999999999999\n",
		"common:\n  session:\n    ttl: 1e309\n",
		"? [a]\n: b\n",
		"etcd: {endpoints: [*a]}\n",
		"---\n---\n",
		"\x00\xff",
	}
	for _, s := range seeds {
		f.Add([]byte(s), "10")
	}
	f.Add([]byte("log: {level: debug}\n"), "[::1]:80")

	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, value string) {
		path := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		env := mapEnv(map[string]string{
			"BATON_COMMON_SESSION_TTL": value,
			"ROOT_COORD_ADDRESS":       value,
			"BATON_ETCD_ENDPOINTS":     value,
		})
		c, err := load(path, env)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("load accepted a config that Validate refuses: %v", verr)
			}
		}
	})
}
