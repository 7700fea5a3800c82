package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

type instruction struct {
	line int
	cmd  string // upper case
	args string
}

// parseDockerfile splits a Dockerfile into instructions, joining lines
// continued with a backslash and dropping comments and blank lines.
func parseDockerfile(src string) []instruction {
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // comment inside a continued instruction
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\"))
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// checkDockerfile checks what shopd's image promises: pinned base images,
// a static CGO-free trimmed build, a distroless nonroot final stage with no
// shell commands, exec-form ENTRYPOINT/CMD, and OCI labels.
func checkDockerfile(src string) []string {
	ins := parseDockerfile(src)
	var p []string
	stages := 0
	finalStart := -1
	for i, in := range ins {
		if in.cmd == "FROM" {
			stages++
			finalStart = i
			fields := strings.Fields(in.args)
			image := ""
			for _, f := range fields {
				if !strings.HasPrefix(f, "--") {
					image = f
					break
				}
			}
			if image == "" {
				p = append(p, fmt.Sprintf("line %d: FROM without an image", in.line))
			} else if image != "scratch" && !strings.Contains(image, "@sha256:") {
				last := image[strings.LastIndex(image, "/")+1:]
				if _, tag, ok := strings.Cut(last, ":"); !ok || tag == "" || tag == "latest" {
					p = append(p, fmt.Sprintf("line %d: base image %q is not pinned to a tag or digest", in.line, image))
				}
			}
		}
		if in.cmd == "ADD" {
			p = append(p, fmt.Sprintf("line %d: use COPY, not ADD", in.line))
		}
		if in.cmd == "MAINTAINER" {
			p = append(p, fmt.Sprintf("line %d: MAINTAINER is deprecated, use a LABEL", in.line))
		}
	}
	if stages < 2 {
		p = append(p, "not a multi-stage build")
	}
	if finalStart < 0 {
		return append(p, "no FROM")
	}
	build := ins[:finalStart]
	final := ins[finalStart:]

	goBuild := false
	for _, in := range build {
		if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
			continue
		}
		goBuild = true
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-ldflags", "-s -w", "-X github.com/shopd/shopd.Version="} {
			if !strings.Contains(in.args, want) {
				p = append(p, fmt.Sprintf("line %d: go build lacks %s", in.line, want))
			}
		}
		if !strings.Contains(in.args, "--mount=type=cache,target=/go/pkg/mod") || !strings.Contains(in.args, "--mount=type=cache,target=/root/.cache/go-build") {
			p = append(p, fmt.Sprintf("line %d: go build without module and build cache mounts", in.line))
		}
	}
	if !goBuild {
		p = append(p, "no RUN … go build in the build stages")
	}

	if !strings.Contains(final[0].args, "gcr.io/distroless/static") || !strings.HasSuffix(strings.Fields(final[0].args)[0], ":nonroot") {
		p = append(p, fmt.Sprintf("line %d: final stage must be gcr.io/distroless/static…:nonroot", final[0].line))
	}
	var user, entrypoint, cmd, expose, labels string
	for _, in := range final {
		switch in.cmd {
		case "RUN":
			p = append(p, fmt.Sprintf("line %d: RUN in the final stage (distroless has no shell)", in.line))
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "CMD":
			cmd = in.args
		case "EXPOSE":
			expose = in.args
		case "LABEL":
			labels += " " + in.args
		}
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
		p = append(p, "final stage does not switch to a non-root USER")
	}
	for name, v := range map[string]string{"ENTRYPOINT": entrypoint, "CMD": cmd} {
		var argv []string
		if err := json.Unmarshal([]byte(v), &argv); err != nil || len(argv) == 0 {
			p = append(p, name+" is missing or not in exec (JSON) form, so signals would not reach shopd")
		}
	}
	if entrypoint != `["/shopd"]` {
		p = append(p, fmt.Sprintf(`ENTRYPOINT is %s, want ["/shopd"]`, entrypoint))
	}
	if expose == "" {
		p = append(p, "no EXPOSE in the final stage")
	}
	for _, l := range []string{"org.opencontainers.image.title", "org.opencontainers.image.source", "org.opencontainers.image.version", "org.opencontainers.image.revision", "org.opencontainers.image.created"} {
		if !strings.Contains(labels, l+"=") {
			p = append(p, "missing OCI label "+l)
		}
	}
	return p
}
