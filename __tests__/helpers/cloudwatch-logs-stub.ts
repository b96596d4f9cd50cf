// A local HTTP server that answers CloudWatch Logs Insights the way the service does on the wire (AWS JSON 1.1:
// `POST /`, `content-type: application/x-amz-json-1.1`, `x-amz-target: Logs_20140328.StartQuery` /
// `GetQueryResults` / `StopQuery`, epoch-second times), so the real @aws-sdk/client-cloudwatch-logs talks to it
// through its `endpoint` setting. Each query goes through the statuses a script gives (Scheduled, Running, then
// Complete, Failed, Cancelled or Timeout), and its results come from log events the test supplies, filtered by
// the query's time range and pattern as Logs Insights would.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LogEvent {
  /** Epoch ms. */
  timestamp: number;
  message: string;
  logGroup?: string;
}

export interface StartQueryBody {
  logGroupNames?: string[];
  logGroupName?: string;
  startTime: number;
  endTime: number;
  queryString: string;
  limit?: number;
}

export interface LogsStubOptions {
  events: LogEvent[];
  /** Statuses GetQueryResults reports for a query, one per call; the last repeats. Default: Running, Complete. */
  statuses?: (queryString: string) => string[];
  /** Answer StartQuery with this error (e.g. MalformedQueryException, ThrottlingException). */
  startError?: { type: string; message: string; status?: number; times?: number };
}

export interface LogsStub {
  url: string;
  started: Array<StartQueryBody & { target: string; contentType?: string }>;
  stopped: string[];
  /** GetQueryResults calls. */
  polls(): number;
  close(): Promise<void>;
}

const PREFIX = 'Logs_20140328.';

/** The two query shapes perf-gate sends by default, answered from the events; anything else counts rows. */
function answer(body: StartQueryBody, events: LogEvent[]): Array<Array<{ field: string; value: string }>> {
  const groups = body.logGroupNames ?? (body.logGroupName ? [body.logGroupName] : []);
  const pattern = /like \/(.*?)\/ \|/.exec(body.queryString)?.[1];
  const re = pattern ? new RegExp(pattern) : /./;
  const matching = events.filter(
    (e) =>
      e.timestamp >= body.startTime * 1000 &&
      e.timestamp <= body.endTime * 1000 + 999 &&
      re.test(e.message) &&
      (!e.logGroup || groups.includes(e.logGroup)),
  );
  if (/stats count\(\*\) as count by @message/.test(body.queryString)) {
    const counts = new Map<string, number>();
    for (const e of matching) counts.set(e.message, (counts.get(e.message) ?? 0) + 1);
    return [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([message, n]) => [
        { field: '@message', value: message },
        { field: 'count', value: String(n) },
      ]);
  }
  if (/stats count\(\*\) as count/.test(body.queryString))
    return [[{ field: 'count', value: String(matching.length) }]];
  return matching.map((e) => [
    { field: '@timestamp', value: new Date(e.timestamp).toISOString().replace('T', ' ').slice(0, 23) },
    { field: '@message', value: e.message },
  ]);
}

export async function startLogsStub(opts: LogsStubOptions): Promise<LogsStub> {
  const started: LogsStub['started'] = [];
  const stopped: string[] = [];
  const queries = new Map<string, { body: StartQueryBody; statuses: string[]; polls: number }>();
  let polls = 0;
  let startErrors = 0;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  };
  const error = (res: ServerResponse, type: string, message: string, status = 400): void =>
    send(res, status, { __type: type, message }, { 'x-amzn-errortype': type });

  const handle = (req: IncomingMessage, raw: string, res: ServerResponse): void => {
    const target = String(req.headers['x-amz-target'] ?? '');
    if (
      req.method !== 'POST' ||
      !target.startsWith(PREFIX) ||
      req.headers['content-type'] !== 'application/x-amz-json-1.1'
    ) {
      return error(
        res,
        'UnknownOperationException',
        `unsupported ${req.method} ${target} ${req.headers['content-type']}`,
      );
    }
    const body = JSON.parse(raw || '{}') as Record<string, unknown>;
    switch (target.slice(PREFIX.length)) {
      case 'StartQuery': {
        const b = body as unknown as StartQueryBody;
        started.push({ ...b, target, contentType: req.headers['content-type'] });
        const e = opts.startError;
        if (e && startErrors < (e.times ?? Number.POSITIVE_INFINITY)) {
          startErrors++;
          return error(res, e.type, e.message, e.status);
        }
        if (typeof b.startTime !== 'number' || typeof b.endTime !== 'number' || !b.queryString) {
          return error(res, 'InvalidParameterException', 'startTime, endTime and queryString are required');
        }
        const id = `q-${queries.size + 1}-0123456789abcdef`;
        queries.set(id, { body: b, statuses: opts.statuses?.(b.queryString) ?? ['Running', 'Complete'], polls: 0 });
        return send(res, 200, { queryId: id });
      }
      case 'GetQueryResults': {
        polls++;
        const q = queries.get(String(body.queryId));
        if (!q) return error(res, 'ResourceNotFoundException', `query ${String(body.queryId)} not found`);
        const status = q.statuses[Math.min(q.polls, q.statuses.length - 1)]!;
        q.polls++;
        const results = status === 'Complete' ? answer(q.body, opts.events) : [];
        return send(res, 200, {
          results,
          statistics: { recordsMatched: results.length, recordsScanned: opts.events.length, bytesScanned: 1000 },
          status,
        });
      }
      case 'StopQuery': {
        stopped.push(String(body.queryId));
        return send(res, 200, { success: true });
      }
      default:
        return error(res, 'UnknownOperationException', `unsupported ${target}`);
    }
  };

  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => handle(req, raw, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    started,
    stopped,
    polls: () => polls,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
