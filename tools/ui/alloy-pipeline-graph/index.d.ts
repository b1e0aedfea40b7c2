// Types of the exports Alloy's UI uses (internal/web/ui/src/features/pipeline and pages/Graph.tsx).
import type { ReactElement } from 'react';

export declare enum SignalKind {
  Metrics = 'metrics',
  Logs = 'logs',
  Traces = 'traces',
  Profiles = 'profiles',
  Targets = 'targets',
  Other = 'other',
}

export type PipelineNodeHealth = 'healthy' | 'unhealthy' | 'unknown' | 'exited';
export type PipelineStage = 'source' | 'process' | 'sink';

export interface PipelineNode {
  id: string;
  componentName: string;
  label: string | null;
  kind?: 'component' | 'customComponentContainer';
  parentId?: string;
  stage?: PipelineStage;
  signals?: SignalKind[];
  docsUrl?: string;
  health?: PipelineNodeHealth;
  href?: string;
  meta?: Record<string, unknown>;
}

export interface PipelineEdgeSignalMetric {
  signal: SignalKind;
  value: number;
}

export interface PipelineEdge {
  id: string;
  source: string;
  target: string;
  signals: SignalKind[];
  metric?: number;
  signalMetrics?: PipelineEdgeSignalMetric[];
}

export interface PipelineGraphData {
  nodes: PipelineNode[];
  edges: PipelineEdge[];
}

export declare function inferSignalsFromComponentName(componentName: string): SignalKind[];
export declare function hasInferredSignals(signals: SignalKind[]): boolean;
export declare function deduplicateSignals(signals: SignalKind[]): SignalKind[];
export declare function inferPipelineStage(componentName: string): PipelineStage;
export declare function PipelineGraph(props: { graph: PipelineGraphData; theme?: 'light' | 'dark' }): ReactElement;
