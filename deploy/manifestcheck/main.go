// Command manifestcheck validates shopd's deploy artifacts offline.
//
// It decodes every document of rendered Kubernetes manifests (helm template
// output, the Argo CD Application) strictly into the typed Kubernetes API
// structs — an unknown or misspelt field, a wrong type or a bad quantity is
// an error — and then checks what shopd's chart promises: probes, a
// restrictive securityContext, resources and GOMEMLIMIT, a grace period that
// covers the drain, selectors that match, no "latest" images. With
// -dockerfile it lints the Dockerfile instead.
//
// It is its own Go module so that the shopd module never depends on the
// Kubernetes libraries.
//
//	manifestcheck [-expect Kind=N,…] FILE…
//	manifestcheck -dockerfile deploy/Dockerfile
//
// Exit status 1 when anything fails, with one line per problem.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("manifestcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dockerfile := fs.String("dockerfile", "", "lint this Dockerfile instead of manifests")
	expect := fs.String("expect", "", "comma-separated Kind=N: exact count of documents of each kind named")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dockerfile != "" {
		b, err := os.ReadFile(*dockerfile)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		problems := checkDockerfile(string(b))
		return report(stdout, stderr, *dockerfile, problems, "Dockerfile OK")
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: manifestcheck [-expect Kind=N,…] FILE… | manifestcheck -dockerfile FILE")
		return 2
	}
	want, err := parseExpect(*expect)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	status := 0
	for _, path := range fs.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(stderr, err)
			status = 1
			continue
		}
		set, problems := checkManifests(b)
		problems = append(problems, set.checkCounts(want)...)
		if report(stdout, stderr, path, problems, set.summary()) != 0 {
			status = 1
		}
	}
	return status
}

func report(stdout, stderr io.Writer, path string, problems []string, ok string) int {
	if len(problems) == 0 {
		fmt.Fprintf(stdout, "%s: %s\n", path, ok)
		return 0
	}
	for _, p := range problems {
		fmt.Fprintf(stderr, "%s: %s\n", path, p)
	}
	fmt.Fprintf(stderr, "%s: %d problem(s)\n", path, len(problems))
	return 1
}

func parseExpect(s string) (map[string]int, error) {
	want := map[string]int{}
	if s == "" {
		return want, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.Atoi(v)
		if !ok || k == "" || err != nil || n < 0 {
			return nil, fmt.Errorf("-expect: %q is not Kind=N", kv)
		}
		want[k] = n
	}
	return want, nil
}

func (s *manifestSet) summary() string {
	counts := map[string]int{}
	for _, d := range s.docs {
		counts[d.kind]++
	}
	kinds := make([]string, 0, len(counts))
	for k, n := range counts {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(kinds)
	return fmt.Sprintf("%d documents OK (%s)", len(s.docs), strings.Join(kinds, ", "))
}

func (s *manifestSet) checkCounts(want map[string]int) []string {
	var problems []string
	kinds := make([]string, 0, len(want))
	for k := range want {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		got := 0
		for _, d := range s.docs {
			if d.kind == k {
				got++
			}
		}
		if got != want[k] {
			problems = append(problems, fmt.Sprintf("expected %d %s document(s), rendered %d", want[k], k, got))
		}
	}
	return problems
}
