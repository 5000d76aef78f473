// Package am speaks to Alertmanager: the payload of its webhook receiver
// (version 4) and the parts of its API v2 the alerts bot uses (alerts and
// silences). It is written against the wire format, not Alertmanager's own
// client, whose module pulls in most of Prometheus.
package am
