package main

import monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

// The chart's alert rules (templates/prometheusrule.yaml) decode strictly
// into the Prometheus Operator's PrometheusRule type: a misspelt field such
// as "expression" or "label" is an error. The PromQL itself is not parsed
// here (that needs the Prometheus module); deploy/check.sh checks that every
// alert has its runbook section.
func init() {
	registry["monitoring.coreos.com/v1/PrometheusRule"] = func() any { return &monitoringv1.PrometheusRule{} }
}
