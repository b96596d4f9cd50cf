// The config file's `phases:` and `flows:` made into the typed model: a custom phase's stages, targets, guards
// and what it inherits from the preset of the same name; a flow's steps (the shorthand `get: /path` and the long
// `request:` form alike) with captures, expectations and its data file resolved next to the config file. Kept
// apart from load.ts: these are translations of one YAML shape into one model shape, not input resolution.
import { isAbsolute, resolve } from 'node:path';
import type { Stage } from '../model.js';
import { parseTargets } from '../gate/targets.js';
import { PRESETS, type PhaseDefinition } from '../phases/presets.js';
import { parseGuards } from '../phases/guards.js';
import type { CaptureSpec, Expectations, Flow, FlowStep } from '../flows/steps.js';
import { HTTP_METHODS, type ConfigFile, type StepInput } from './schema.js';

/** `table[key]` only when the table itself has the key: never a prototype's `constructor` or `toString`. */
export function ownValue<T>(table: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** The config's `phases:`, by name (a null-prototype table: a phase named `constructor` is just a phase). */
export function customPhases(file: ConfigFile, path: string): Record<string, PhaseDefinition> {
  const out: Record<string, PhaseDefinition> = Object.create(null) as Record<string, PhaseDefinition>;
  for (const [name, def] of Object.entries(file.phases ?? {})) {
    const stages: Stage[] = def.stages.map((s) =>
      'rate' in s
        ? { durationMs: s.duration, startRate: s.rate, endRate: s.rate, name: s.name }
        : { durationMs: s.duration, startRate: s.from, endRate: s.to, name: s.name },
    );
    const preset = ownValue(PRESETS as Record<string, PhaseDefinition>, name);
    const targets =
      def.targets === undefined
        ? undefined
        : typeof def.targets === 'string'
          ? def.targets.split(/\r?\n/)
          : def.targets;
    if (targets) parseTargets(targets, `${path}: phases.${name}.targets`);
    const phase: PhaseDefinition = {
      name,
      stages,
      description: def.description ?? preset?.description ?? `custom phase from ${path}`,
      defaultTargets: targets ?? preset?.defaultTargets ?? PRESETS.sustained.defaultTargets,
    };
    // A phase that overrides a preset's stages keeps what the preset is for, unless it says otherwise.
    const decideOn = def['decide-on'] ?? preset?.decideOn;
    if (decideOn) phase.decideOn = decideOn;
    const analyses = def.analyze ?? preset?.analyses;
    if (analyses) phase.analyses = analyses;
    if (def.abort !== undefined) {
      const list = def.abort === false ? [] : def.abort;
      parseGuards(list, `${path}: phases.${name}.abort`);
      phase.defaultGuards = typeof list === 'string' ? list.split(/\r?\n/) : list;
    } else if (preset?.defaultGuards) {
      phase.defaultGuards = preset.defaultGuards;
      phase.guardsScaleWithShape = preset.guardsScaleWithShape;
    }
    out[name] = phase;
  }
  return out;
}

/** One entry of the config's `flows:`; `configDir` anchors a relative data file. */
export function toFlow(f: NonNullable<ConfigFile['flows']>[number], configDir: string): Flow {
  const flow: Flow = { name: f.name, weight: f.weight ?? 1, steps: f.steps.map(toStep) };
  if (f.data !== undefined) {
    // Relative to the config file, like a path in any other file that names its neighbours.
    const source = typeof f.data === 'string' ? f.data : f.data.file;
    const order = typeof f.data === 'string' ? 'sequential' : (f.data.order ?? 'sequential');
    flow.data = { file: isAbsolute(source) ? source : resolve(configDir, source), source, order };
  }
  return flow;
}

function toStep(s: StepInput): Flow['steps'][number] {
  if ('think' in s) return { kind: 'think', ms: s.think };
  if ('request' in s)
    return { kind: 'request', ...requestOf(s.request.method.toUpperCase(), s.request.path, s.request) };
  for (const m of HTTP_METHODS) {
    const path = (s as Record<string, unknown>)[m];
    if (typeof path === 'string') return { kind: 'request', ...requestOf(m.toUpperCase(), path, s as RequestExtras) };
  }
  throw new Error('unreachable: schema admits only think, request or a method');
}

type StepExtras = Extract<StepInput, { request: unknown }>['request'];
type RequestExtras = Partial<Pick<StepExtras, 'name' | 'headers' | 'json' | 'body' | 'capture' | 'expect'>>;

function requestOf(method: string, path: string, extra: RequestExtras): Omit<FlowStep, 'kind'> {
  const step: Omit<FlowStep, 'kind'> = { method, path };
  if (extra.name !== undefined) step.name = extra.name;
  if (extra.headers !== undefined) step.headers = extra.headers;
  if (extra.json !== undefined) step.json = extra.json;
  if (extra.body !== undefined) step.body = extra.body;
  if (extra.capture !== undefined) {
    const capture: Record<string, CaptureSpec> = {};
    for (const [name, spec] of Object.entries(extra.capture)) {
      capture[name] =
        typeof spec === 'string'
          ? { kind: 'json', path: spec }
          : 'header' in spec
            ? { kind: 'header', name: spec.header.toLowerCase() }
            : { kind: 'regex', pattern: spec.regex };
    }
    step.capture = capture;
  }
  if (extra.expect !== undefined) {
    const e = extra.expect;
    const expect: Expectations = {};
    if (e.status !== undefined) expect.status = Array.isArray(e.status) ? e.status : [e.status];
    if (e.json !== undefined)
      expect.json = Object.entries(e.json).map(([path, value]) =>
        value === 'exists' ? { path, exists: true as const } : { path, value },
      );
    if (e.contains !== undefined) expect.contains = Array.isArray(e.contains) ? e.contains : [e.contains];
    if (e.header !== undefined) {
      expect.header = Object.entries(e.header).map(([name, value]) =>
        value === 'exists' ? { name: name.toLowerCase(), exists: true as const } : { name: name.toLowerCase(), value },
      );
    }
    step.expect = expect;
  }
  return step;
}
