package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// good is a minimal set that passes every check; each case below breaks it
// in one place.
const good = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shopd-api
  labels: {app.kubernetes.io/name: shopd, app.kubernetes.io/instance: r, app.kubernetes.io/managed-by: Helm}
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: shopd, app.kubernetes.io/component: api}
  template:
    metadata:
      labels: {app.kubernetes.io/name: shopd, app.kubernetes.io/component: api}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 35
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: shopd
          image: ghcr.io/shopd/shopd:0.1.0
          ports: [{name: http, containerPort: 8080}]
          env:
            - {name: SHOPD_DRAIN_DELAY, value: 5s}
            - {name: SHOPD_DRAIN_TIMEOUT, value: 20s}
            - {name: GOMEMLIMIT, value: 460MiB}
          startupProbe: {httpGet: {path: /livez, port: http}}
          livenessProbe: {httpGet: {path: /livez, port: http}}
          readinessProbe: {httpGet: {path: /readyz, port: http}}
          lifecycle: {preStop: {sleep: {seconds: 5}}}
          resources:
            requests: {cpu: 250m, memory: 256Mi}
            limits: {memory: 512Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
          volumeMounts: [{name: tmp, mountPath: /tmp}]
      volumes: [{name: tmp, emptyDir: {}}]
---
# a template that rendered nothing
---
apiVersion: v1
kind: Service
metadata:
  name: shopd
  labels: {app.kubernetes.io/name: shopd, app.kubernetes.io/instance: r, app.kubernetes.io/managed-by: Helm}
spec:
  selector: {app.kubernetes.io/name: shopd, app.kubernetes.io/component: api}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: shopd-api
  labels: {app.kubernetes.io/name: shopd, app.kubernetes.io/instance: r, app.kubernetes.io/managed-by: Helm}
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {app.kubernetes.io/component: api}
`

func TestGoodManifestsPass(t *testing.T) {
	set, problems := checkManifests([]byte(good))
	if len(problems) != 0 {
		t.Fatalf("problems in the good set:\n%s", strings.Join(problems, "\n"))
	}
	if got := set.summary(); got != "3 documents OK (Deployment=1, PodDisruptionBudget=1, Service=1)" {
		t.Errorf("summary = %q", got)
	}
	if p := set.checkCounts(map[string]int{"Deployment": 1, "HorizontalPodAutoscaler": 0}); len(p) != 0 {
		t.Errorf("checkCounts: %v", p)
	}
	if p := set.checkCounts(map[string]int{"HorizontalPodAutoscaler": 1}); len(p) != 1 || p[0] != "expected 1 HorizontalPodAutoscaler document(s), rendered 0" {
		t.Errorf("checkCounts = %v", p)
	}
}

func TestBrokenManifestsFail(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{"unknown field", "  replicas: 1\n", "  replicas: 1\n  replica: 2\n", `unknown field "spec.replica"`},
		{"wrong type", "  replicas: 1\n", "  replicas: one\n", "cannot unmarshal string"},
		{"bad quantity", "memory: 512Mi}", "memory: 512MB}", "quantities must match"},
		{"unknown kind", "kind: Service", "kind: Servce", `unknown apiVersion/kind "v1"/"Servce"`},
		{"latest image", "shopd:0.1.0", "shopd:latest", "uses the latest tag"},
		{"untagged image", "ghcr.io/shopd/shopd:0.1.0", "ghcr.io/shopd/shopd", "has no tag"},
		{"no readiness probe", "          readinessProbe: {httpGet: {path: /readyz, port: http}}\n", "", "readinessProbe is missing"},
		{"probe on unnamed port", "{path: /livez, port: http}}\n          liveness", "{path: /livez, port: web}}\n          liveness", "uses port web"},
		{"writable root", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem is not true"},
		{"privilege escalation", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation is not false"},
		{"capabilities kept", "drop: [ALL]", "drop: [NET_RAW]", "capabilities.drop does not contain ALL"},
		{"root", "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot is not true"},
		{"no seccomp", "        seccompProfile: {type: RuntimeDefault}\n", "", "seccompProfile is not RuntimeDefault"},
		{"token mounted", "automountServiceAccountToken: false", "automountServiceAccountToken: true", "automountServiceAccountToken is not false"},
		{"no cpu request", "{cpu: 250m, memory: 256Mi}", "{memory: 256Mi}", "resources.requests.cpu is not set"},
		{"no memory limit", "limits: {memory: 512Mi}", "limits: {}", "resources.limits.memory is not set"},
		{"no GOMEMLIMIT", "            - {name: GOMEMLIMIT, value: 460MiB}\n", "", "GOMEMLIMIT is not set"},
		{"GOMEMLIMIT over limit", "value: 460MiB", "value: 600MiB", "want between 50% and 100%"},
		{"GOMEMLIMIT syntax", "value: 460MiB", "value: 460Mi", "not a byte count"},
		{"grace too short", "terminationGracePeriodSeconds: 35", "terminationGracePeriodSeconds: 30", "does not exceed preStop sleep + drain delay + drain timeout (30s)"},
		{"bad drain duration", "value: 20s}", "value: \"20\"}", `SHOPD_DRAIN_TIMEOUT "20" is not a duration`},
		{"missing volume", "volumeMounts: [{name: tmp,", "volumeMounts: [{name: temp,", "volumeMount temp names no volume"},
		{"selector mismatch", "      labels: {app.kubernetes.io/name: shopd, app.kubernetes.io/component: api}", "      labels: {app.kubernetes.io/name: shopd, app.kubernetes.io/component: web}", "does not match the pod template's labels"},
		{"service selects nothing", "  selector: {app.kubernetes.io/name: shopd, app.kubernetes.io/component: api}\n  ports", "  selector: {app.kubernetes.io/component: worker}\n  ports", "matches no rendered Deployment's pods"},
		{"service targetPort", "targetPort: http", "targetPort: metrics", `targetPort "metrics" is not a container port`},
		{"pdb both", "  maxUnavailable: 1\n", "  maxUnavailable: 1\n  minAvailable: 1\n", "exactly one of minAvailable and maxUnavailable"},
		{"pdb selects nothing", "matchLabels: {app.kubernetes.io/component: api}\n", "matchLabels: {app.kubernetes.io/component: x}\n", "matches no rendered Deployment's pods"},
		{"missing standard label", "  name: shopd\n  labels: {app.kubernetes.io/name: shopd, ", "  name: shopd\n  labels: {", "missing label app.kubernetes.io/name"},
		{"bad service name", "  name: shopd\n", "  name: Shopd\n", `metadata.name "Shopd"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.old) {
				t.Fatalf("test is stale: %q is not in the good set", tt.old)
			}
			broken := strings.Replace(good, tt.old, tt.new, 1)
			_, problems := checkManifests([]byte(broken))
			joined := strings.Join(problems, "\n")
			if !strings.Contains(joined, tt.want) {
				t.Fatalf("want a problem containing %q, got:\n%s", tt.want, joined)
			}
		})
	}
}

func TestDuplicateAndHPA(t *testing.T) {
	pdb := good[strings.Index(good, "apiVersion: policy/v1"):]
	_, problems := checkManifests([]byte(good + "---\n" + pdb))
	if !strings.Contains(strings.Join(problems, "\n"), "duplicate PodDisruptionBudget/shopd-api") {
		t.Errorf("duplicate not reported: %v", problems)
	}

	hpa := `---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: shopd-api
  labels: {app.kubernetes.io/name: shopd, app.kubernetes.io/instance: r, app.kubernetes.io/managed-by: Helm}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: shopd-api}
  minReplicas: 5
  maxReplicas: 3
  metrics:
    - type: Pods
      pods:
        metric: {name: http_requests_per_second}
        target: {type: AverageValue, averageValue: "0"}
`
	_, problems = checkManifests([]byte(good + hpa))
	joined := strings.Join(problems, "\n")
	for _, want := range []string{
		"spec.replicas is set although HPA shopd-api scales it",
		"minReplicas exceeds maxReplicas",
		"pods metric without a positive AverageValue target",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("want %q in:\n%s", want, joined)
		}
	}
}

func TestParseGoMemLimit(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"460MiB", 460 << 20, true},
		{"1GiB", 1 << 30, true},
		{"1024", 1024, true},
		{"10B", 10, true},
		{"1.5GiB", 0, false},
		{"460Mi", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseGoMemLimit(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseGoMemLimit(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestApplication(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "chart"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Chart.yaml", "values.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, "chart", f), []byte("x: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	app := `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: shopd, namespace: argocd}
spec:
  project: default
  source:
    repoURL: https://github.com/shopd/shopd.git
    targetRevision: main
    path: chart
    helm: {valueFiles: [values.yaml]}
  destination: {server: https://kubernetes.default.svc, namespace: shop}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    retry: {limit: 3, backoff: {duration: 10s, factor: 2, maxDuration: 3m}}
`
	if _, problems := checkManifests([]byte(app)); len(problems) != 0 {
		t.Fatalf("good Application: %v", problems)
	}
	tests := []struct{ old, new, want string }{
		{"    path: chart", "    path: nochart", `spec.source.path "nochart": no Chart.yaml`},
		{"[values.yaml]", "[prod.yaml]", `"prod.yaml" not found`},
		{"selfHeal: true", "selfheal: true", `unknown field "spec.syncPolicy.automated.selfheal"`},
		{"targetRevision: main", "targetRevision: HEAD", "should pin a branch or tag"},
		{"duration: 10s", "duration: \"10\"", `"10" is not a duration`},
		{"server: https://kubernetes.default.svc, ", "", "exactly one of server and name"},
	}
	for _, tt := range tests {
		if !strings.Contains(app, tt.old) {
			t.Fatalf("stale case %q", tt.old)
		}
		_, problems := checkManifests([]byte(strings.Replace(app, tt.old, tt.new, 1)))
		if joined := strings.Join(problems, "\n"); !strings.Contains(joined, tt.want) {
			t.Errorf("%s → %s: want %q in:\n%s", tt.old, tt.new, tt.want, joined)
		}
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	if p := checkDockerfile(src); len(p) != 0 {
		t.Fatalf("deploy/Dockerfile: %v", p)
	}
	tests := []struct{ old, new, want string }{
		{"COPY --from=build /out/shopd /shopd", "ADD --from=build /out/shopd /shopd", "use COPY, not ADD"},
		{"USER nonroot:nonroot", "USER root", "non-root USER"},
		{"USER nonroot:nonroot\n", "", "non-root USER"},
		{`CMD ["serve", "--addr", "0.0.0.0:8080"]`, "CMD serve --addr 0.0.0.0:8080", "CMD is missing or not in exec (JSON) form"},
		{`ENTRYPOINT ["/shopd"]`, `ENTRYPOINT ["/bin/sh", "-c", "/shopd"]`, `want ["/shopd"]`},
		{"static-debian12:nonroot\nARG VERSION", "static-debian12:latest\nARG VERSION", "base image"},
		{"ENV SHOPD_DATA_DIR=/data", "RUN mkdir /data", "RUN in the final stage"},
		{"CGO_ENABLED=0 ", "", "go build lacks CGO_ENABLED=0"},
		{"-trimpath ", "", "go build lacks -trimpath"},
		{"    --mount=type=cache,target=/root/.cache/go-build \\\n", "", "without module and build cache mounts"},
		{"EXPOSE 8080\n", "", "no EXPOSE"},
		{`      org.opencontainers.image.revision="${REVISION}" \` + "\n", "", "missing OCI label org.opencontainers.image.revision"},
	}
	for _, tt := range tests {
		if !strings.Contains(src, tt.old) {
			t.Fatalf("stale case %q", tt.old)
		}
		p := checkDockerfile(strings.Replace(src, tt.old, tt.new, 1))
		if joined := strings.Join(p, "\n"); !strings.Contains(joined, tt.want) {
			t.Errorf("%q → %q: want %q in:\n%s", tt.old, tt.new, tt.want, joined)
		}
	}
}

func TestRunExitStatus(t *testing.T) {
	dir := t.TempDir()
	okFile := filepath.Join(dir, "ok.yaml")
	badFile := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(okFile, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badFile, []byte(strings.Replace(good, "shopd:0.1.0", "shopd:latest", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"-expect", "Deployment=1,Service=1", okFile}, &out, &errOut); code != 0 {
		t.Fatalf("ok file: exit %d, stderr %s", code, errOut.String())
	}
	if code := run([]string{"-expect", "Deployment=2", okFile}, &out, &errOut); code != 1 {
		t.Errorf("wrong count: exit %d, want 1", code)
	}
	errOut.Reset()
	if code := run([]string{badFile}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "latest tag") {
		t.Errorf("bad file: exit %d, stderr %s", code, errOut.String())
	}
	if code := run([]string{"-expect", "Deployment", okFile}, &out, &errOut); code != 2 {
		t.Errorf("bad -expect: exit %d, want 2", code)
	}
}
