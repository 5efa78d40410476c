package config_test

import (
	"fmt"

	"github.com/batonhq/baton/internal/config"
)

// ExampleLoad loads the built-in defaults with two settings from the
// environment, one through an older alias.
func ExampleLoad() {
	env := map[string]string{
		"BATON_COMMON_SESSION_TTL": "3",
		"ROOT_COORD_ADDRESS":       "10.0.0.5:53100",
	}
	lookup := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	c, err := config.Load("", lookup)
	if err != nil {
		fmt.Println(err)
		return
	}
	rc, _ := c.Coord(config.RoleRootCoord)
	fmt.Println(c.Common.SessionTTL, rc.Address, rc.Port)
	// Output: 3s 10.0.0.5 53100
}
