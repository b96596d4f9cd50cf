// Endpoint selectors: `p99{bid}`, `error_rate{payment}`, `errors{POST /api/payments}`, `responses{bid, 201}`, and
// k6's tag style `{name:bid}`. An endpoint label is a built-in step's `name:`, else `METHOD /path` as written (templates
// unexpanded); for Artillery the request name or URL path of metrics-by-endpoint (`/api/bids (bid)` carries both);
// for k6 the `name` tag (the URL unless the script set one). A target keeps its selector inside `metric`
// canonically (`p99{bid}`), so everything that reads a metric by name reads the per-endpoint one the same way.
import type { EndpointResult, RunResult, Target } from '../model.js';
import { metricsWithScope, type MetricWithScope } from '../metrics/catalogue.js';
import type { Flow } from '../flows/steps.js';

/** Metrics an endpoint row can answer for: the catalogue's `endpoint` scope. */
export const ENDPOINT_METRICS = metricsWithScope('endpoint');
export type EndpointMetric = MetricWithScope<'endpoint'>;

export function isEndpointMetric(name: string): name is EndpointMetric {
  return (ENDPOINT_METRICS as readonly string[]).includes(name);
}

export interface Selector {
  endpoint: string;
  /** `201` or a class such as `2xx`. */
  status?: string;
}

const STATUS = /^(?:[1-5]\d\d|[1-5]xx)$/i;

/**
 * The inside of the braces: `bid`, `name:bid`, `bid, 201`, `POST /api/payments`. Undefined when it is empty.
 * A k6 `name:` prefix is dropped; a last comma-separated part that is a status makes `status`.
 */
export function parseSelectorBody(body: string): Selector | undefined {
  let text = body.trim();
  let status: string | undefined;
  const comma = text.lastIndexOf(',');
  if (comma >= 0 && STATUS.test(text.slice(comma + 1).trim())) {
    status = text
      .slice(comma + 1)
      .trim()
      .toLowerCase();
    text = text.slice(0, comma).trim();
  }
  text = text.replace(/^name\s*:\s*/, '').trim();
  if (text === '') return undefined;
  return status ? { endpoint: text, status } : { endpoint: text };
}

/** `p99{bid}`, `responses{bid, 201}`: the canonical metric string of a per-endpoint target. */
export function selectorMetric(base: EndpointMetric, sel: Selector): string {
  return `${base}{${sel.endpoint}${sel.status ? `, ${sel.status}` : ''}}`;
}

/** The reverse of selectorMetric; undefined for any other metric (custom names with braces stay custom). */
export function parseSelectorMetric(metric: string): { base: EndpointMetric; selector: Selector } | undefined {
  const open = metric.indexOf('{');
  if (open <= 0 || !metric.endsWith('}')) return undefined;
  const base = metric.slice(0, open);
  if (!isEndpointMetric(base)) return undefined;
  const selector = parseSelectorBody(metric.slice(open + 1, -1));
  return selector ? { base, selector } : undefined;
}

const METHOD_PATH = /^(?<method>[A-Z]+) (?<path>\/\S*)$/;

/** Artillery's metrics-by-endpoint name of a named request, `/api/bids (bid)`, as its path and name. */
function namedPath(label: string): { path: string; name: string } | undefined {
  // String operations rather than a regular expression: labels come from tools' files and may be long.
  if (!label.endsWith(')')) return undefined;
  const open = label.lastIndexOf(' (');
  if (open <= 0) return undefined;
  const name = label.slice(open + 2, -1);
  return name === '' || name.includes('(') ? undefined : { path: label.slice(0, open), name };
}

function pathOfUrl(name: string): string | undefined {
  if (!/^https?:\/\//i.test(name)) return undefined;
  try {
    const u = new URL(name);
    return u.pathname + u.search;
  } catch {
    return undefined;
  }
}

/**
 * The endpoint rows a selector means. An exact label wins; otherwise the request name or the path a tool recorded
 * (Artillery `/path (name)`, a k6 URL), and `METHOD /path` also matches a tool's row for that path (tools record no
 * method), and a bare `/path` every built-in `METHOD /path` row. Several rows can match; each is returned once.
 */
export function matchEndpoints(endpoints: readonly EndpointResult[], selector: string): EndpointResult[] {
  const names = new Set(
    matchEndpointNames(
      endpoints.map((e) => e.name),
      selector,
    ),
  );
  return endpoints.filter((e) => names.has(e.name));
}

/** matchEndpoints over bare labels (an interval's endpoints are keyed by label). */
export function matchEndpointNames(names: readonly string[], selector: string): string[] {
  if (names.includes(selector)) return [selector];
  const lower = selector.toLowerCase();
  const folded = names.filter((n) => n.toLowerCase() === lower);
  if (folded.length) return folded;
  const selPath = METHOD_PATH.exec(selector)?.groups?.path;
  const out: string[] = [];
  for (const name of names) {
    const named = namedPath(name);
    const urlPath = pathOfUrl(name);
    const builtinPath = METHOD_PATH.exec(name)?.groups?.path;
    const candidates = [named?.name, named?.path, urlPath, builtinPath].filter((c): c is string => c !== undefined);
    // A method in the selector is ignored only against a row that has none (a tool's path); `GET /x` is not `POST /x`.
    const toolPaths = [named?.path, urlPath, builtinPath === undefined ? name : undefined];
    if (candidates.includes(selector) || (selPath !== undefined && toolPaths.includes(selPath))) out.push(name);
  }
  return out;
}

/** Says which endpoints exist, for a selector that matched none (at most 10 named). */
export function noEndpointNote(run: RunResult, selector: string): string {
  const names = run.endpoints.map((e) => e.name);
  if (names.length === 0) return `no endpoint "${selector}": this run recorded no per-endpoint figures`;
  const shown = names
    .slice(0, 10)
    .map((n) => `"${n}"`)
    .join(', ');
  return `no endpoint "${selector}" in this run; its endpoints: ${shown}${names.length > 10 ? `, and ${names.length - 10} more` : ''}`;
}

/** The labels of the built-in engine's endpoints: a step's `name:`, else `METHOD /path` as written. */
export function flowEndpointLabels(flows: readonly Flow[]): string[] {
  const labels = new Set<string>();
  for (const f of flows) {
    for (const s of f.steps) {
      if (s.kind !== 'request') continue;
      // A step on the target URL itself (the default flow) is labelled by the target's path at run time: unknown here.
      if (s.path === '' && s.name === undefined) return [];
      labels.add(s.name ?? `${s.method.toUpperCase()} ${s.path}`);
    }
  }
  return [...labels];
}

/**
 * Selectors that match no endpoint of the config's flows, as user errors, before any load is sent. Only for the
 * built-in engine with flows of its own: a tool's endpoints are known only after its run.
 */
export function endpointSelectorProblems(
  items: ReadonlyArray<{ source: string; metrics: string[] }>,
  flows: readonly Flow[],
): string[] {
  const labels = flowEndpointLabels(flows);
  if (labels.length === 0) return [];
  const rows: EndpointResult[] = labels.map((name) => ({
    name,
    requests: 0,
    errors: 0,
    latency: { count: 0 },
    statusCodes: {},
  }));
  const problems: string[] = [];
  for (const item of items) {
    for (const m of item.metrics) {
      const sel = parseSelectorMetric(m);
      if (!sel || matchEndpoints(rows, sel.selector.endpoint).length > 0) continue;
      problems.push(
        `"${item.source}" selects endpoint "${sel.selector.endpoint}", which no flow step has; ` +
          `the endpoints are ${labels.map((l) => `"${l}"`).join(', ')} (a step's name:, else METHOD /path as written)`,
      );
    }
  }
  return problems;
}

/** The metrics a target reads: its own and, for a metric-vs-metric target, the right side's. */
export function targetMetrics(t: Target): string[] {
  return t.rhsMetric ? [t.metric, t.rhsMetric.metric] : [t.metric];
}
