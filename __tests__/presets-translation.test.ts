// The four presets (src/phases/presets.ts) as the other engines receive them:
// - k6: `toK6Scenarios` for every preset, full length and scaled, checked against k6's scenario schema (a small
//   validator written from k6's own source, below) and against the preset's shape: same arrivals (integral of the
//   rate), same peak, same length.
// - Artillery: `toArtilleryPhases` for every preset at full length (the arithmetic: seconds, arrivalRate/rampTo,
//   pauses), checked against the phase rules of Artillery's source, and every preset scaled down to a few seconds
//   and run by the real Artillery against demo/server.ts: the arrivals it created match the preset's integral and
//   every phase ran. Artillery comes from the engine's tool cache (installed there on first use, as in
//   engine-artillery.test.ts); the four runs take about 30 s together.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer } from '../demo/server.ts';
import type { Config } from '../src/config/types.js';
import {
  ARTILLERY_VERSION,
  artilleryEngine,
  resolveArtillery,
  toArtilleryPhases,
  type ArtilleryPhase,
} from '../src/engines/artillery/index.js';
import { SCENARIO_NAME, toK6Scenarios, type K6Scenario } from '../src/engines/k6/index.js';
import type { PresetPhaseName, Stage } from '../src/model.js';
import { peakRate, PRESETS, shapeStages, totalDurationMs } from '../src/phases/presets.js';
import type { Logger } from '../src/log.js';

const NAMES = Object.keys(PRESETS) as PresetPhaseName[];

/** Arrivals the stages ask for: the integral of the (piecewise linear) rate. */
function integral(stages: Stage[]): number {
  return stages.reduce((n, s) => n + (s.durationMs / 1000) * ((s.startRate + s.endRate) / 2), 0);
}

/** The preset's rate at `t` ms (the left stage at a boundary). */
function rateAt(stages: Stage[], t: number): number {
  let start = 0;
  for (const s of stages) {
    if (t <= start + s.durationMs) return s.startRate + ((s.endRate - s.startRate) * (t - start)) / s.durationMs;
    start += s.durationMs;
  }
  return 0;
}

function memLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warning: (m) => lines.push(`warning: ${m}`), debug: () => {} };
}

// =========================================================================================================
// k6's scenario schema, from k6's source (grafana/k6):
//  - lib/executor/base_config.go: the scenario name must match ^[0-9a-zA-Z_-]+$; `executor`, `startTime`,
//    `gracefulStop`, `env`, `exec`, `tags`, `options` are the common keys; startTime and gracefulStop >= 0; exec,
//    when given, not empty.
//  - lib/executor/constant_arrival_rate.go: `rate` (null.Int) required and > 0, `timeUnit` > 0 (default 1s),
//    `duration` required and >= minDuration (1s, lib/executor/constant_vus.go), `preAllocatedVUs` required and
//    >= 0, `maxVUs` >= preAllocatedVUs (defaults to it).
//  - lib/executor/ramping_arrival_rate.go: `startRate` >= 0 (optional, default 0), `timeUnit` (the Validate there
//    only rejects < 0, but its cal() divides by it, so 0 is no usable value either), `stages` checked by
//    validateStages (lib/executor/helpers.go: at least one; each `duration` given and >= 0, `target` given and
//    >= 0), `preAllocatedVUs` required and >= 0, `maxVUs` >= preAllocatedVUs. A scenario has work only when
//    maxVUs > 0 (HasWork).
//  - Each executor's config is decoded by lib.StrictJSONUnmarshal (DisallowUnknownFields): unknown keys fail.
//  - Integers are null.Int (gopkg.in/guregu/null.v3), which decodes a JSON number into int64: 2.5 fails.
//  - Durations are types.NullDuration (lib/types/types.go): a JSON number is milliseconds; a string goes through
//    ParseExtendedDuration: a bare float is milliseconds, `<days>d<go duration>` adds days, anything else must
//    parse with Go's time.ParseDuration.
// Documented in the k6 docs under Scenarios > Executors > Constant arrival rate / Ramping arrival rate
// (grafana.com/docs/k6/latest/using-k6/scenarios/executors/): the same option names, types and requirements.
// =========================================================================================================

const GO_UNITS_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  '\u00b5s': 1e3,
  '\u03bcs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.ParseDuration, in nanoseconds; undefined where Go returns an error. */
function goParseDuration(text: string): number | undefined {
  let s = text;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  while (s !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole = '', frac = ''] = [num[1], num[2]];
    // Go: "invalid duration" unless there are digits before or after the dot.
    if (whole === '' && frac === '') return undefined;
    s = s.slice(num[0].length);
    const unit = /^[^0-9.]+/.exec(s)?.[0];
    if (!unit || GO_UNITS_NS[unit] === undefined) return undefined; // missing or unknown unit
    s = s.slice(unit.length);
    total += (Number(whole || '0') + Number(`0.${frac || '0'}`)) * GO_UNITS_NS[unit]!;
  }
  return neg ? -total : total;
}

/** k6's types.NullDuration from JSON, in milliseconds; undefined when k6 would fail to decode it. */
function k6DurationMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  // ParseExtendedDuration: strconv.ParseFloat first (milliseconds), then days, then time.ParseDuration.
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) return Number(v);
  const d = v.indexOf('d');
  if (d < 0) {
    const ns = goParseDuration(v);
    return ns === undefined ? undefined : ns / 1e6;
  }
  if (!/^[+-]?\d+$/.test(v.slice(0, d))) return undefined;
  const days = Number(v.slice(0, d));
  const restNs = d + 1 < v.length ? goParseDuration(v.slice(d + 1)) : 0;
  if (restNs === undefined || restNs < 0) return undefined;
  return days * 86_400_000 + (days < 0 ? -restNs : restNs) / 1e6;
}

const isJsonInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

const BASE_KEYS = ['executor', 'startTime', 'gracefulStop', 'env', 'exec', 'tags', 'options'];
const ARRIVAL_KEYS: Record<string, string[]> = {
  'constant-arrival-rate': ['rate', 'timeUnit', 'duration', 'preAllocatedVUs', 'maxVUs'],
  'ramping-arrival-rate': ['startRate', 'timeUnit', 'stages', 'preAllocatedVUs', 'maxVUs'],
};

/** What k6 would refuse in a `scenarios` object of arrival-rate scenarios (the only executors perf-gate writes). */
function k6ScenarioErrors(scenarios: Record<string, unknown>): string[] {
  const errors: string[] = [];
  if (Object.keys(scenarios).length === 0) errors.push('no scenario');
  for (const [name, raw] of Object.entries(scenarios)) {
    const err = (m: string) => errors.push(`${name}: ${m}`);
    if (!/^[0-9a-zA-Z_-]+$/.test(name))
      err('the scenario name should contain only numbers, latin letters, underscores, and dashes');
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      err('not an object');
      continue;
    }
    const s = raw as Record<string, unknown>;
    const own = ARRIVAL_KEYS[String(s.executor)];
    if (!own) {
      err(`executor ${JSON.stringify(s.executor)} is not an arrival-rate executor`);
      continue;
    }
    for (const k of Object.keys(s)) if (![...BASE_KEYS, ...own].includes(k)) err(`json: unknown field "${k}"`);

    // Base config.
    for (const k of ['startTime', 'gracefulStop']) {
      if (s[k] === undefined) continue;
      const ms = k6DurationMs(s[k]);
      if (ms === undefined) err(`${k}: invalid duration ${JSON.stringify(s[k])}`);
      else if (ms < 0) err(`the ${k} can't be negative`);
    }
    if (s.exec !== undefined && (typeof s.exec !== 'string' || s.exec === '')) err('exec value cannot be empty');
    for (const k of ['env', 'tags']) {
      const v = s[k];
      if (
        v !== undefined &&
        (typeof v !== 'object' || v === null || Object.values(v).some((x) => typeof x !== 'string'))
      )
        err(`${k} must map names to strings`);
    }

    // Shared by both arrival-rate executors.
    const intField = (k: string, required: boolean): number | undefined => {
      if (s[k] === undefined || s[k] === null) {
        if (required) err(`${k} isn't specified`);
        return undefined;
      }
      if (!isJsonInt(s[k])) {
        err(`${k}: ${JSON.stringify(s[k])} is not an integer`);
        return undefined;
      }
      return s[k] as number;
    };
    const timeUnitMs = s.timeUnit === undefined ? 1000 : k6DurationMs(s.timeUnit);
    if (timeUnitMs === undefined) err(`timeUnit: invalid duration ${JSON.stringify(s.timeUnit)}`);
    else if (timeUnitMs <= 0) err('the timeUnit must be more than 0');
    const pre = intField('preAllocatedVUs', true);
    if (pre !== undefined && pre < 0) err("the number of preAllocatedVUs can't be negative");
    const max = intField('maxVUs', false);
    if (max !== undefined && pre !== undefined && max < pre) err("maxVUs can't be less than preAllocatedVUs");
    if ((max ?? pre ?? 0) <= 0) err('maxVUs is 0: the scenario has no work');

    if (s.executor === 'constant-arrival-rate') {
      const rate = intField('rate', true);
      if (rate !== undefined && rate <= 0) err('the iteration rate must be more than 0');
      if (s.duration === undefined || s.duration === null) err('the duration is unspecified');
      else {
        const ms = k6DurationMs(s.duration);
        if (ms === undefined) err(`duration: invalid duration ${JSON.stringify(s.duration)}`);
        else if (ms < 1000) err(`the duration must be at least 1s, but is ${String(s.duration)}`);
      }
    } else {
      const start = intField('startRate', false);
      if (start !== undefined && start < 0) err("the startRate value can't be negative");
      const stages = s.stages;
      if (!Array.isArray(stages) || stages.length === 0) err('at least one stage has to be specified');
      else {
        stages.forEach((st: unknown, i) => {
          const n = i + 1;
          if (typeof st !== 'object' || st === null) {
            err(`stage ${n} is not an object`);
            return;
          }
          const o = st as Record<string, unknown>;
          for (const k of Object.keys(o))
            if (k !== 'duration' && k !== 'target') err(`stage ${n}: json: unknown field "${k}"`);
          if (o.duration === undefined || o.duration === null) err(`stage ${n} doesn't have a duration`);
          else {
            const ms = k6DurationMs(o.duration);
            if (ms === undefined) err(`stage ${n}: invalid duration ${JSON.stringify(o.duration)}`);
            else if (ms < 0) err(`the duration for stage ${n} can't be negative`);
          }
          if (o.target === undefined || o.target === null) err(`stage ${n} doesn't have a target`);
          else if (!isJsonInt(o.target)) err(`stage ${n}: target ${JSON.stringify(o.target)} is not an integer`);
          else if (o.target < 0) err(`the target for stage ${n} can't be negative`);
        });
      }
    }
  }
  return errors;
}

/** A (valid) arrival-rate scenario as its rate over time, in arrivals per second, like k6 schedules it. */
interface K6Shape {
  totalMs: number;
  peak: number;
  arrivals: number;
  rateAt(t: number): number;
}

function k6Shape(s: K6Scenario): K6Shape {
  const unitS = k6DurationMs(s.timeUnit)! / 1000;
  // [start ms, end ms, rate at start, rate at end] per stretch, rates per second.
  const parts: Array<[number, number, number, number]> = [];
  if (s.executor === 'constant-arrival-rate') {
    parts.push([0, k6DurationMs(s.duration)!, s.rate / unitS, s.rate / unitS]);
  } else {
    // ramping-arrival-rate: from startRate, each stage moves linearly to its target over its duration
    // (lib/executor/ramping_arrival_rate.go, cal(): the area under this line is the number of iterations).
    let t = 0;
    let from = s.startRate / unitS;
    for (const st of s.stages) {
      const d = k6DurationMs(st.duration)!;
      parts.push([t, t + d, from, st.target / unitS]);
      t += d;
      from = st.target / unitS;
    }
  }
  return {
    totalMs: parts.reduce((n, p) => n + (p[1] - p[0]), 0),
    peak: Math.max(...parts.flatMap((p) => [p[2], p[3]])),
    arrivals: parts.reduce((n, [a, b, r0, r1]) => n + ((b - a) / 1000) * ((r0 + r1) / 2), 0),
    rateAt(t) {
      const p = parts.find(([a, b]) => t >= a && t <= b && b > a);
      return p ? p[2] + ((p[3] - p[2]) * (t - p[0])) / (p[1] - p[0]) : 0;
    },
  };
}

/** The shapes the k6 scenarios are checked for: each preset as defined, as the README scales it, and odder ones. */
const K6_VARIANTS: Array<{
  label: string;
  overrides: { durationMs?: number; rate?: number; scale?: number };
  maxVUs?: number;
}> = [
  { label: 'full length', overrides: {} },
  { label: 'full length, maxVUs 50', overrides: {}, maxVUs: 50 },
  { label: 'duration-scale 0.0167 (a one-minute sustained)', overrides: { scale: 0.0167 } },
  { label: 'duration-scale 0.1', overrides: { scale: 0.1 } },
  { label: 'duration-scale 0.25, rate 30', overrides: { scale: 0.25, rate: 30 } },
  { label: 'duration-scale 0.5', overrides: { scale: 0.5 } },
  { label: 'duration 45s, rate 7.3 (fractional rates)', overrides: { durationMs: 45_000, rate: 7.3 } },
  { label: 'duration 4s, rate 15 (as small as the Artillery runs)', overrides: { durationMs: 4000, rate: 15 } },
  { label: 'duration 1.5s, rate 3', overrides: { durationMs: 1500, rate: 3 } },
];

describe("k6: each preset as scenarios, against k6's scenario schema", () => {
  const cases = NAMES.flatMap((name) => K6_VARIANTS.map((v) => ({ name, ...v })));

  it.each(cases)('$name, $label: valid for k6, and the same load shape', ({ name, overrides, maxVUs }) => {
    const stages = shapeStages(PRESETS[name].stages, overrides);
    const scenarios = toK6Scenarios(stages, maxVUs !== undefined ? { maxVUs } : {});
    // What the engine writes to the --config file, read back as k6 reads JSON.
    const file = JSON.parse(JSON.stringify({ scenarios })) as { scenarios: Record<string, unknown> };
    expect(k6ScenarioErrors(file.scenarios)).toEqual([]);
    expect(Object.keys(file.scenarios)).toEqual([SCENARIO_NAME]);

    const scenario = file.scenarios[SCENARIO_NAME] as K6Scenario;
    const shape = k6Shape(scenario);
    const want = integral(stages);
    // Total length: exact to the millisecond (the stages are whole milliseconds).
    expect(shape.totalMs).toBe(totalDurationMs(stages));
    // Peak rate and arrivals (the integral of the rate; k6 starts an iteration each time it passes a whole one).
    expect(shape.peak).toBeCloseTo(peakRate(stages), 3);
    expect(Math.abs(shape.arrivals - want) / want).toBeLessThan(0.01);
    expect(Math.abs(Math.floor(shape.arrivals + 1e-9) - want)).toBeLessThanOrEqual(Math.max(1, want * 0.01));
    // The shape itself: the rate at each stage's start, middle and end agrees with the preset's.
    let t = 0;
    for (const s of stages) {
      for (const f of [0.001, 0.5, 0.999]) {
        const at = t + s.durationMs * f;
        expect(Math.abs(shape.rateAt(at) - rateAt(stages, at))).toBeLessThan(peakRate(stages) * 0.005);
      }
      t += s.durationMs;
    }
    // VUs: some preallocated, never more than the cap.
    expect(scenario.preAllocatedVUs).toBeGreaterThanOrEqual(1);
    expect(scenario.maxVUs).toBe(maxVUs ?? 1000);
  });

  it('a constant preset uses constant-arrival-rate, a ramped one ramping-arrival-rate with its stages in order', () => {
    expect(toK6Scenarios(PRESETS.sustained.stages)[SCENARIO_NAME]).toEqual({
      executor: 'constant-arrival-rate',
      rate: 100,
      timeUnit: '1s',
      duration: '3600s',
      preAllocatedVUs: 100,
      maxVUs: 1000,
    });
    expect(toK6Scenarios(PRESETS.warmup.stages)[SCENARIO_NAME]).toEqual({
      executor: 'ramping-arrival-rate',
      startRate: 1,
      timeUnit: '1s',
      preAllocatedVUs: 10,
      maxVUs: 1000,
      stages: [
        { target: 10, duration: '30s' },
        { target: 10, duration: '90s' },
      ],
    });
    expect(toK6Scenarios(PRESETS.stress.stages)[SCENARIO_NAME]).toMatchObject({
      executor: 'ramping-arrival-rate',
      startRate: 50,
      stages: [
        { target: 500, duration: '4800s' },
        { target: 500, duration: '600s' },
      ],
    });
    expect(toK6Scenarios(PRESETS.recovery.stages)[SCENARIO_NAME]).toMatchObject({
      executor: 'ramping-arrival-rate',
      startRate: 100,
      stages: [
        { target: 50, duration: '300s' },
        { target: 10, duration: '300s' },
        { target: 10, duration: '600s' },
      ],
    });
    // Recovery at rate 15: a hold of 1.5/s, written per 10 s.
    expect(toK6Scenarios(shapeStages(PRESETS.recovery.stages, { rate: 15, scale: 0.1 }))[SCENARIO_NAME]).toMatchObject({
      timeUnit: '10s',
      startRate: 150,
      stages: [
        { target: 75, duration: '30s' },
        { target: 15, duration: '30s' },
        { target: 15, duration: '60s' },
      ],
    });
  });

  it('the validator rejects what k6 rejects (so an empty list above means something)', () => {
    const ok = {
      executor: 'constant-arrival-rate',
      rate: 5,
      timeUnit: '1s',
      duration: '10s',
      preAllocatedVUs: 5,
      maxVUs: 10,
    };
    const ramp = {
      executor: 'ramping-arrival-rate',
      startRate: 0,
      timeUnit: '1m',
      preAllocatedVUs: 1,
      stages: [{ target: 5, duration: '1m30s' }],
    };
    expect(
      k6ScenarioErrors({ ok, ramp, 'with-dash_1': { ...ok, startTime: '0s', gracefulStop: '30s', exec: 'default' } }),
    ).toEqual([]);
    const bad = (over: Record<string, unknown>, base: Record<string, unknown> = ok) =>
      k6ScenarioErrors({ x: { ...base, ...over } });
    expect(bad({ rate: 2.5 })).toEqual(['x: rate: 2.5 is not an integer']);
    expect(bad({ rate: 0 })).toEqual(['x: the iteration rate must be more than 0']);
    expect(bad({ rate: undefined })).toEqual(["x: rate isn't specified"]);
    expect(bad({ timeUnit: '0s' })).toEqual(['x: the timeUnit must be more than 0']);
    expect(bad({ timeUnit: '1 s' })).toHaveLength(1);
    expect(bad({ duration: '500ms' })).toEqual(['x: the duration must be at least 1s, but is 500ms']);
    expect(bad({ duration: '10' })).toEqual(['x: the duration must be at least 1s, but is 10']); // bare numbers are ms
    expect(bad({ duration: '1.5.s' })).toHaveLength(1);
    expect(bad({ duration: '10sec' })).toHaveLength(1);
    expect(bad({ preAllocatedVUs: undefined })).toEqual(["x: preAllocatedVUs isn't specified"]);
    expect(bad({ preAllocatedVUs: -1 })).toContain("x: the number of preAllocatedVUs can't be negative");
    expect(bad({ maxVUs: 4 })).toEqual(["x: maxVUs can't be less than preAllocatedVUs"]);
    expect(bad({ maxVUs: 0, preAllocatedVUs: 0 })).toEqual(['x: maxVUs is 0: the scenario has no work']);
    expect(bad({ vus: 3 })).toEqual(['x: json: unknown field "vus"']);
    expect(bad({ startTime: '-1s' })).toEqual(["x: the startTime can't be negative"]);
    expect(bad({ exec: '' })).toEqual(['x: exec value cannot be empty']);
    expect(bad({ stages: [] }, ramp)).toEqual(['x: at least one stage has to be specified']);
    expect(bad({ startRate: -1 }, ramp)).toEqual(["x: the startRate value can't be negative"]);
    expect(
      bad(
        {
          stages: [
            { target: -1, duration: '1s' },
            { target: 1.5, duration: '1s' },
            { target: 1 },
            { duration: 'x', target: 1, rate: 2 },
          ],
        },
        ramp,
      ),
    ).toEqual([
      "x: the target for stage 1 can't be negative",
      'x: stage 2: target 1.5 is not an integer',
      "x: stage 3 doesn't have a duration",
      'x: stage 4: json: unknown field "rate"',
      'x: stage 4: invalid duration "x"',
    ]);
    expect(k6ScenarioErrors({ 'perf gate': ok })[0]).toMatch(/scenario name/);
    expect(k6ScenarioErrors({ x: { ...ok, executor: 'constant-vus' } })).toHaveLength(1);
    // Go's duration grammar, as k6 reads it.
    expect(['0', '1h2m3.5s', '.5s', '5.s', '300ms', '1.5\u00b5s', '2d3h', '1500', '-1s'].map(k6DurationMs)).toEqual([
      0,
      3_723_500,
      500,
      5000,
      300,
      0.0015,
      51 * 3_600_000,
      1500,
      -1000,
    ]);
    expect(
      ['', 's', '.s', '1', '1d-1h', '1 s', '1S'].map((v) => (v === '1' ? goParseDuration(v) : k6DurationMs(v))),
    ).toEqual(Array(7).fill(undefined));
  });
});

// =========================================================================================================
// Artillery's rules for `config.phases`, from Artillery 2.0.34's source (dist/lib/core/phases.js, the phaser,
// and dist/lib/dist.js, divideWork(), which splits every phase among the local worker threads first):
//  - a phase is a `pause`, an `arrivalCount` over `duration`, or an `arrivalRate` over `duration` (a ramp with
//    `rampTo`); durations are seconds;
//  - a ramp runs `duration` one-second periods: `for (period = 0; period < periods; ...)` with periods = duration,
//    arrivals in period i = arrivalRate + (rampTo - arrivalRate) * i / (duration - 1), the mean of both for one
//    period; so a ramp's duration must be a whole number of seconds;
//  - divideWork picks the branch with `!!phase.rampTo`, `!!phase.arrivalRate`, `!!phase.arrivalCount`,
//    `!!phase.pause`: `arrivalRate: 0` without a ramp, `arrivalCount: 0` and `pause: 0` fall through to "Unknown
//    phase spec definition, skipping" (the phase vanishes, and the timing of what follows with it), and a ramp with
//    `rampTo: 0` is divided like a constant rate;
//  - a constant `arrivalRate` is shared among the workers by distribute(), which asserts that the shares (whole
//    numbers) add up to the rate: a fractional rate stops Artillery ("AssertionError: 1.5 === 2").
// =========================================================================================================

function artilleryPhaseErrors(phases: ArtilleryPhase[]): string[] {
  const errors: string[] = [];
  if (phases.length === 0) errors.push('no phases');
  const posInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  phases.forEach((p, i) => {
    const err = (m: string) => errors.push(`phase ${i}: ${m}`);
    const kinds = [p.pause !== undefined, p.arrivalCount !== undefined, p.arrivalRate !== undefined].filter(
      Boolean,
    ).length;
    if (kinds !== 1) {
      err('exactly one of pause, arrivalCount, arrivalRate');
      return;
    }
    if (p.pause !== undefined) {
      if (!posInt(p.pause)) err(`pause ${p.pause} is not a whole number of seconds above 0`);
      if (p.duration !== undefined) err('a pause has no duration');
      return;
    }
    if (!posInt(p.duration)) err(`duration ${p.duration} is not a whole number of seconds above 0`);
    if (p.arrivalCount !== undefined) {
      if (!posInt(p.arrivalCount)) err(`arrivalCount ${p.arrivalCount} is not a whole number above 0`);
      return;
    }
    const rate = p.arrivalRate!;
    if (!(rate >= 0 && Number.isFinite(rate))) err(`arrivalRate ${rate} is not a rate`);
    if (p.rampTo === undefined || p.rampTo === 0) {
      // Divided with distribute() (a ramp to 0 too).
      if (!Number.isInteger(rate)) err(`arrivalRate ${rate} is not whole: distribute() asserts`);
      if (p.rampTo === undefined && rate === 0) err('arrivalRate 0 without rampTo is skipped; use a pause');
    } else if (!(p.rampTo > 0 && Number.isFinite(p.rampTo))) err(`rampTo ${p.rampTo} is not a rate`);
  });
  return errors;
}

/**
 * The arrivals Artillery 2.0.34 creates for valid phases, with `workers` local workers (max(1, cpus - 1) for
 * `artillery run`): divideWork() gives each worker rate / workers of a ramp and whole shares of a constant rate,
 * and each worker's ramp rounds its per-second arrivals (floor, plus one for the workers the fractional parts add
 * up to: adjustArrivalsByWorker()). A constant rate and an arrival count run as asked.
 */
function artilleryArrivals(phases: ArtilleryPhase[], workers: number): number {
  let n = 0;
  for (const p of phases) {
    if (p.pause !== undefined) continue;
    if (p.arrivalCount !== undefined) n += p.arrivalCount;
    else if (p.rampTo === undefined) n += p.arrivalRate! * p.duration!;
    else {
      const d = p.duration!;
      const a = p.arrivalRate! / workers;
      const b = p.rampTo / workers;
      for (let w = 1; w <= workers; w++) {
        for (let i = 0; i < d; i++) {
          const raw = d === 1 ? (a + b) / 2 : ((b - a) / (d - 1)) * i + a;
          n += Math.floor(raw) + (Math.round((raw % 1) * workers) >= w ? 1 : 0);
        }
      }
    }
  }
  return n;
}

const artillerySeconds = (phases: ArtilleryPhase[]) => phases.reduce((n, p) => n + (p.pause ?? p.duration ?? 0), 0);

describe('Artillery: each preset as config.phases', () => {
  it('full length: durations in seconds, arrivalRate / rampTo in arrivals per second, names kept', () => {
    expect(toArtilleryPhases(PRESETS.warmup.stages)).toEqual([
      { name: 'ramp-up', duration: 30, arrivalRate: 1, rampTo: 10 },
      { name: 'steady', duration: 90, arrivalRate: 10 },
    ]);
    expect(toArtilleryPhases(PRESETS.sustained.stages)).toEqual([{ name: 'steady', duration: 3600, arrivalRate: 100 }]);
    expect(toArtilleryPhases(PRESETS.stress.stages)).toEqual([
      { name: 'ramp-up', duration: 4800, arrivalRate: 50, rampTo: 500 },
      { name: 'peak', duration: 600, arrivalRate: 500 },
    ]);
    expect(toArtilleryPhases(PRESETS.recovery.stages)).toEqual([
      { name: 'ramp-down', duration: 300, arrivalRate: 100, rampTo: 50 },
      { name: 'ramp-down', duration: 300, arrivalRate: 50, rampTo: 10 },
      { name: 'hold', duration: 600, arrivalRate: 10 },
    ]);
  });

  it.each(NAMES)("%s at full length: Artillery's arithmetic gives the preset's arrivals and length exactly", (name) => {
    const stages = PRESETS[name].stages;
    const phases = toArtilleryPhases(stages);
    expect(artilleryPhaseErrors(phases)).toEqual([]);
    expect(artillerySeconds(phases)).toBe(totalDurationMs(stages) / 1000);
    // Whole rates: every worker count gives the same total, equal to the integral of the preset's rate.
    for (const workers of [1, 3, 7]) expect(artilleryArrivals(phases, workers)).toBeCloseTo(integral(stages), 6);
  });

  it('a stage at rate 0 becomes a pause of its length, between arrival phases', () => {
    const withPause: Stage[] = [
      { durationMs: 30_000, startRate: 1, endRate: 10, name: 'ramp-up' },
      { durationMs: 15_000, startRate: 0, endRate: 0, name: 'quiet' },
      { durationMs: 90_000, startRate: 10, endRate: 10, name: 'steady' },
    ];
    const phases = toArtilleryPhases(withPause);
    expect(phases).toEqual([
      { name: 'ramp-up', duration: 30, arrivalRate: 1, rampTo: 10 },
      { name: 'quiet', pause: 15 },
      { name: 'steady', duration: 90, arrivalRate: 10 },
    ]);
    expect(artilleryPhaseErrors(phases)).toEqual([]);
    expect(artillerySeconds(phases)).toBe(135);
    // Rate 0 after scaling (a rate so small it rounds away) is a pause too, never `arrivalRate: 0`.
    expect(toArtilleryPhases([{ durationMs: 2000, startRate: 0.0001, endRate: 0.0001 }])).toEqual([{ pause: 2 }]);
  });

  it("a fractional constant rate (recovery's hold at rate 15 is 1.5/s) becomes an arrival count over the phase", () => {
    const phases = toArtilleryPhases(shapeStages(PRESETS.recovery.stages, { rate: 15, scale: 0.1 }));
    expect(phases).toEqual([
      { name: 'ramp-down', duration: 30, arrivalRate: 15, rampTo: 7.5 },
      { name: 'ramp-down', duration: 30, arrivalRate: 7.5, rampTo: 1.5 },
      { name: 'hold', duration: 60, arrivalCount: 90 },
    ]);
    expect(artilleryPhaseErrors(phases)).toEqual([]);
    expect(toArtilleryPhases(shapeStages(PRESETS.sustained.stages, { rate: 2.5, durationMs: 4000 }))).toEqual([
      { name: 'steady', duration: 4, arrivalCount: 10 },
    ]);
  });

  // Down to a few seconds per stage: below that, Artillery's whole seconds distort the shape (warm-up scaled to
  // 2 s runs a 1 s ramp and a 1 s hold instead of 0.5 s and 1.5 s: 10 % fewer arrivals).
  it.each(NAMES)(
    "%s scaled and at other rates: phases Artillery runs, with the preset's arrivals within 10 %%",
    (name) => {
      const variants = [
        { scale: 0.5 },
        { scale: 0.25, rate: 15 },
        { scale: 0.1, rate: 7.3 },
        { scale: 0.05 },
        { durationMs: 60_000, rate: 25 },
        { durationMs: 30_000, rate: 2.5 },
        { durationMs: 9000, rate: 20 },
      ];
      for (const overrides of variants) {
        const stages = shapeStages(PRESETS[name].stages, overrides);
        const phases = toArtilleryPhases(stages);
        const what = `${name} ${JSON.stringify(overrides)}: ${JSON.stringify(phases)}`;
        expect(artilleryPhaseErrors(phases), what).toEqual([]);
        expect(Math.abs(artillerySeconds(phases) - totalDurationMs(stages) / 1000), what).toBeLessThanOrEqual(0.5);
        const want = integral(stages);
        for (const workers of [1, 3]) {
          expect(
            Math.abs(artilleryArrivals(phases, workers) - want) / want,
            `${what}, ${workers} workers`,
          ).toBeLessThan(0.1);
        }
      }
    },
  );

  it('a ramp down to 0 from a fractional rate ends at a thousandth instead, which Artillery ramps (0 it would split like a constant)', () => {
    const phases = toArtilleryPhases([{ durationMs: 10_000, startRate: 2.5, endRate: 0 }]);
    expect(phases).toEqual([{ duration: 10, arrivalRate: 2.5, rampTo: 0.001 }]);
    expect(artilleryPhaseErrors(phases)).toEqual([]);
    for (const workers of [1, 3]) expect(Math.abs(artilleryArrivals(phases, workers) - 12.5)).toBeLessThanOrEqual(1.5);
    // A whole start rate keeps its ramp to 0: distribute() divides it without a remainder.
    expect(toArtilleryPhases([{ durationMs: 10_000, startRate: 3, endRate: 0 }])).toEqual([
      { duration: 10, arrivalRate: 3, rampTo: 0 },
    ]);
  });

  it('the phase rules catch what Artillery trips over (so an empty list above means something)', () => {
    expect(artilleryPhaseErrors([{ duration: 2, arrivalRate: 1.5 }])).toEqual([
      'phase 0: arrivalRate 1.5 is not whole: distribute() asserts',
    ]);
    expect(artilleryPhaseErrors([{ duration: 2, arrivalRate: 2.5, rampTo: 0 }])).toEqual([
      'phase 0: arrivalRate 2.5 is not whole: distribute() asserts',
    ]);
    expect(artilleryPhaseErrors([{ duration: 2, arrivalRate: 0 }])).toEqual([
      'phase 0: arrivalRate 0 without rampTo is skipped; use a pause',
    ]);
    expect(artilleryPhaseErrors([{ duration: 2.5, arrivalRate: 1, rampTo: 4 }])).toHaveLength(1);
    expect(artilleryPhaseErrors([{ duration: 2, arrivalCount: 0 }])).toHaveLength(1);
    expect(artilleryPhaseErrors([{ pause: 0 }])).toHaveLength(1);
    expect(artilleryPhaseErrors([{ duration: 2, arrivalRate: 1, pause: 2 }])).toHaveLength(1);
    // The model follows Artillery's per-second rounding: a 2 s ramp 1.5 -> 15 creates 2 + 15 (one worker).
    expect(artilleryArrivals([{ duration: 2, arrivalRate: 1.5, rampTo: 15 }], 1)).toBe(17);
  });
});

// =========================================================================================================
// The real Artillery: each preset scaled down to a few seconds and a rate Artillery's one-second ramps can show.
// =========================================================================================================

const FLOW_SCRIPT = `# One request per virtual user, so requests = arrivals. No phases: perf-gate supplies them.
config:
  target: http://placeholder.invalid
scenarios:
  - name: health
    flow:
      - get:
          url: /api/health
`;

/**
 * Scales (duration-scale) and rates for the runs: each preset runs 3 to 5 s at up to 20 arrivals/s. Stress is
 * 5 s (ramp 4.4 s, peak 0.6 s) so its peak keeps a whole second after rounding; recovery runs at rate 15, so its
 * hold is 1.5/s, an arrival count.
 */
const RUNS: Array<{ name: PresetPhaseName; scale: number; rate: number }> = [
  { name: 'warmup', scale: 4 / 120, rate: 20 },
  { name: 'sustained', scale: 3 / 3600, rate: 20 },
  { name: 'stress', scale: 5 / 5400, rate: 20 },
  { name: 'recovery', scale: 4 / 1200, rate: 15 },
];

describe('Artillery: each preset scaled down and run by the real Artillery', () => {
  let demo: Awaited<ReturnType<typeof startDemoServer>>;
  let ws: string;
  let script: string;
  const workers = Math.max(1, cpus().length - 1);

  beforeAll(async () => {
    demo = await startDemoServer();
    ws = mkdtempSync(join(tmpdir(), 'perf-gate-presets-art-'));
    script = join(ws, 'health.yml');
    writeFileSync(script, FLOW_SCRIPT);
    // Fill the tool cache now if this file runs before engine-artillery.test.ts (about 40 s, once per machine).
    await resolveArtillery({ workspace: ws, log: memLog() });
  }, 300_000);

  afterAll(async () => {
    await demo?.close();
    if (ws) rmSync(ws, { recursive: true, force: true });
  });

  it.each(RUNS)(
    "$name (scale $scale, rate $rate): Artillery creates the preset's arrivals and runs every phase",
    async ({ name, scale, rate }) => {
      const stages = shapeStages(PRESETS[name].stages, { scale, rate });
      const phases = toArtilleryPhases(stages);
      expect(artilleryPhaseErrors(phases)).toEqual([]);
      const outputDir = join(ws, `out-${name}`);
      const config: Config = {
        target: demo.url,
        phase: PRESETS[name],
        engine: 'artillery',
        targets: [],
        durationScale: scale,
        rate,
        failOn: 'any',
        comment: 'false',
        commentHeader: 'test',
        outputDir,
        flows: [],
        http: { timeoutMs: 5000, maxInFlight: 100, count4xxAsErrors: false, headers: {} },
        intervalMs: 1000,
        script,
        workspace: ws,
        distributed: { mode: 'none' },
        sources: [],
      };
      const before = demo.stats().byPath['/api/health'] ?? 0;
      const log = memLog();
      const run = await artilleryEngine.run({ config, stages, log });
      expect(run.tool).toEqual({ name: 'artillery', version: ARTILLERY_VERSION });
      // perf-gate handed Artillery exactly these phases.
      expect(
        log.lines.some(
          (l) => l.includes(`Artillery phases from perf-gate's phase "${name}"`) && l.endsWith(JSON.stringify(phases)),
        ),
      ).toBe(true);

      // Every phase ran, in order, with its name and length.
      const started = log.lines.flatMap((l) => {
        const m = /^\[artillery\] Phase started: (.*) \(index: (\d+), duration: (\d+)s\)/.exec(l);
        return m ? [{ name: m[1], index: Number(m[2]), duration: Number(m[3]) }] : [];
      });
      expect(started).toEqual(phases.map((p, index) => ({ name: p.name, index, duration: p.duration ?? p.pause })));
      expect(log.lines.filter((l) => l.startsWith('[artillery] Phase completed:'))).toHaveLength(phases.length);

      // Arrivals: what Artillery counted, what reached the server, against the preset's integral.
      const report = JSON.parse(readFileSync(join(outputDir, 'artillery-report.json'), 'utf8')) as {
        aggregate: { counters: Record<string, number> };
      };
      const created = report.aggregate.counters['vusers.created'] ?? 0;
      const want = integral(stages);
      const model = artilleryArrivals(phases, workers);
      const detail = `${name}: Artillery created ${created}, its arithmetic gives ${model}, the preset asks for ${want}; phases ${JSON.stringify(phases)}`;
      expect(Math.abs(created - want) / want, detail).toBeLessThanOrEqual(0.1);
      expect(Math.abs(created - model), detail).toBeLessThanOrEqual(Math.max(2, model * 0.05));
      expect(report.aggregate.counters['vusers.failed'] ?? 0, detail).toBe(0);
      expect((demo.stats().byPath['/api/health'] ?? 0) - before, detail).toBe(created);
      expect(run.requests).toBe(created);
    },
    120_000,
  );
});
