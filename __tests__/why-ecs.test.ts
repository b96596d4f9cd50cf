// ECS tasks stopped during the run, for the Why block: read through the real ECS SDK client (ListTasks of STOPPED
// tasks, DescribeTasks) from a local stand-in that speaks its wire format, kept only when they stopped within the
// run, and a task killed for memory named as the cause with ECS's own stoppedReason and the container's exit code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stoppedTasks } from '../src/checks/ecs-tasks.js';
import { diagnose } from '../src/diagnose/index.js';
import { decide } from '../src/gate/evaluate.js';
import { parseTargets } from '../src/gate/targets.js';
import { whyLines, whyMarkdown } from '../src/report/why.js';
import { startAwsChecksStub, type AwsChecksStub } from './helpers/aws-checks-stub.js';
import { useFakeAwsCredentials } from './helpers/aws-env.js';
import { sampleRun } from './helpers/sample-run.js';

useFakeAwsCredentials();
let aws: AwsChecksStub;
beforeAll(async () => {
  aws = await startAwsChecksStub();
});
afterAll(() => aws.close());

const start = new Date('2026-12-08T04:00:00.000Z');
const end = new Date('2026-12-08T04:10:00.000Z');
const oom = 'OutOfMemoryError: Container killed due to memory usage';

describe('ECS tasks stopped during the run', () => {
  it('reads the stopped tasks of the checked service within the run, with stoppedReason and exit codes', async () => {
    aws.stopped.set('staging/api', [
      {
        id: 'before',
        stoppedAt: new Date(start.getTime() - 5 * 60_000),
        stopCode: 'ServiceSchedulerInitiated',
        stoppedReason: 'Scaling activity initiated by (deployment ecs-svc/1)',
      },
      {
        id: 'oom',
        stoppedAt: new Date(start.getTime() + 12_000),
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
        containers: [{ name: 'api', exitCode: 137, reason: oom }],
      },
      { id: 'long-after', stoppedAt: new Date(end.getTime() + 10 * 60_000), stopCode: 'UserInitiated' },
    ]);
    const cfg = { cluster: 'staging', service: 'api', minRunning: 1, region: 'eu-west-1', endpoint: aws.url };
    const got = await stoppedTasks([cfg], { start, end }, 5000);
    expect(got.notes).toEqual([]);
    expect(got.tasks).toEqual([
      {
        service: 'staging/api',
        taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/staging/oom',
        stoppedAtMs: 12_000,
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
        containers: [{ name: 'api', exitCode: 137, reason: oom }],
      },
    ]);
    expect(aws.calls.map((c) => c.target)).toEqual([
      'AmazonEC2ContainerServiceV20141113.ListTasks',
      'AmazonEC2ContainerServiceV20141113.DescribeTasks',
    ]);

    // A service ECS does not know: a note, no throw.
    const bad = await stoppedTasks([{ ...cfg, endpoint: 'http://127.0.0.1:9' }], { start, end }, 500);
    expect(bad.tasks).toEqual([]);
    expect(bad.notes[0]).toMatch(/^ecs: stopped tasks of staging\/api not read: /);

    const run = sampleRun({ latency: { count: 100, p99: 900 }, stoppedTasks: got.tasks });
    const d = diagnose(run, decide(run, parseTargets(['p99 < 500ms']), 'any'))!;
    expect(d.cause).toEqual({ kind: 'tasks-killed', subject: 'staging/api' });
    expect(d.stoppedTasks![0]!.outOfMemory).toBe(true);
    expect(whyMarkdown(d)).toContain(
      `**Cause: ECS tasks killed (\`staging/api\`)**: 1 task stopped during the run, for memory at 12 s (EssentialContainerExited, exit 137): \`Essential container in task exited\`, \`${oom}\`.`,
    );
    expect(whyLines(d)).toContain(
      `  - ECS tasks stopped: staging/api for memory at 12 s (EssentialContainerExited, exit 137): Essential container in task exited, ${oom}.`,
    );
  });

  it('lists a task stopped by a deployment without naming it the cause', () => {
    const run = sampleRun({
      latency: { count: 100, p99: 900 },
      stoppedTasks: [
        {
          service: 'staging/api',
          taskArn: 't',
          stoppedAtMs: 3000,
          stopCode: 'ServiceSchedulerInitiated',
          stoppedReason: 'Scaling activity initiated by (deployment ecs-svc/2)',
          containers: [],
        },
      ],
    });
    const d = diagnose(run, decide(run, parseTargets(['p99 < 500ms']), 'any'))!;
    expect(d.cause).toBeUndefined();
    expect(d.stoppedTasks![0]!.outOfMemory).toBe(false);
  });
});
