// The verdict (results.json's `verdict`): its status, every target row and regression row behind it, and the
// baseline it was compared with.
import { z } from 'zod';
import { COMPARISON_OPS, VERDICTS } from '../model.js';

export const target = z.strictObject({
  metric: z.string().describe('Canonical metric name (p99, error_rate, p99{bid}, cpu, ...).'),
  op: z.enum(COMPARISON_OPS),
  value: z.number().describe("Threshold in the metric's unit."),
  unit: z.enum(['ms', '%', '/s', 'count']),
  source: z.string().describe('The expression as written.'),
  optional: z.boolean(),
  endpoint: z.string().optional(),
  status: z.string().optional(),
  rhsMetric: z.strictObject({ metric: z.string(), factor: z.number(), label: z.string() }).optional(),
  warn: z.number().optional().describe('Warning level, in the unit of value.'),
  kept: z
    .literal('phase')
    .optional()
    .describe(
      "The phase's error-rate bound, kept because the targets given named none (only `error_rate: not judged` removes it).",
    ),
});

export const targetResult = z.strictObject({
  target,
  actual: z.number().optional(),
  status: z.enum(['pass', 'fail', 'not_measured']),
  rhs: z.strictObject({ label: z.string(), value: z.number().optional() }).optional(),
  origin: z.enum(['target', 'tool']).optional(),
  note: z.string().optional(),
  warning: z.boolean().optional().describe('The target held, but past its warning level.'),
});

export const verdictSchema = z
  .strictObject({
    status: z
      .enum(VERDICTS)
      .describe('pass, fail, error, or shard (one shard of a sharded run, judged after the merge).'),
    failsCheck: z.boolean().describe('Whether the check fails under fail-on.'),
    targets: z.array(targetResult),
    reasons: z.array(z.string()),
    regressions: z
      .array(
        z.strictObject({
          metric: z.string(),
          current: z.number().optional(),
          baseline: z.number().optional(),
          changePercent: z.number().optional(),
          status: z.enum(['pass', 'regressed', 'improved', 'no_baseline', 'not_comparable']),
          reason: z.string().optional(),
          acceptedBy: z.string().optional(),
          floor: z
            .strictObject({
              value: z.number().describe("In the metric's unit."),
              unit: z.enum(['ms', 'pp']),
              basis: z
                .enum(['rule', 'history', 'sampling', 'resolution'])
                .describe(
                  "rule: written in the rule; history: twice the history's spread; sampling: twice the two runs' sampling noise; resolution: two histogram buckets",
                ),
              why: z.string().describe("As the report's Method line says it, e.g. 2× the history's spread."),
              detail: z.string().optional().describe('The figures behind it, e.g. SD 2.8 ms over 5 runs.'),
            })
            .optional()
            .describe('The absolute floor a worsening had to exceed, and why that much.'),
        }),
      )
      .optional(),
    baseline: z
      .strictObject({
        sha: z.string().optional(),
        createdAt: z.string().optional(),
        source: z.string(),
        note: z.string().optional(),
        method: z.string().optional(),
        trend: z
          .array(
            z.strictObject({
              sha: z.string().optional(),
              createdAt: z.string(),
              p99: z.number().optional(),
              errorRate: z.number().optional(),
            }),
          )
          .optional(),
        statements: z
          .array(z.strictObject({ queryid: z.string(), meanMs: z.number(), calls: z.number() }))
          .optional()
          .describe("The baseline run's top statements as recorded, for the Why block's slower statements."),
      })
      .optional(),
  })
  .describe('The verdict and every target and regression row behind it.');
