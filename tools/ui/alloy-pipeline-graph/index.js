// The pipeline graph as a table: one row per data-flow edge, linking both components.
// Component names tell the signal (prometheus.* carries metrics, loki.* logs, ...).
import { createElement as h } from 'react';

export const SignalKind = Object.freeze({
  Metrics: 'metrics',
  Logs: 'logs',
  Traces: 'traces',
  Profiles: 'profiles',
  Targets: 'targets',
  Other: 'other',
});

const SIGNAL_BY_NAMESPACE = {
  prometheus: SignalKind.Metrics,
  loki: SignalKind.Logs,
  otelcol: SignalKind.Traces,
  pyroscope: SignalKind.Profiles,
  discovery: SignalKind.Targets,
};

export function inferSignalsFromComponentName(componentName) {
  const signal = SIGNAL_BY_NAMESPACE[String(componentName).split('.')[0]];
  return [signal ?? SignalKind.Other];
}

export function hasInferredSignals(signals) {
  return signals.some((s) => s !== SignalKind.Other);
}

export function deduplicateSignals(signals) {
  return [...new Set(signals)];
}

export function inferPipelineStage(componentName) {
  const name = String(componentName);
  if (/\.(scrape|source\.|receiver\.)/.test(name) || name.startsWith('discovery.')) return 'source';
  if (/\.(write|exporter\.)/.test(name)) return 'sink';
  return 'process';
}

function nodeCell(node, id) {
  if (!node) return h('td', null, id);
  const text = node.label ? `${node.componentName} "${node.label}"` : node.componentName;
  return h('td', null, node.href ? h('a', { href: node.href }, text) : text);
}

function rate(edge) {
  const metrics = edge.signalMetrics ?? [];
  if (metrics.length === 0) return '';
  return metrics.map((m) => `${m.signal} ${m.value.toFixed(1)}/s`).join(', ');
}

export function PipelineGraph({ graph }) {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const rows = graph.edges.map((e) =>
    h('tr', { key: e.id }, nodeCell(byId.get(e.source), e.source), nodeCell(byId.get(e.target), e.target),
      h('td', null, e.signals.join(', ')), h('td', null, rate(e))),
  );
  const head = h('tr', null, ['from', 'to', 'signals', 'live rate'].map((t) => h('th', { key: t }, t)));
  return h('div', { className: 'apg-table' },
    h('p', null, 'Data flow between components (drawn as a table in this build).'),
    h('table', null, h('thead', null, head), h('tbody', null, rows)));
}
