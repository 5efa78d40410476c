// Package machine describes the machine a benchmark runs on, so that every
// harness prints the same facts beside its figures.
package machine

import (
	"bufio"
	"os"
	"runtime"
	"strings"
	"time"
)

// Info is where a benchmark ran. Fields that cannot be read (no /proc) are
// "unknown".
type Info struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	Kernel     string `json:"kernel"`
	Date       string `json:"date"`
	LoadStart  string `json:"loadStart"` // 1, 5 and 15 minute load averages
	LoadEnd    string `json:"loadEnd,omitempty"`
}

// Read describes this machine now; LoadEnd is left for the caller.
func Read() Info {
	return Info{
		CPU:        cpuModel(),
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Go:         runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		Kernel:     firstLine("/proc/sys/kernel/osrelease"),
		Date:       time.Now().UTC().Format(time.RFC3339),
		LoadStart:  LoadAverage(),
	}
}

// LoadAverage returns the 1, 5 and 15 minute load averages.
func LoadAverage() string {
	f := strings.Fields(firstLine("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// cpuModel reads the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if key, val, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(val)
		}
	}
	return "unknown"
}

func firstLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}
