// Local stand-ins for the two AWS APIs the environment checks call, speaking their wire formats so the real SDK
// clients talk to them through their `endpoint` setting:
// - ECS DescribeServices: AWS JSON 1.1 (`POST /`, `content-type: application/x-amz-json-1.1`,
//   `x-amz-target: AmazonEC2ContainerServiceV20141113.DescribeServices`), errors as `{"__type", "message"}` + 400.
// - ELBv2 DescribeTargetHealth: the query protocol (`POST /`, form-encoded `Action=DescribeTargetHealth&
//   Version=2015-12-01&TargetGroupArn=...`), answered in XML, errors as `<ErrorResponse>` + 400.
// - ECS ListTasks (desiredStatus STOPPED) and DescribeTasks, same protocol: the tasks that stopped, for the Why block.
// The state they answer with is the test's to change between calls.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EcsServiceState {
  serviceName: string;
  status?: string;
  runningCount: number;
  desiredCount: number;
  pendingCount?: number;
  deployments?: Array<{ status: string; rolloutState?: string; runningCount: number; desiredCount: number }>;
}

export interface TargetState {
  id: string;
  port?: number;
  state: 'healthy' | 'unhealthy' | 'initial' | 'draining' | 'unused' | 'unavailable';
  reason?: string;
}

/** A stopped task as ECS DescribeTasks reports it (times as Dates; the wire has epoch seconds). */
export interface StoppedTaskState {
  id: string;
  stoppedAt: Date;
  stopCode?: string;
  stoppedReason?: string;
  containers?: Array<{ name: string; exitCode?: number; reason?: string }>;
}

export interface AwsChecksStub {
  url: string;
  /** Stopped tasks by `cluster/service`, for ListTasks (desiredStatus STOPPED) and DescribeTasks. */
  stopped: Map<string, StoppedTaskState[]>;
  /** Services by `cluster/service`; a missing one is answered as a failure MISSING, like ECS does. */
  services: Map<string, EcsServiceState>;
  /** Targets by target group ARN; a missing group is TargetGroupNotFound. */
  targets: Map<string, TargetState[]>;
  calls: Array<{ target?: string; contentType?: string; body: string }>;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function startAwsChecksStub(): Promise<AwsChecksStub> {
  const services = new Map<string, EcsServiceState>();
  const targets = new Map<string, TargetState[]>();
  const calls: AwsChecksStub['calls'] = [];
  const stopped = new Map<string, StoppedTaskState[]>();
  const taskArn = (cluster: string, id: string): string => `arn:aws:ecs:eu-west-1:123456789012:task/${cluster}/${id}`;
  const json = (res: ServerResponse, v: unknown): void => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'stub-request' });
    res.end(JSON.stringify(v));
  };
  const listTasks = (res: ServerResponse, body: string): void => {
    const input = JSON.parse(body) as { cluster?: string; serviceName?: string; desiredStatus?: string };
    const cluster = input.cluster ?? 'default';
    const list = input.desiredStatus === 'STOPPED' ? (stopped.get(`${cluster}/${input.serviceName}`) ?? []) : [];
    json(res, { taskArns: list.map((t) => taskArn(cluster, t.id)) });
  };
  const describeTasks = (res: ServerResponse, body: string): void => {
    const input = JSON.parse(body) as { cluster?: string; tasks?: string[] };
    const cluster = input.cluster ?? 'default';
    const all = [...stopped.entries()].filter(([k]) => k.startsWith(`${cluster}/`)).flatMap(([, v]) => v);
    const tasks = all
      .filter((t) => (input.tasks ?? []).includes(taskArn(cluster, t.id)))
      .map((t) => ({
        taskArn: taskArn(cluster, t.id),
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        stoppedAt: t.stoppedAt.getTime() / 1000,
        ...(t.stopCode ? { stopCode: t.stopCode } : {}),
        ...(t.stoppedReason ? { stoppedReason: t.stoppedReason } : {}),
        containers: (t.containers ?? []).map((k) => ({
          name: k.name,
          lastStatus: 'STOPPED',
          ...(k.exitCode !== undefined ? { exitCode: k.exitCode } : {}),
          ...(k.reason ? { reason: k.reason } : {}),
        })),
      }));
    json(res, { tasks, failures: [] });
  };

  const ecs = (res: ServerResponse, body: string): void => {
    const input = JSON.parse(body) as { cluster?: string; services?: string[] };
    const cluster = input.cluster ?? 'default';
    const found: unknown[] = [];
    const failures: unknown[] = [];
    for (const name of input.services ?? []) {
      const s = services.get(`${cluster}/${name}`);
      const arn = `arn:aws:ecs:eu-west-1:123456789012:service/${cluster}/${name}`;
      if (!s) {
        failures.push({ arn, reason: 'MISSING' });
        continue;
      }
      found.push({
        serviceArn: arn,
        serviceName: s.serviceName,
        clusterArn: `arn:aws:ecs:eu-west-1:123456789012:cluster/${cluster}`,
        status: s.status ?? 'ACTIVE',
        desiredCount: s.desiredCount,
        runningCount: s.runningCount,
        pendingCount: s.pendingCount ?? 0,
        launchType: 'FARGATE',
        deployments: (
          s.deployments ?? [
            {
              status: 'PRIMARY',
              rolloutState: 'COMPLETED',
              runningCount: s.runningCount,
              desiredCount: s.desiredCount,
            },
          ]
        ).map((d, i) => ({
          id: `ecs-svc/${1000 + i}`,
          status: d.status,
          rolloutState: d.rolloutState,
          runningCount: d.runningCount,
          desiredCount: d.desiredCount,
          pendingCount: 0,
          createdAt: 1765150000 + i,
          updatedAt: 1765150100 + i,
        })),
      });
    }
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'stub-request' });
    res.end(JSON.stringify({ services: found, failures }));
  };

  const elb = (res: ServerResponse, body: string): void => {
    const form = new URLSearchParams(body);
    const arn = form.get('TargetGroupArn') ?? '';
    const list = targets.get(arn);
    if (form.get('Action') !== 'DescribeTargetHealth' || !list) {
      res.writeHead(400, { 'content-type': 'text/xml' });
      res.end(
        `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type>` +
          `<Code>TargetGroupNotFound</Code><Message>Target groups '${xml(arn)}' not found</Message></Error><RequestId>stub-request</RequestId></ErrorResponse>`,
      );
      return;
    }
    const members = list
      .map(
        (t) =>
          `<member><HealthCheckPort>${t.port ?? 80}</HealthCheckPort><TargetHealth><State>${t.state}</State>` +
          (t.reason ? `<Reason>${xml(t.reason)}</Reason><Description>Health checks failed</Description>` : '') +
          `</TargetHealth><Target><Port>${t.port ?? 80}</Port><Id>${xml(t.id)}</Id></Target></member>`,
      )
      .join('');
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(
      `<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeTargetHealthResult>` +
        `<TargetHealthDescriptions>${members}</TargetHealthDescriptions></DescribeTargetHealthResult>` +
        `<ResponseMetadata><RequestId>stub-request</RequestId></ResponseMetadata></DescribeTargetHealthResponse>`,
    );
  };

  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const target = req.headers['x-amz-target'] as string | undefined;
      const contentType = req.headers['content-type'];
      calls.push({ ...(target ? { target } : {}), ...(contentType ? { contentType } : {}), body });
      if (
        req.method === 'POST' &&
        target === 'AmazonEC2ContainerServiceV20141113.DescribeServices' &&
        contentType === 'application/x-amz-json-1.1'
      )
        return ecs(res, body);
      if (
        req.method === 'POST' &&
        target === 'AmazonEC2ContainerServiceV20141113.ListTasks' &&
        contentType === 'application/x-amz-json-1.1'
      )
        return listTasks(res, body);
      if (
        req.method === 'POST' &&
        target === 'AmazonEC2ContainerServiceV20141113.DescribeTasks' &&
        contentType === 'application/x-amz-json-1.1'
      )
        return describeTasks(res, body);
      if (req.method === 'POST' && contentType?.startsWith('application/x-www-form-urlencoded')) return elb(res, body);
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ __type: 'UnknownOperationException', message: `unexpected ${target ?? contentType}` }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    services,
    targets,
    stopped,
    calls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
