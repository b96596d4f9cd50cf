// A local HTTP server that answers GetMetricData the way CloudWatch does on the wire (AWS JSON 1.0: `POST /`,
// `x-amz-target: GraniteServiceVersion20100801.GetMetricData`, epoch-second timestamps), so the real
// @aws-sdk/client-cloudwatch talks to it through its `endpoint` setting. It paginates by datapoints like the real
// service (a series cut by a page is `PartialData` and continues on the next page under NextToken), can hold back
// the newest periods as CloudWatch's publishing lag does, and can answer with throttling errors.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubQuery {
  Id: string;
  ReturnData?: boolean;
  MetricStat?: {
    Metric: { Namespace: string; MetricName: string; Dimensions?: Array<{ Name: string; Value: string }> };
    Period: number;
    Stat: string;
    Unit?: string;
  };
  Expression?: string;
}

export interface StubRequestBody {
  MetricDataQueries: StubQuery[];
  StartTime: number;
  EndTime: number;
  NextToken?: string;
  ScanBy?: string;
}

export interface RecordedRequest {
  target: string | undefined;
  contentType: string | undefined;
  authorization: string | undefined;
  body: StubRequestBody;
  /** What the stub answered: `ok`, `throttled` or `error`. */
  answer: 'ok' | 'throttled' | 'error';
}

export interface CloudWatchStubOptions {
  /**
   * The value of a series at a period start (epoch ms); undefined leaves the period out (CloudWatch publishes the
   * HTTPCode_* counts only for non-zero periods). Default: 50 for every period.
   */
  value?: (q: StubQuery, tMs: number) => number | undefined;
  /** Datapoints per series per page; more makes NextToken pages. Default: all in one page. */
  pageSize?: number;
  /** Periods starting at or after this (epoch ms) are not published yet, by 1-based call number. */
  publishedUntil?: (call: number) => number | undefined;
  /** The first N calls are answered with a Throttling error. */
  throttle?: number;
  /** Answer every call with this error instead. */
  error?: { type: string; message: string; status?: number };
  /** Status code on every result (e.g. Forbidden); default Complete / PartialData by pagination. */
  statusCode?: string;
}

export interface CloudWatchStub {
  url: string;
  requests: RecordedRequest[];
  /** GetMetricData calls received (throttled ones included). */
  calls(): number;
  close(): Promise<void>;
}

const TARGET = 'GraniteServiceVersion20100801.GetMetricData';

export async function startCloudWatchStub(opts: CloudWatchStubOptions = {}): Promise<CloudWatchStub> {
  const requests: RecordedRequest[] = [];
  let calls = 0;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  };

  const handle = (req: IncomingMessage, raw: string, res: ServerResponse): void => {
    const target = req.headers['x-amz-target'] as string | undefined;
    if (req.method !== 'POST' || target !== TARGET) {
      send(
        res,
        400,
        { __type: 'com.amazonaws.cloudwatch#InvalidAction', message: `unsupported ${req.method} ${target}` },
        {
          'x-amzn-query-error': 'InvalidAction;Sender',
        },
      );
      return;
    }
    const body = JSON.parse(raw) as StubRequestBody;
    calls++;
    const record: RecordedRequest = {
      target,
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
      body,
      answer: 'ok',
    };
    requests.push(record);
    if (opts.error) {
      record.answer = 'error';
      const code = opts.error.type;
      send(
        res,
        opts.error.status ?? 400,
        { __type: `com.amazonaws.cloudwatch#${code}`, message: opts.error.message },
        {
          // The query-protocol code has no `Exception` suffix (InvalidParameterValueException -> InvalidParameterValue).
          'x-amzn-query-error': `${code.replace(/Exception$/, '')};Sender`,
        },
      );
      return;
    }
    if (calls <= (opts.throttle ?? 0)) {
      record.answer = 'throttled';
      send(
        res,
        400,
        { __type: 'com.amazonaws.cloudwatch#Throttling', message: 'Rate exceeded' },
        { 'x-amzn-query-error': 'Throttling;Sender' },
      );
      return;
    }
    if (body.MetricDataQueries.length > 500) {
      send(
        res,
        400,
        {
          __type: 'com.amazonaws.cloudwatch#InvalidParameterValue',
          message: 'The collection MetricDataQueries must not have a size greater than 500.',
        },
        {
          'x-amzn-query-error': 'InvalidParameterValue;Sender',
        },
      );
      return;
    }
    const page = body.NextToken ? Number(body.NextToken) : 0;
    const size = opts.pageSize ?? Number.MAX_SAFE_INTEGER;
    const published = opts.publishedUntil?.(calls);
    let more = false;
    const results = body.MetricDataQueries.filter((q) => q.ReturnData !== false && q.MetricStat).map((q) => {
      const periodMs = q.MetricStat!.Period * 1000;
      const points: Array<[number, number]> = [];
      for (let t = body.StartTime * 1000; t < body.EndTime * 1000; t += periodMs) {
        if (published !== undefined && t >= published) break;
        const v = (opts.value ?? (() => 50))(q, t);
        if (v !== undefined) points.push([t, v]);
      }
      const slice = points.slice(page * size, (page + 1) * size);
      const partial = points.length > (page + 1) * size;
      if (partial) more = true;
      return {
        Id: q.Id,
        Label: q.MetricStat!.Metric.MetricName,
        Timestamps: slice.map(([t]) => t / 1000),
        Values: slice.map(([, v]) => v),
        StatusCode: opts.statusCode ?? (partial ? 'PartialData' : 'Complete'),
        ...(opts.statusCode === 'Forbidden'
          ? { Messages: [{ Code: 'Forbidden', Value: 'Insufficient permissions' }] }
          : {}),
      };
    });
    send(res, 200, { MetricDataResults: results, Messages: [], ...(more ? { NextToken: String(page + 1) } : {}) });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        handle(req, Buffer.concat(chunks).toString('utf8'), res);
      } catch (e) {
        send(res, 500, { __type: 'com.amazonaws.cloudwatch#InternalServiceFault', message: String(e) });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    calls: () => calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
