// The `checks:` section of `.github/perf-gate.yml`: what must hold before the load is sent (the guide's pre-test
// checklist). Keys are kebab-case like the rest of the file; the parsed value has its defaults filled in.
import { z } from 'zod';
import { parseDuration } from '../units.js';

export interface VersionCheckConfig {
  /** A path on the target (`/version`) or an absolute URL. */
  url: string;
  /** JSONPath into the answer's body, e.g. `$.sha`; absent when `header` is given. */
  json?: string;
  /** Response header holding the version, lower-cased. */
  header?: string;
  /** The value that must be deployed, given in the file... */
  equals?: string;
  /** ...or read from an environment variable (GITHUB_SHA): a config file is not expanded by the runner. */
  equalsEnv?: string;
  /** How long to keep asking while a deploy rolls out. */
  waitMs: number;
  /** Pause between attempts. */
  intervalMs: number;
}

export interface AwsEndpointConfig {
  region?: string;
  /** Endpoint override (VPC endpoints, LocalStack, the tests' stand-ins). */
  endpoint?: string;
}

export interface EcsCheckConfig extends AwsEndpointConfig {
  cluster: string;
  service: string;
  /** Running tasks needed (the guide: 3+); running must also equal desired, and no deployment may be rolling out. */
  minRunning: number;
}

export interface TargetHealthCheckConfig extends AwsEndpointConfig {
  /** Target group ARN. */
  targetGroup: string;
  /** Healthy targets needed; every registered target must be healthy too. */
  minHealthy: number;
}

export interface InstancesCheckConfig {
  /** Prometheus base URL. */
  url: string;
  /** PromQL returning one series per instance, 1 when it is healthy (default `up`). */
  query: string;
  /** The label naming the instance in a failure. */
  label: string;
  minHealthy: number;
  bearerTokenEnv?: string;
}

export interface ChecksConfig {
  /** Bound on each check's answer (the version check's retries have their own `wait`). */
  timeoutMs: number;
  /** Every PostgreSQL and Redis source connects and answers (SELECT 1, PING). */
  reachable: boolean;
  /** Every CloudWatch and Prometheus metric has data for this long before the run; absent: not checked. */
  monitoringMs?: number;
  /** Environment variables that must be set (their values are never printed). */
  env: string[];
  version?: VersionCheckConfig;
  ecs: EcsCheckConfig[];
  targetHealth: TargetHealthCheckConfig[];
  instances: InstancesCheckConfig[];
}

export const NO_CHECKS: ChecksConfig = {
  timeoutMs: 10_000,
  reachable: false,
  env: [],
  ecs: [],
  targetHealth: [],
  instances: [],
};

/** True when the section asks for anything at all. */
export function hasChecks(c: ChecksConfig | undefined): c is ChecksConfig {
  return (
    !!c &&
    (c.reachable ||
      c.monitoringMs !== undefined ||
      c.env.length > 0 ||
      c.version !== undefined ||
      c.ecs.length + c.targetHealth.length + c.instances.length > 0)
  );
}

const durationMs = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v * 1000 : parseDuration(v);
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || ms > 3_600_000) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected a duration up to 1h such as 500ms, 30s, 2m (a bare number is seconds)',
    });
    return z.NEVER;
  }
  return ms;
});

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected the name of an environment variable, e.g. DATABASE_URL');
const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item.transform((v) => [v]), z.array(item).min(1).max(20)]);
const aws = { region: z.string().min(1).optional(), endpoint: z.url().optional() };

const versionCheck = z
  .strictObject({
    url: z.string().min(1),
    json: z.string().startsWith('$', 'expected a JSONPath such as $.sha').optional(),
    header: z.string().min(1).optional(),
    equals: z
      .union([z.string().min(1), z.number()])
      .transform(String)
      .optional(),
    'equals-env': envName.optional(),
    wait: durationMs.optional(),
    interval: durationMs.optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.json === undefined) === (v.header === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['json'],
        message: 'give "json" (a JSONPath such as $.sha) or "header" (such as x-version), one of them',
      });
    if ((v.equals === undefined) === (v['equals-env'] === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['equals'],
        message:
          'give "equals" (the expected version) or "equals-env" (a variable holding it, such as GITHUB_SHA), one of them',
      });
    if (!v.url.startsWith('/') && !/^https?:\/\//.test(v.url))
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        input: v.url,
        message: 'expected a path on the target such as /version, or an http(s) URL',
      });
  })
  .transform(
    (v): VersionCheckConfig => ({
      url: v.url,
      ...(v.json !== undefined ? { json: v.json } : {}),
      ...(v.header !== undefined ? { header: v.header.toLowerCase() } : {}),
      ...(v.equals !== undefined ? { equals: v.equals } : {}),
      ...(v['equals-env'] !== undefined ? { equalsEnv: v['equals-env'] } : {}),
      waitMs: v.wait ?? 120_000,
      intervalMs: Math.max(100, v.interval ?? 5000),
    }),
  );

const ecsCheck = z
  .strictObject({
    cluster: z.string().min(1),
    service: z.string().min(1),
    'min-running': z.number().int().min(1).max(10_000).optional(),
    ...aws,
  })
  .transform(
    (c): EcsCheckConfig => ({
      cluster: c.cluster,
      service: c.service,
      minRunning: c['min-running'] ?? 1,
      ...(c.region ? { region: c.region } : {}),
      ...(c.endpoint ? { endpoint: c.endpoint } : {}),
    }),
  );

const targetHealthCheck = z
  .strictObject({
    'target-group': z.string().startsWith('arn:', 'expected the target group ARN (arn:aws:elasticloadbalancing:...)'),
    'min-healthy': z.number().int().min(1).max(10_000).optional(),
    ...aws,
  })
  .transform(
    (c): TargetHealthCheckConfig => ({
      targetGroup: c['target-group'],
      minHealthy: c['min-healthy'] ?? 1,
      ...(c.region ? { region: c.region } : {}),
      ...(c.endpoint ? { endpoint: c.endpoint } : {}),
    }),
  );

const instancesCheck = z
  .strictObject({
    url: z.url({ protocol: /^https?$/ }),
    query: z.string().min(1).optional(),
    label: z.string().min(1).optional(),
    'min-healthy': z.number().int().min(1).max(10_000).optional(),
    'bearer-token-env': envName.optional(),
  })
  .transform(
    (c): InstancesCheckConfig => ({
      url: c.url,
      query: c.query ?? 'up',
      label: c.label ?? 'instance',
      minHealthy: c['min-healthy'] ?? 1,
      ...(c['bearer-token-env'] ? { bearerTokenEnv: c['bearer-token-env'] } : {}),
    }),
  );

export const checksSchema = z
  .strictObject({
    timeout: durationMs.optional(),
    reachable: z.boolean().optional(),
    // `true` is five minutes: CloudWatch's basic monitoring publishes once a minute, a minute or two late.
    monitoring: z.union([z.boolean(), durationMs]).optional(),
    env: z.union([envName.transform((v) => [v]), z.array(envName).max(100)]).optional(),
    version: versionCheck.optional(),
    ecs: oneOrMany(ecsCheck).optional(),
    'target-health': oneOrMany(targetHealthCheck).optional(),
    instances: oneOrMany(instancesCheck).optional(),
  })
  .transform(
    (c): ChecksConfig => ({
      timeoutMs: Math.max(100, c.timeout ?? 10_000),
      reachable: c.reachable ?? false,
      ...(c.monitoring === true
        ? { monitoringMs: 300_000 }
        : typeof c.monitoring === 'number' && c.monitoring > 0
          ? { monitoringMs: c.monitoring }
          : {}),
      env: c.env ?? [],
      ...(c.version ? { version: c.version } : {}),
      ecs: c.ecs ?? [],
      targetHealth: c['target-health'] ?? [],
      instances: c.instances ?? [],
    }),
  );
