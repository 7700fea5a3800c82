package main

import (
	"strings"
	"testing"
)

const goodRule = `
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: shopd
  labels: {app.kubernetes.io/name: shopd, app.kubernetes.io/instance: r, app.kubernetes.io/managed-by: Helm}
spec:
  groups:
    - name: shopd.alerts
      rules:
        - alert: ShopdDown
          expr: sum(up{job="shopd"}) == 0
          for: 3m
          labels: {severity: critical}
          annotations: {runbook_url: "https://example.com/ops.md#shopddown"}
`

func TestPrometheusRule(t *testing.T) {
	if _, problems := checkManifests([]byte(goodRule)); len(problems) != 0 {
		t.Fatalf("problems in a good rule:\n%s", strings.Join(problems, "\n"))
	}
	for _, c := range []struct{ old, new, want string }{
		{"          expr:", "          expression:", `unknown field "spec.groups[0].rules[0].expression"`},
		{"labels: {severity: critical}", "labels: [critical]", "cannot unmarshal array"},
		{"labels: {severity", "label: {severity", `unknown field "spec.groups[0].rules[0].label"`},
	} {
		_, problems := checkManifests([]byte(strings.Replace(goodRule, c.old, c.new, 1)))
		if joined := strings.Join(problems, "\n"); !strings.Contains(joined, c.want) {
			t.Errorf("%q → %q: want a problem containing %q, got:\n%s", c.old, c.new, c.want, joined)
		}
	}
}
