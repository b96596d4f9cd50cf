// ECS tasks of the checked services that stopped during the run, with ECS's own words for why (stoppedReason,
// stopCode, each container's exit code and reason: `OutOfMemoryError: Container killed due to memory usage`,
// exit 137). Read once after the run (ListTasks of STOPPED tasks, then DescribeTasks), for the Why block. ECS
// keeps stopped tasks for about an hour, so a run read back later may find none; a failure is a note, never a throw.
import { awsClientOptions } from '../sources/cloudwatch.js';
import { Redactor } from '../secrets.js';
import type { EcsCheckConfig } from '../config/checks.js';
import type { StoppedTask } from '../model.js';
import type { AwsDeps } from './aws.js';

const redactor = new Redactor();
/** A task that stopped this long after the run's end still counts: it was killed by what the run did. */
export const STOPPED_GRACE_MS = 60_000;

export async function stoppedTasks(
  services: readonly EcsCheckConfig[],
  window: { start: Date; end: Date },
  timeoutMs: number,
  deps: AwsDeps = {},
): Promise<{ tasks: StoppedTask[]; notes: string[] }> {
  const tasks: StoppedTask[] = [];
  const notes: string[] = [];
  if (!services.length) return { tasks, notes };
  const sdk = await (deps.loadEcs ?? (() => import('@aws-sdk/client-ecs')))();
  for (const c of services) {
    const client = new sdk.ECSClient(awsClientOptions({ ...c, requestTimeoutMs: timeoutMs }));
    try {
      const listed = await client.send(
        new sdk.ListTasksCommand({
          cluster: c.cluster,
          serviceName: c.service,
          desiredStatus: 'STOPPED',
          maxResults: 100,
        }),
      );
      const arns = listed.taskArns ?? [];
      if (!arns.length) continue;
      const described = await client.send(new sdk.DescribeTasksCommand({ cluster: c.cluster, tasks: arns }));
      for (const t of described.tasks ?? []) {
        const at = t.stoppedAt ?? t.stoppingAt;
        if (!at) continue;
        const ms = at.getTime() - window.start.getTime();
        if (ms < 0 || at.getTime() > window.end.getTime() + STOPPED_GRACE_MS) continue;
        const task: StoppedTask = {
          service: `${c.cluster}/${c.service}`,
          taskArn: t.taskArn ?? '',
          stoppedAtMs: ms,
          containers: [],
        };
        if (t.stopCode) task.stopCode = t.stopCode;
        if (t.stoppedReason) task.stoppedReason = t.stoppedReason;
        for (const k of t.containers ?? []) {
          const entry: StoppedTask['containers'][number] = { name: k.name ?? '' };
          if (k.exitCode !== undefined) entry.exitCode = k.exitCode;
          if (k.reason) entry.reason = k.reason;
          task.containers.push(entry);
        }
        tasks.push(task);
      }
    } catch (e) {
      const err = e as { name?: string; message?: string };
      notes.push(
        `ecs: stopped tasks of ${c.cluster}/${c.service} not read: ${redactor.redact(`${err?.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err?.message ?? String(e)}`)}`,
      );
    } finally {
      client.destroy();
    }
  }
  tasks.sort((a, b) => a.stoppedAtMs - b.stoppedAtMs);
  return { tasks, notes };
}
