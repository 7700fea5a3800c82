package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// registry maps apiVersion/kind to the typed struct a document must decode
// into. A kind missing here is an error, so a new template cannot slip past
// validation.
var registry = map[string]func() any{
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/PersistentVolumeClaim":                func() any { return &corev1.PersistentVolumeClaim{} },
	"v1/Secret":                               func() any { return &corev1.Secret{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"batch/v1/Job":                            func() any { return &batchv1.Job{} },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
	"argoproj.io/v1alpha1/Application":        func() any { return &argoApplication{} },
}

type doc struct {
	index int
	kind  string
	name  string
	obj   any
}

func (d doc) String() string { return fmt.Sprintf("document %d (%s/%s)", d.index, d.kind, d.name) }

type manifestSet struct {
	docs []doc
}

// checkManifests decodes every YAML document of b strictly and checks it
// alone and against the others (selectors, references).
func checkManifests(b []byte) (*manifestSet, []string) {
	set := &manifestSet{}
	var problems []string
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	seen := map[string]bool{}
	for i := 1; ; i++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("document %d: %v", i, err))
			break
		}
		var head map[string]any
		if err := yaml.Unmarshal(raw, &head); err != nil {
			problems = append(problems, fmt.Sprintf("document %d: not YAML: %v", i, err))
			continue
		}
		if len(head) == 0 {
			i-- // only comments, e.g. a template that rendered nothing
			continue
		}
		apiVersion, _ := head["apiVersion"].(string)
		kind, _ := head["kind"].(string)
		newObj, ok := registry[apiVersion+"/"+kind]
		if !ok {
			problems = append(problems, fmt.Sprintf("document %d: unknown apiVersion/kind %q/%q (register it in manifestcheck)", i, apiVersion, kind))
			continue
		}
		obj := newObj()
		if errs := decodeStrict(raw, obj); len(errs) > 0 {
			for _, err := range errs {
				problems = append(problems, fmt.Sprintf("document %d (%s): %v", i, kind, err))
			}
			continue
		}
		meta := objectMeta(obj)
		d := doc{index: i, kind: kind, name: meta.Name, obj: obj}
		key := kind + "/" + meta.Name
		if seen[key] {
			problems = append(problems, fmt.Sprintf("%s: duplicate %s", d, key))
		}
		seen[key] = true
		for _, p := range checkMeta(kind, meta) {
			problems = append(problems, fmt.Sprintf("%s: %s", d, p))
		}
		set.docs = append(set.docs, d)
	}
	for _, d := range set.docs {
		for _, p := range set.checkDoc(d) {
			problems = append(problems, fmt.Sprintf("%s: %s", d, p))
		}
	}
	return set, problems
}

// decodeStrict decodes a YAML document the way the API server does in
// strict field validation: case-sensitive field names, unknown and
// duplicate fields are errors, each reported with its path.
func decodeStrict(raw []byte, obj any) []error {
	j, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return []error{err}
	}
	strict, err := kjson.UnmarshalStrict(j, obj)
	if err != nil {
		return []error{err}
	}
	return strict
}

func objectMeta(obj any) metav1.ObjectMeta {
	if o, ok := obj.(metav1.Object); ok {
		return metav1.ObjectMeta{Name: o.GetName(), Namespace: o.GetNamespace(), Labels: o.GetLabels(), Annotations: o.GetAnnotations()}
	}
	if a, ok := obj.(*argoApplication); ok {
		return a.Metadata
	}
	return metav1.ObjectMeta{}
}

func checkMeta(kind string, m metav1.ObjectMeta) []string {
	var p []string
	if m.Name == "" {
		p = append(p, "metadata.name is empty")
	}
	validName := validation.IsDNS1123Subdomain
	if kind == "Service" {
		validName = validation.IsDNS1035Label // Service names are DNS labels
	}
	for _, e := range validName(m.Name) {
		p = append(p, fmt.Sprintf("metadata.name %q: %s", m.Name, e))
	}
	for k, v := range m.Labels {
		for _, e := range validation.IsQualifiedName(k) {
			p = append(p, fmt.Sprintf("label key %q: %s", k, e))
		}
		for _, e := range validation.IsValidLabelValue(v) {
			p = append(p, fmt.Sprintf("label %s=%q: %s", k, v, e))
		}
	}
	if kind != "Application" {
		for _, k := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by"} {
			if m.Labels[k] == "" {
				p = append(p, "missing label "+k)
			}
		}
	}
	slices.Sort(p)
	return p
}

func (s *manifestSet) checkDoc(d doc) []string {
	switch o := d.obj.(type) {
	case *appsv1.Deployment:
		return s.checkDeployment(o)
	case *batchv1.Job:
		return checkJob(o)
	case *corev1.Service:
		return s.checkService(o)
	case *autoscalingv2.HorizontalPodAutoscaler:
		return s.checkHPA(o)
	case *policyv1.PodDisruptionBudget:
		return s.checkPDB(o)
	case *networkingv1.NetworkPolicy:
		return s.checkNetworkPolicy(o)
	case *monitoringv1.ServiceMonitor:
		return s.checkServiceMonitor(o)
	case *argoApplication:
		return checkApplication(o)
	}
	return nil
}

func (s *manifestSet) deployments() []*appsv1.Deployment {
	var out []*appsv1.Deployment
	for _, d := range s.docs {
		if o, ok := d.obj.(*appsv1.Deployment); ok {
			out = append(out, o)
		}
	}
	return out
}

// podsMatching returns the Deployments whose pods sel selects.
func (s *manifestSet) podsMatching(sel labels.Selector) []*appsv1.Deployment {
	var out []*appsv1.Deployment
	for _, dep := range s.deployments() {
		if !sel.Empty() && sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
			out = append(out, dep)
		}
	}
	return out
}

func (s *manifestSet) selectorMatchesPods(ls *metav1.LabelSelector, what string) []string {
	if ls == nil {
		return []string{what + " is missing"}
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", what, err)}
	}
	if sel.Empty() {
		return []string{what + " is empty (selects every pod in the namespace)"}
	}
	if len(s.podsMatching(sel)) == 0 {
		return []string{fmt.Sprintf("%s %s matches no rendered Deployment's pods", what, sel)}
	}
	return nil
}

func (s *manifestSet) checkDeployment(dep *appsv1.Deployment) []string {
	var p []string
	if dep.Spec.Selector == nil {
		p = append(p, "spec.selector is missing")
	} else if sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector); err != nil {
		p = append(p, fmt.Sprintf("spec.selector: %v", err))
	} else if !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		p = append(p, fmt.Sprintf("spec.selector %s does not match the pod template's labels", sel))
	}
	if dep.Spec.Replicas != nil && *dep.Spec.Replicas < 0 {
		p = append(p, "spec.replicas is negative")
	}
	for _, d := range s.docs {
		if hpa, ok := d.obj.(*autoscalingv2.HorizontalPodAutoscaler); ok && hpa.Spec.ScaleTargetRef.Name == dep.Name && dep.Spec.Replicas != nil {
			p = append(p, "spec.replicas is set although HPA "+hpa.Name+" scales it (every sync would reset the replica count)")
		}
	}
	p = append(p, checkPodSpec(&dep.Spec.Template.Spec, true)...)
	return p
}

func checkJob(job *batchv1.Job) []string {
	var p []string
	spec := &job.Spec.Template.Spec
	if rp := spec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
		p = append(p, fmt.Sprintf("restartPolicy %q: a Job needs Never or OnFailure", rp))
	}
	if job.Spec.BackoffLimit == nil {
		p = append(p, "spec.backoffLimit is not set (defaults to 6 retries)")
	}
	if job.Spec.ActiveDeadlineSeconds == nil {
		p = append(p, "spec.activeDeadlineSeconds is not set: a stuck Job would block installs forever")
	}
	p = append(p, checkPodSpec(spec, false)...)
	return p
}

// checkPodSpec checks a pod: security, resources, images, probes (for
// long-running pods), references to volumes and ports, and that the grace
// period covers the drain configured in the environment.
func checkPodSpec(spec *corev1.PodSpec, longRunning bool) []string {
	var p []string
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		p = append(p, "pod uses host namespaces")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		p = append(p, "automountServiceAccountToken is not false (shopd needs no Kubernetes API token)")
	}
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		if volumes[v.Name] {
			p = append(p, "duplicate volume "+v.Name)
		}
		volumes[v.Name] = true
		if v.HostPath != nil {
			p = append(p, "volume "+v.Name+" is a hostPath")
		}
	}
	if len(spec.Containers) == 0 {
		p = append(p, "pod has no containers")
	}
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for i, c := range all {
		main := i >= len(spec.InitContainers)
		pre := "container " + c.Name + ": "
		for _, e := range checkImage(c.Image) {
			p = append(p, pre+e)
		}
		for _, e := range checkContainerSecurity(c.SecurityContext, psc) {
			p = append(p, pre+e)
		}
		for _, e := range checkResources(c) {
			p = append(p, pre+e)
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				p = append(p, pre+"volumeMount "+m.Name+" names no volume")
			}
		}
		env := map[string]string{}
		for _, e := range c.Env {
			if _, dup := env[e.Name]; dup {
				p = append(p, pre+"duplicate env "+e.Name)
			}
			env[e.Name] = e.Value
		}
		if !main || !longRunning {
			continue
		}
		for _, probe := range []struct {
			name string
			p    *corev1.Probe
		}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
			if probe.p == nil {
				p = append(p, pre+probe.name+" is missing")
				continue
			}
			if g := probe.p.HTTPGet; g != nil && g.Port.StrVal != "" && !hasPort(c, g.Port.StrVal) {
				p = append(p, pre+probe.name+" uses port "+g.Port.StrVal+" that the container does not name")
			}
		}
		for _, e := range checkDrain(spec, c, env) {
			p = append(p, pre+e)
		}
	}
	return p
}

func hasPort(c corev1.Container, name string) bool {
	for _, port := range c.Ports {
		if port.Name == name {
			return true
		}
	}
	return false
}

// checkImage refuses images without a tag or digest and "latest".
func checkImage(image string) []string {
	if image == "" {
		return []string{"image is empty"}
	}
	if strings.Contains(image, "@sha256:") {
		return nil
	}
	last := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(last, ":")
	switch {
	case !ok || tag == "":
		return []string{fmt.Sprintf("image %q has no tag (means latest)", image)}
	case tag == "latest":
		return []string{fmt.Sprintf("image %q uses the latest tag", image)}
	}
	return nil
}

func checkContainerSecurity(sc *corev1.SecurityContext, psc *corev1.PodSecurityContext) []string {
	if sc == nil {
		return []string{"securityContext is missing"}
	}
	var p []string
	nonRoot := sc.RunAsNonRoot
	if nonRoot == nil {
		nonRoot = psc.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		p = append(p, "runAsNonRoot is not true")
	}
	uid := sc.RunAsUser
	if uid == nil {
		uid = psc.RunAsUser
	}
	if uid != nil && *uid == 0 {
		p = append(p, "runAsUser is 0 (root)")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		p = append(p, "readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		p = append(p, "allowPrivilegeEscalation is not false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		p = append(p, "privileged is true")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		p = append(p, "capabilities.drop does not contain ALL")
	} else if len(sc.Capabilities.Add) > 0 {
		p = append(p, fmt.Sprintf("capabilities.add %v", sc.Capabilities.Add))
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = psc.SeccompProfile
	}
	if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
		p = append(p, "seccompProfile is not RuntimeDefault or Localhost")
	}
	return p
}

// checkResources wants CPU and memory requests and a memory limit, and a
// GOMEMLIMIT below that limit so the GC acts before the OOM killer.
func checkResources(c corev1.Container) []string {
	var p []string
	req, lim := c.Resources.Requests, c.Resources.Limits
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := req[name]; !ok || q.IsZero() {
			p = append(p, "resources.requests."+string(name)+" is not set")
		}
	}
	memLimit, ok := lim[corev1.ResourceMemory]
	if !ok || memLimit.IsZero() {
		return append(p, "resources.limits.memory is not set")
	}
	if memReq, ok := req[corev1.ResourceMemory]; ok && memReq.Cmp(memLimit) > 0 {
		p = append(p, fmt.Sprintf("memory request %s exceeds limit %s", memReq.String(), memLimit.String()))
	}
	var goMemLimit string
	found := false
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			goMemLimit, found = e.Value, true
		}
	}
	if !found {
		return append(p, "GOMEMLIMIT is not set although limits.memory is")
	}
	n, err := parseGoMemLimit(goMemLimit)
	if err != nil {
		return append(p, fmt.Sprintf("GOMEMLIMIT %q: %v", goMemLimit, err))
	}
	if limit := memLimit.Value(); n >= limit || n < limit/2 {
		p = append(p, fmt.Sprintf("GOMEMLIMIT %s is %d bytes, want between 50%% and 100%% of the memory limit %d", goMemLimit, n, limit))
	}
	return p
}

var goMemLimitRE = regexp.MustCompile(`^([0-9]+)(B|KiB|MiB|GiB|TiB)?$`)

// parseGoMemLimit parses the GOMEMLIMIT syntax of the runtime package.
func parseGoMemLimit(s string) (int64, error) {
	m := goMemLimitRE.FindStringSubmatch(s)
	if m == nil {
		return 0, errors.New("not a byte count with an optional B, KiB, MiB, GiB or TiB suffix")
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, err
	}
	shift := map[string]uint{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}[m[2]]
	return n << shift, nil
}

// checkDrain: the kubelet's SIGKILL must not come before shopd has slept
// in preStop, failed readiness for the drain delay and waited the drain
// timeout.
func checkDrain(spec *corev1.PodSpec, c corev1.Container, env map[string]string) []string {
	timeout, ok := env["SHOPD_DRAIN_TIMEOUT"]
	if !ok {
		return []string{"SHOPD_DRAIN_TIMEOUT is not set"}
	}
	var p []string
	var total time.Duration
	for name, v := range map[string]string{"SHOPD_DRAIN_TIMEOUT": timeout, "SHOPD_DRAIN_DELAY": env["SHOPD_DRAIN_DELAY"]} {
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			p = append(p, fmt.Sprintf("%s %q is not a duration", name, v))
			continue
		}
		total += d
	}
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		if s := c.Lifecycle.PreStop.Sleep; s != nil {
			total += time.Duration(s.Seconds) * time.Second
		} else {
			p = append(p, "preStop hook is not a sleep action (the distroless image has no shell)")
		}
	}
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if spec.TerminationGracePeriodSeconds != nil {
		grace = *spec.TerminationGracePeriodSeconds
	}
	if time.Duration(grace)*time.Second <= total {
		p = append(p, fmt.Sprintf("terminationGracePeriodSeconds %d does not exceed preStop sleep + drain delay + drain timeout (%s)", grace, total))
	}
	return p
}

func (s *manifestSet) checkService(svc *corev1.Service) []string {
	if len(svc.Spec.Selector) == 0 {
		return []string{"spec.selector is empty"}
	}
	var p []string
	deps := s.podsMatching(labels.SelectorFromSet(svc.Spec.Selector))
	if len(deps) == 0 {
		return []string{fmt.Sprintf("spec.selector %v matches no rendered Deployment's pods", svc.Spec.Selector)}
	}
	for _, port := range svc.Spec.Ports {
		if port.TargetPort.StrVal == "" {
			continue
		}
		for _, dep := range deps {
			named := false
			for _, c := range dep.Spec.Template.Spec.Containers {
				named = named || hasPort(c, port.TargetPort.StrVal)
			}
			if !named {
				p = append(p, fmt.Sprintf("port %s: targetPort %q is not a container port of Deployment %s", port.Name, port.TargetPort.StrVal, dep.Name))
			}
		}
	}
	return p
}

func (s *manifestSet) checkHPA(hpa *autoscalingv2.HorizontalPodAutoscaler) []string {
	var p []string
	ref := hpa.Spec.ScaleTargetRef
	found := false
	for _, dep := range s.deployments() {
		found = found || (ref.Kind == "Deployment" && ref.APIVersion == "apps/v1" && ref.Name == dep.Name)
	}
	if !found {
		p = append(p, fmt.Sprintf("scaleTargetRef %s %s/%s is not a rendered Deployment", ref.APIVersion, ref.Kind, ref.Name))
	}
	if hpa.Spec.MinReplicas != nil && *hpa.Spec.MinReplicas > hpa.Spec.MaxReplicas {
		p = append(p, "minReplicas exceeds maxReplicas")
	}
	if len(hpa.Spec.Metrics) == 0 {
		p = append(p, "no metrics")
	}
	for i, m := range hpa.Spec.Metrics {
		switch m.Type {
		case autoscalingv2.ResourceMetricSourceType:
			if m.Resource == nil || m.Resource.Target.Type != autoscalingv2.UtilizationMetricType || m.Resource.Target.AverageUtilization == nil {
				p = append(p, fmt.Sprintf("metrics[%d]: resource metric without a Utilization target", i))
			}
		case autoscalingv2.PodsMetricSourceType:
			if m.Pods == nil || m.Pods.Target.Type != autoscalingv2.AverageValueMetricType || m.Pods.Target.AverageValue == nil || m.Pods.Target.AverageValue.Sign() <= 0 {
				p = append(p, fmt.Sprintf("metrics[%d]: pods metric without a positive AverageValue target", i))
			}
		default:
			p = append(p, fmt.Sprintf("metrics[%d]: unexpected type %q", i, m.Type))
		}
	}
	return p
}

func (s *manifestSet) checkPDB(pdb *policyv1.PodDisruptionBudget) []string {
	p := s.selectorMatchesPods(pdb.Spec.Selector, "spec.selector")
	if (pdb.Spec.MinAvailable == nil) == (pdb.Spec.MaxUnavailable == nil) {
		p = append(p, "give exactly one of minAvailable and maxUnavailable")
	}
	return p
}

func (s *manifestSet) checkNetworkPolicy(np *networkingv1.NetworkPolicy) []string {
	return s.selectorMatchesPods(&np.Spec.PodSelector, "spec.podSelector")
}

func (s *manifestSet) checkServiceMonitor(sm *monitoringv1.ServiceMonitor) []string {
	var p []string
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil || sel.Empty() {
		return []string{"spec.selector is empty or invalid"}
	}
	var services []*corev1.Service
	for _, d := range s.docs {
		if svc, ok := d.obj.(*corev1.Service); ok && sel.Matches(labels.Set(svc.Labels)) {
			services = append(services, svc)
		}
	}
	if len(services) == 0 {
		return []string{fmt.Sprintf("spec.selector %s matches no rendered Service", sel)}
	}
	if len(sm.Spec.Endpoints) == 0 {
		p = append(p, "no endpoints")
	}
	for i, ep := range sm.Spec.Endpoints {
		for _, svc := range services {
			named := false
			for _, port := range svc.Spec.Ports {
				named = named || port.Name == ep.Port
			}
			if !named {
				p = append(p, fmt.Sprintf("endpoints[%d]: port %q is not a port of Service %s", i, ep.Port, svc.Name))
			}
		}
		if ep.Interval != "" && ep.ScrapeTimeout != "" {
			iv, err1 := time.ParseDuration(string(ep.Interval))
			to, err2 := time.ParseDuration(string(ep.ScrapeTimeout))
			if err1 != nil || err2 != nil || to > iv {
				p = append(p, fmt.Sprintf("endpoints[%d]: scrapeTimeout %s must be a duration not above interval %s", i, ep.ScrapeTimeout, ep.Interval))
			}
		}
	}
	return p
}

// argoApplication is the part of Argo CD's Application (argoproj.io/v1alpha1)
// that shopd's example uses. Argo CD's Go types live in its main module,
// far too heavy to import here; the strict decode still catches misspelt
// or misplaced fields among these.
type argoApplication struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       struct {
		Project string `json:"project"`
		Source  *struct {
			RepoURL        string `json:"repoURL"`
			TargetRevision string `json:"targetRevision,omitempty"`
			Path           string `json:"path,omitempty"`
			Chart          string `json:"chart,omitempty"`
			Helm           *struct {
				ReleaseName  string         `json:"releaseName,omitempty"`
				ValueFiles   []string       `json:"valueFiles,omitempty"`
				Values       string         `json:"values,omitempty"`
				ValuesObject map[string]any `json:"valuesObject,omitempty"`
				KubeVersion  string         `json:"kubeVersion,omitempty"`
				Parameters   []struct {
					Name        string `json:"name"`
					Value       string `json:"value"`
					ForceString bool   `json:"forceString,omitempty"`
				} `json:"parameters,omitempty"`
				IgnoreMissingValueFiles bool `json:"ignoreMissingValueFiles,omitempty"`
			} `json:"helm,omitempty"`
		} `json:"source,omitempty"`
		Destination struct {
			Server    string `json:"server,omitempty"`
			Name      string `json:"name,omitempty"`
			Namespace string `json:"namespace"`
		} `json:"destination"`
		SyncPolicy *struct {
			Automated *struct {
				Prune      bool `json:"prune,omitempty"`
				SelfHeal   bool `json:"selfHeal,omitempty"`
				AllowEmpty bool `json:"allowEmpty,omitempty"`
			} `json:"automated,omitempty"`
			SyncOptions []string `json:"syncOptions,omitempty"`
			Retry       *struct {
				Limit   int64 `json:"limit,omitempty"`
				Backoff *struct {
					Duration    string `json:"duration,omitempty"`
					Factor      *int64 `json:"factor,omitempty"`
					MaxDuration string `json:"maxDuration,omitempty"`
				} `json:"backoff,omitempty"`
			} `json:"retry,omitempty"`
			ManagedNamespaceMetadata *struct {
				Labels      map[string]string `json:"labels,omitempty"`
				Annotations map[string]string `json:"annotations,omitempty"`
			} `json:"managedNamespaceMetadata,omitempty"`
		} `json:"syncPolicy,omitempty"`
		IgnoreDifferences []struct {
			Group             string   `json:"group,omitempty"`
			Kind              string   `json:"kind"`
			Name              string   `json:"name,omitempty"`
			Namespace         string   `json:"namespace,omitempty"`
			JSONPointers      []string `json:"jsonPointers,omitempty"`
			JQPathExpressions []string `json:"jqPathExpressions,omitempty"`
		} `json:"ignoreDifferences,omitempty"`
		RevisionHistoryLimit *int64 `json:"revisionHistoryLimit,omitempty"`
	} `json:"spec"`
}

// checkApplication checks the example Application. Run from the repository
// root, a chart path must lead to a chart in this repository, and each value
// file must exist in it.
func checkApplication(a *argoApplication) []string {
	var p []string
	src := a.Spec.Source
	if a.Spec.Project == "" {
		p = append(p, "spec.project is empty")
	}
	if a.Spec.Destination.Namespace == "" || (a.Spec.Destination.Server == "") == (a.Spec.Destination.Name == "") {
		p = append(p, "spec.destination needs a namespace and exactly one of server and name")
	}
	if src == nil || src.RepoURL == "" || (src.Path == "") == (src.Chart == "") {
		return append(p, "spec.source needs repoURL and exactly one of path and chart")
	}
	if src.TargetRevision == "" || src.TargetRevision == "HEAD" {
		p = append(p, "spec.source.targetRevision should pin a branch or tag, not HEAD")
	}
	if src.Path != "" {
		if _, err := os.Stat(filepath.Join(src.Path, "Chart.yaml")); err != nil {
			p = append(p, fmt.Sprintf("spec.source.path %q: no Chart.yaml (run from the repository root)", src.Path))
		} else if src.Helm != nil {
			for _, f := range src.Helm.ValueFiles {
				if _, err := os.Stat(filepath.Join(src.Path, f)); err != nil {
					p = append(p, fmt.Sprintf("spec.source.helm.valueFiles: %q not found in %s", f, src.Path))
				}
			}
		}
	}
	if sp := a.Spec.SyncPolicy; sp != nil && sp.Retry != nil && sp.Retry.Backoff != nil {
		for _, d := range []string{sp.Retry.Backoff.Duration, sp.Retry.Backoff.MaxDuration} {
			if _, err := time.ParseDuration(d); d != "" && err != nil {
				p = append(p, fmt.Sprintf("syncPolicy.retry.backoff: %q is not a duration", d))
			}
		}
	}
	return p
}
