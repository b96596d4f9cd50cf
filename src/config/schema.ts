// The shape of `.github/perf-gate.yml`. Keys are kebab-case like the action's inputs, so a value can move
// between the workflow and the file without renaming.
import { z } from 'zod';
import { parseDuration, parseRate } from '../units.js';
import { sourcesSchema } from './sources.js';
import { checksSchema } from './checks.js';
import { DECIDE_ON } from '../model.js';
import { PHASE_ANALYSES } from '../phases/analysis.js';
import { baselineConfigSchema } from './baseline.js';
import { formatCount, LIMITS } from './limits.js';

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v * 1000 : parseDuration(v);
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected a duration such as 500ms, 30s, 2m or 1h (a bare number is seconds)',
    });
    return z.NEVER;
  }
  return ms;
});

const rate = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const r = typeof v === 'number' ? v : parseRate(v);
  if (r === undefined || !Number.isFinite(r) || r < 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a non-negative arrival rate such as 100 or 100/s' });
    return z.NEVER;
  }
  return r;
});

/** A duration within [minMs, maxMs]; `what` says what it is for in the message. */
const boundedDuration = (minMs: number, maxMs: number, allowed: string) =>
  duration.transform((ms, ctx) => {
    if (ms < minMs || ms > maxMs) {
      ctx.addIssue({ code: 'custom', input: ms, message: `${formatMs(ms)} is outside the allowed range: ${allowed}` });
      return z.NEVER;
    }
    return ms;
  });

const boundedRate = rate.transform((r, ctx) => {
  if (r > LIMITS.rate) {
    ctx.addIssue({
      code: 'custom',
      input: r,
      message: `${formatCount(r)} arrivals/s is over the limit of ${formatCount(LIMITS.rate)}/s`,
    });
    return z.NEVER;
  }
  return r;
});

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
}

const headers = z.record(z.string(), z.union([z.string(), z.number()]).transform(String));

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;

// `token: $.token`, `rid: { header: x-request-id }`, `id: { regex: "id=(\\d+)" }`.
const CAPTURE_HELP = 'a capture is a JSONPath starting with $ (e.g. $.token), { header: name } or { regex: "..." }';
const captureSpec = z.unknown().transform((v, ctx): string | { header: string } | { regex: string } => {
  if (typeof v === 'string' && v.startsWith('$')) return v;
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v);
    const [key, value] = entries[0] ?? [];
    if (entries.length === 1 && typeof value === 'string' && value !== '') {
      if (key === 'header') return { header: value };
      if (key === 'regex') return { regex: value };
    }
  }
  ctx.addIssue({ code: 'custom', message: CAPTURE_HELP });
  return z.NEVER;
});

const isStatus = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599;
const statusCodes = z.unknown().transform((v, ctx): number | number[] => {
  if (isStatus(v) || (Array.isArray(v) && v.length > 0 && v.every(isStatus))) return v;
  ctx.addIssue({
    code: 'custom',
    message: 'expected a status code (100-599) or a list of them, e.g. 201 or [200, 201]',
  });
  return z.NEVER;
});

const expectSpec = z.strictObject({
  status: statusCodes.optional(),
  // JSONPath -> expected value, or `exists`.
  json: z
    .record(z.string(), z.unknown())
    .superRefine((rec, ctx) => {
      for (const key of Object.keys(rec)) {
        if (!key.startsWith('$'))
          ctx.addIssue({
            code: 'custom',
            input: key,
            message: `"${key}" is not a JSONPath: write it from the body's root, e.g. $.${key}`,
          });
      }
    })
    .optional(),
  contains: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  header: z.record(z.string().min(1), z.union([z.string(), z.number()]).transform(String)).optional(),
});

const requestFields = {
  name: z.string().min(1).optional(),
  headers: headers.optional(),
  json: z.unknown().optional(),
  body: z.string().optional(),
  capture: z
    .record(
      z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'capture names are letters, digits, _ and - (starting with a letter or _)'),
      captureSpec,
    )
    .optional(),
  expect: expectSpec.optional(),
};

const flowData = z.union([
  z.string().min(1),
  z.strictObject({ file: z.string().min(1), order: z.enum(['sequential', 'random']).optional() }),
]);

// `- post: /api/bids` with `json:` beside it, `- think: 2s`, or the long form `- request: {method, path}`.
const STEP_KEYS = ['think', 'request', ...METHODS];

const stepForms = z.union([
  z.strictObject({ think: boundedDuration(0, LIMITS.thinkMs, 'at most 10m') }),
  z.strictObject({ request: z.strictObject({ method: z.string(), path: z.string(), ...requestFields }) }),
  ...METHODS.map((m) => z.strictObject({ [m]: z.string(), ...requestFields })),
]);

// Without this a step with a misspelt verb gets one complaint per union branch, none of them helpful.
const step = z.preprocess((value, ctx) => {
  if (
    value &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !Object.keys(value).some((k) => STEP_KEYS.includes(k))
  ) {
    ctx.addIssue({ code: 'custom', input: value, message: `a step needs one of: ${STEP_KEYS.join(', ')}` });
  }
  return value;
}, stepForms);

const stageDuration = boundedDuration(1, LIMITS.phaseMs, 'from 1ms to 24h');
const stage = z.union([
  z.strictObject({ duration: stageDuration, rate: boundedRate, name: z.string().optional() }),
  z.strictObject({ duration: stageDuration, from: boundedRate, to: boundedRate, name: z.string().optional() }),
]);

const targetList = z.union([z.string(), z.array(z.string())]);

export const configFileSchema = z.strictObject({
  target: z.string().optional(),
  phase: z.string().optional(),
  engine: z.string().optional(),
  targets: targetList.optional(),
  duration: z.union([z.string(), z.number()]).optional(),
  'duration-scale': z.union([z.string(), z.number()]).optional(),
  rate: z.union([z.string(), z.number()]).optional(),
  'decide-on': z.string().optional(),
  // `abort: false` (or an empty list) switches off a phase's default guards.
  abort: z.union([z.string(), z.array(z.string()), z.literal(false)]).optional(),
  'fail-on': z.string().optional(),
  comment: z.union([z.string(), z.boolean()]).optional(),
  'comment-header': z.string().optional(),
  'output-dir': z.string().optional(),
  baseline: baselineConfigSchema.optional(),
  script: z.string().optional(),
  results: targetList.optional(),
  distributed: z.string().optional(),
  count: z.number().int().positive().max(LIMITS.count).optional(),
  region: z.string().optional(),
  interval: boundedDuration(LIMITS.intervalMinMs, LIMITS.intervalMaxMs, 'from 100ms to 1h').optional(),
  http: z
    .strictObject({
      timeout: boundedDuration(LIMITS.timeoutMinMs, LIMITS.timeoutMaxMs, 'from 10ms to 10m').optional(),
      'max-in-flight': z.number().int().positive().max(LIMITS.maxInFlight).optional(),
      'count-4xx-as-errors': z.boolean().optional(),
      traceparent: z.boolean().optional(),
      headers: headers.optional(),
    })
    .optional(),
  flows: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        weight: z.number().positive().optional(),
        data: flowData.optional(),
        steps: z.array(step).min(1).max(LIMITS.steps),
      }),
    )
    .min(1)
    .max(LIMITS.flows)
    .optional(),
  sources: sourcesSchema.optional(),
  // What must hold before the load (src/checks); `smoke: false` skips running each flow once first.
  checks: checksSchema.optional(),
  smoke: z.boolean().optional(),
  phases: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'phase names are letters, digits, - and _'),
      z.strictObject({
        description: z.string().optional(),
        stages: z.array(stage).min(1).max(LIMITS.stages),
        targets: targetList.optional(),
        analyze: z.array(z.enum(PHASE_ANALYSES)).optional(),
        'decide-on': z.enum(DECIDE_ON).optional(),
        abort: z.union([z.string(), z.array(z.string()), z.literal(false)]).optional(),
      }),
    )
    .optional(),
});

export type ConfigFile = z.infer<typeof configFileSchema>;
export type StepInput = z.infer<typeof stepForms>;
export const HTTP_METHODS = METHODS;
