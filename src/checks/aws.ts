// The AWS checks: the ECS service is up and rolled out (DescribeServices), and the load balancer's targets are
// healthy (DescribeTargetHealth). Each SDK is imported only when its check is configured: they are large, and
// most runs need neither.
import type { EnvironmentCheck } from '../model.js';
import { awsClientOptions } from '../sources/cloudwatch.js';
import { Redactor } from '../secrets.js';
import type { EcsCheckConfig, TargetHealthCheckConfig } from '../config/checks.js';

type EcsSdk = typeof import('@aws-sdk/client-ecs');
type ElbSdk = typeof import('@aws-sdk/client-elastic-load-balancing-v2');

export interface AwsDeps {
  loadEcs?: () => Promise<EcsSdk>;
  loadElb?: () => Promise<ElbSdk>;
}

const redactor = new Redactor();

function describeError(e: unknown): string {
  const err = e as { name?: string; message?: string };
  const name = err?.name && err.name !== 'Error' ? `${err.name}: ` : '';
  return redactor.redact(`${name}${err?.message ?? String(e)}`);
}

/** Running >= min-running, running = desired, and one deployment that has completed (none rolling out). */
export async function ecsCheck(c: EcsCheckConfig, timeoutMs: number, deps: AwsDeps = {}): Promise<EnvironmentCheck[]> {
  const name = `${c.cluster}/${c.service}`;
  const fail = (detail: string): EnvironmentCheck[] => [{ kind: 'ecs', name, ok: false, detail }];
  const sdk = await (deps.loadEcs ?? (() => import('@aws-sdk/client-ecs')))();
  const client = new sdk.ECSClient(awsClientOptions({ ...c, requestTimeoutMs: timeoutMs }));
  try {
    let out;
    try {
      out = await client.send(new sdk.DescribeServicesCommand({ cluster: c.cluster, services: [c.service] }));
    } catch (e) {
      return fail(`DescribeServices failed: ${describeError(e)}`);
    }
    const svc =
      out.services?.find((s) => s.serviceName === c.service || s.serviceArn?.endsWith(`/${c.service}`)) ??
      out.services?.[0];
    if (!svc) {
      const why = out.failures
        ?.map((f) => f.reason)
        .filter(Boolean)
        .join(', ');
      return fail(
        `service not found in cluster ${c.cluster}${why ? ` (${why})` : ''}: check the cluster and service names and the region`,
      );
    }
    const running = svc.runningCount ?? 0;
    const desired = svc.desiredCount ?? 0;
    const pending = svc.pendingCount ?? 0;
    const deployments = svc.deployments ?? [];
    const rolling = deployments.filter(
      (d) => d.status !== 'PRIMARY' || (d.rolloutState !== undefined && d.rolloutState !== 'COMPLETED'),
    );
    const problems: string[] = [];
    if (svc.status && svc.status !== 'ACTIVE') problems.push(`the service is ${svc.status}`);
    if (running < c.minRunning) problems.push(`${running} running, at least ${c.minRunning} needed`);
    if (running !== desired)
      problems.push(`${running} running of ${desired} desired${pending ? ` (${pending} pending)` : ''}`);
    if (deployments.length > 1 || rolling.length > 0) {
      const what = deployments
        .map(
          (d) =>
            `${d.status ?? '?'}${d.rolloutState ? ` ${d.rolloutState}` : ''} ${d.runningCount ?? 0}/${d.desiredCount ?? 0}`,
        )
        .join(', ');
      problems.push(`a deployment is still rolling out (${what})`);
    }
    const detail = `${running} running of ${desired} desired, ${deployments.length} ${deployments.length === 1 ? 'deployment' : 'deployments'}`;
    return [{ kind: 'ecs', name, ok: problems.length === 0, detail: problems.length ? problems.join('; ') : detail }];
  } finally {
    client.destroy();
  }
}

/** Every registered target healthy, and at least min-healthy of them. */
export async function targetHealthCheck(
  c: TargetHealthCheckConfig,
  timeoutMs: number,
  deps: AwsDeps = {},
): Promise<EnvironmentCheck[]> {
  const name = c.targetGroup.replace(/^arn:[^:]*:elasticloadbalancing:[^:]*:[^:]*:/, '');
  const sdk = await (deps.loadElb ?? (() => import('@aws-sdk/client-elastic-load-balancing-v2')))();
  const client = new sdk.ElasticLoadBalancingV2Client(awsClientOptions({ ...c, requestTimeoutMs: timeoutMs }));
  try {
    let out;
    try {
      out = await client.send(new sdk.DescribeTargetHealthCommand({ TargetGroupArn: c.targetGroup }));
    } catch (e) {
      return [{ kind: 'target-health', name, ok: false, detail: `DescribeTargetHealth failed: ${describeError(e)}` }];
    }
    const targets = out.TargetHealthDescriptions ?? [];
    const id = (t: (typeof targets)[number]): string =>
      `${t.Target?.Id ?? '?'}${t.Target?.Port ? `:${t.Target.Port}` : ''}`;
    const unhealthy = targets.filter((t) => t.TargetHealth?.State !== 'healthy');
    const healthy = targets.length - unhealthy.length;
    const problems: string[] = [];
    if (unhealthy.length) {
      const list = unhealthy.map(
        (t) =>
          `${id(t)} ${t.TargetHealth?.State ?? 'unknown'}${t.TargetHealth?.Reason ? ` (${t.TargetHealth.Reason})` : ''}`,
      );
      problems.push(`${unhealthy.length} of ${targets.length} not healthy: ${list.join(', ')}`);
    }
    if (healthy < c.minHealthy) problems.push(`${healthy} healthy, at least ${c.minHealthy} needed`);
    return [
      {
        kind: 'target-health',
        name,
        ok: problems.length === 0,
        detail: problems.length
          ? problems.join('; ')
          : `${healthy} of ${targets.length} targets healthy (${targets.map(id).join(', ')})`,
      },
    ];
  } finally {
    client.destroy();
  }
}
