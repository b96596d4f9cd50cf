// The measurements every part of results.json is written in: ms and counts, a latency summary, a mergeable
// histogram, the successful responses' figures, errors by kind, failed checks and one of the slowest requests.
import { z } from 'zod';
import { ERROR_KINDS } from '../model.js';

export const ms = (what: string) => z.number().describe(`${what}, ms`);
export const count = (what: string) => z.number().int().min(0).describe(what);
export const counts = (what: string) => z.record(z.string(), z.number().int().min(0)).describe(what);

export const histogram = z
  .strictObject({
    layout: z.literal('loglinear-us-1024').describe('Layout tag: log-linear buckets of microseconds, 0.1 % precision.'),
    count: count('Samples.'),
    minUs: z.number().describe('Exact minimum, µs.'),
    maxUs: z.number().describe('Exact maximum, µs.'),
    sumUs: z.number().describe('Exact sum, µs.'),
    buckets: z
      .array(z.tuple([z.number().int(), z.number().int()]))
      .describe('Sparse [bucket index, count] pairs, ascending.'),
  })
  .describe('A mergeable latency histogram.');

export const latency = z
  .strictObject({
    count: count('Latency samples.'),
    min: ms('Minimum').optional(),
    mean: ms('Mean').optional(),
    p50: ms('Median').optional(),
    p90: ms('90th percentile').optional(),
    p95: ms('95th percentile').optional(),
    p99: ms('99th percentile').optional(),
    p999: ms('99.9th percentile').optional(),
    max: ms('Maximum').optional(),
  })
  .describe('Latency summary in ms; a statistic the source did not record is absent, never 0.');

export const served = z
  .strictObject({
    requests: count('Successful responses (no error).'),
    latency,
    histogram: histogram.optional(),
  })
  .describe(
    'The successful responses only: latency targets are judged on their latency, throughput targets on their rate.',
  );

export const errorsByKind = z
  .partialRecord(z.enum(ERROR_KINDS), z.number().int().min(0))
  .describe('Errors by kind: http_5xx, http_4xx, timeout, connection_refused, connection_reset, dns, check, other.');
export const checkFailures = counts('Failed expectations and captures, by message.');

export const slowRequest = z
  .strictObject({
    traceId: z.string().describe('The W3C trace id (32 hex digits) of its traceparent header.'),
    endpoint: z.string(),
    latencyMs: ms('Latency'),
    atMs: ms('Sent at, from the run start'),
    status: z.number().optional().describe('HTTP status; absent for a transport error.'),
  })
  .describe('One of the slowest requests.');
