// Infrastructure targets checked against the sources: part of validating a config, before any load is sent.
import { infraRef } from '../gate/metrics.js';
import { isInfraName, knownMetricNames } from '../gate/targets.js';
import { BUILTIN_METRICS } from '../metrics/catalogue.js';
import { closest } from './suggest.js';
import type { Target } from '../model.js';
import { redisMetricNames, sourceMetricNames, type SourceConfig } from './sources.js';

const SUGGEST: Record<string, string> = {
  cpu: 'kind: prometheus with preset node-cpu or container-cpu, or kind: cloudwatch with preset ecs-cpu',
  memory: 'kind: prometheus with preset node-memory or container-memory, or kind: cloudwatch with preset ecs-memory',
  db_connections: 'kind: postgres, or kind: cloudwatch with preset rds-connections and max-connections',
  rds_cpu: 'kind: cloudwatch with preset rds-cpu',
  alb_5xx: 'kind: cloudwatch with preset alb-5xx',
  alb_requests: 'kind: cloudwatch with preset alb-requests',
  alb_target_p99: 'kind: cloudwatch with preset alb-target-p99',
  redis_clients: 'kind: redis',
  redis_memory: 'kind: redis',
  log_errors: 'kind: cloudwatch-logs with log-groups',
  lock_waits: 'kind: postgres',
  tasks: 'kind: cloudwatch with preset ecs-running-tasks',
  healthy_hosts: 'kind: cloudwatch with preset alb-healthy-hosts',
  unhealthy_hosts: 'kind: cloudwatch with preset alb-unhealthy-hosts',
  instances: 'kind: prometheus with preset instances-up',
  balance: 'kind: prometheus with a query by (instance) and shares-by: instance, named balance',
  statement_slowdown: 'kind: postgres with statement-slowdown: true',
};

/**
 * Infrastructure targets the configured sources cannot measure, found before any load is sent: a target on a
 * metric no source reports, or `% of max` on a metric without a known limit. Optional targets are left alone.
 */
export function infraTargetProblems(targets: Target[], configs: SourceConfig[]): string[] {
  const limits = new Map<string, boolean>();
  for (const c of configs) {
    switch (c.kind) {
      case 'cloudwatch':
      case 'prometheus':
        for (const m of c.metrics) limits.set(m.name.toLowerCase(), m.limit !== undefined);
        break;
      case 'postgres':
        for (const name of sourceMetricNames(c)) limits.set(name.toLowerCase(), false);
        limits.set(c.name.toLowerCase(), true); // max_connections, read from the server
        break;
      case 'redis':
        for (const name of sourceMetricNames(c)) limits.set(name.toLowerCase(), false);
        limits.set(redisMetricNames(c).clients.toLowerCase(), true); // maxclients, read from the server
        break;
      case 'cloudwatch-logs':
        limits.set(c.name.toLowerCase(), false);
        break;
    }
  }
  const problems: string[] = [];
  for (const t of targets) {
    if (t.optional) continue;
    const ref = infraRef(t.metric);
    if (!ref) continue;
    const key = ref.name.toLowerCase();
    const hasLimit = limits.get(key);
    if (hasLimit === undefined) {
      if (!ref.explicit && !isInfraName(key)) {
        // May be a load tool's own metric; one a letter or two away from a metric perf-gate knows is a typo.
        const near = closest(key, [...knownMetricNames(), ...limits.keys()]);
        if (near !== undefined && near !== key) {
          problems.push(
            `target "${t.source}": "${ref.name}" is not a metric perf-gate measures (did you mean "${near}"?); built-in metrics: ${BUILTIN_METRICS.join(', ')}` +
              `${limits.size ? `; from sources: ${[...limits.keys()].join(', ')}` : ''}. A load tool's own metric is judged by its name: mark the target optional if "${ref.name}" is one`,
          );
        }
        continue;
      }
      const configured = [...limits.keys()];
      problems.push(
        `target "${t.source}" needs a metric named "${ref.name}" from sources:, ` +
          (configured.length ? `which has ${configured.join(', ')}` : 'and none is configured') +
          (Object.hasOwn(SUGGEST, key) ? `; add ${SUGGEST[key]}` : '; give a source metric that name') +
          ', or mark the target optional',
      );
    } else if (ref.ofMax && !hasLimit) {
      problems.push(
        `target "${t.source}" compares with a maximum, but "${ref.name}" has none: set its limit (max-connections for rds-connections)`,
      );
    }
  }
  return problems;
}
