// The steps of the flow language, as a config's `flows:` parses into them (config/schema.ts, config/phases-flows.ts): a
// journey of requests and think times with an optional data file, each request with its captures and checks. The
// rest of flows/ compiles and runs them (templates, checks, JSONPath, data files); the engines and translators read
// these shapes.

export interface FlowStep {
  kind: 'request';
  method: string;
  /** As written in the config: `{{ name }}` templates unexpanded (they are expanded per arrival). */
  path: string;
  headers?: Record<string, string>;
  json?: unknown;
  body?: string;
  name?: string;
  /** Values taken from the response for later steps of the same arrival, by template name. */
  capture?: Record<string, CaptureSpec>;
  expect?: Expectations;
}

/** `$.token` (JSONPath into the JSON body), `{header: x-request-id}`, or `{regex: "id=(\\d+)"}` (first group). */
export type CaptureSpec =
  | { kind: 'json'; path: string }
  | { kind: 'header'; name: string }
  | { kind: 'regex'; pattern: string };

/** Checks on a response; any that fails makes the request an error of kind `check` and ends the arrival's flow. */
export interface Expectations {
  /** Accepted status codes; a 4xx listed here is not an error. */
  status?: number[];
  /** JSONPath -> expected value (compared as JSON), or `exists`. */
  json?: Array<{ path: string; value: unknown } | { path: string; exists: true }>;
  /** Texts the body must contain. */
  contains?: string[];
  /** Header name (lower case) -> exact value, or `exists`. */
  header?: Array<{ name: string; value: string } | { name: string; exists: true }>;
}

/** Rows a flow's arrivals take their template values from, one row per arrival. */
export interface FlowData {
  /** Absolute path (resolved against the config file's folder). */
  file: string;
  /** As written in the config, for messages. */
  source: string;
  order: 'sequential' | 'random';
}

export interface ThinkStep {
  kind: 'think';
  ms: number;
}

export interface Flow {
  name: string;
  weight: number;
  data?: FlowData;
  steps: Array<FlowStep | ThinkStep>;
}
