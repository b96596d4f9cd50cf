// The JSON Schema of `.github/perf-gate.yml`, generated from the zod schema the loader validates with (so the two
// cannot disagree on which keys exist), with hover text from descriptions.ts and the allowed values of the keys
// the loader checks itself. `npm run build` writes it to schema/perf-gate.schema.json; `npm test` checks it fresh.
// Editors pick it up from a first line `# yaml-language-server: $schema=<url>`.
import { z } from 'zod';
import { COMMENT_MODES, DECIDE_ON, DISTRIBUTED_MODES, ENGINES, FAIL_ON, PRESET_PHASES } from '../model.js';
import { CONFIG_DESCRIPTIONS } from './descriptions.js';
import { configFileSchema } from './schema.js';

export const SCHEMA_BASE_URL = 'https://raw.githubusercontent.com/ftw/perf-gate/v1/schema';
export const CONFIG_SCHEMA_FILE = 'perf-gate.schema.json';
export const CONFIG_SCHEMA_URL = `${SCHEMA_BASE_URL}/${CONFIG_SCHEMA_FILE}`;

type Node = Record<string, unknown> & {
  properties?: Record<string, Node>;
  items?: Node;
  additionalProperties?: Node | boolean;
};

// Keys whose values the loader checks against a list (with its own message), so zod has them as strings.
const ENUMS: Record<string, readonly string[]> = {
  engine: ENGINES,
  'fail-on': FAIL_ON,
  'decide-on': DECIDE_ON,
  distributed: DISTRIBUTED_MODES,
};

/** Every object key of a JSON Schema, by the path descriptions.ts uses, with the nodes found at that path. */
export function schemaKeys(root: Node): Map<string, Node[]> {
  const out = new Map<string, Node[]>();
  const walk = (node: Node | boolean | undefined, path: string): void => {
    if (!node || typeof node !== 'object') return;
    for (const k of ['anyOf', 'oneOf', 'allOf'] as const)
      for (const n of (node[k] as Node[] | undefined) ?? []) walk(n, path);
    walk(node.items, path);
    const kind = (node.properties?.kind as Node | undefined)?.const;
    const base = typeof kind === 'string' ? `${path}.${kind}` : path;
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const p = base ? `${base}.${key}` : key;
      out.set(p, [...(out.get(p) ?? []), child]);
      walk(child, p);
    }
    if (
      node.additionalProperties &&
      typeof node.additionalProperties === 'object' &&
      node.additionalProperties.type !== 'string'
    ) {
      const p = `${path}.*`;
      if (node.additionalProperties.properties) out.set(p, [...(out.get(p) ?? []), node.additionalProperties]);
      walk(node.additionalProperties, p);
    }
  };
  walk(root, '');
  return out;
}

export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configFileSchema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-7',
  }) as Node;
  const keys = schemaKeys(generated);
  const missing = [...keys.keys()].filter((k) => CONFIG_DESCRIPTIONS[k] === undefined);
  const unused = Object.keys(CONFIG_DESCRIPTIONS).filter((k) => !keys.has(k));
  if (missing.length || unused.length) {
    throw new Error(
      `src/config/descriptions.ts is out of step with the config schema: no description for ${missing.join(', ') || '-'}; no key for ${unused.join(', ') || '-'}`,
    );
  }
  for (const [path, nodes] of keys) {
    for (const node of nodes) {
      node.description = CONFIG_DESCRIPTIONS[path];
      const allowed = ENUMS[path];
      if (allowed && node.type === 'string') node.enum = [...allowed];
    }
  }
  // `phase` takes a preset or the name of a phase of one's own: suggest the presets, allow any name.
  const phase = generated.properties!.phase!;
  generated.properties!.phase = {
    description: phase.description,
    anyOf: [{ type: 'string', enum: [...PRESET_PHASES] }, { type: 'string' }],
  };
  const comment = generated.properties!.comment!;
  generated.properties!.comment = {
    description: comment.description,
    anyOf: [{ type: 'string', enum: [...COMMENT_MODES] }, { type: 'boolean' }],
  };
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: CONFIG_SCHEMA_URL,
    title: 'perf-gate configuration (.github/perf-gate.yml)',
    description:
      'Load-test flows, phases, targets, sources and baseline for the perf-gate GitHub Action. Inputs of the action override these keys.',
    ...rest,
  };
}
