// A real HTTP server on 127.0.0.1 speaking the part of GitHub's REST API the baseline stores use, in GitHub's
// wire format, so the tests drive the real Octokit client (getOctokit(token, { baseUrl: stub.url })).
//
// Routes (an `/api/v3` prefix is accepted):
//   GET  /repos/:o/:r                                   default_branch
//   GET  /repos/:o/:r/contents/:path?ref=               base64 content (wrapped at 60 columns like GitHub), blob sha;
//                                                       over 1 MB: encoding "none" and empty content
//   PUT  /repos/:o/:r/contents/:path                    201 create / 200 update; 409 on a stale sha, 422 when the
//                                                       file exists and no sha was sent
//   GET  /repos/:o/:r/git/blobs/:sha
//   GET  /repos/:o/:r/git/ref/heads/:branch             404 when missing
//   POST /repos/:o/:r/git/refs                          422 "Reference already exists"
//   GET  /repos/:o/:r/compare/:base...:head             merge_base_commit.sha from `mergeBases`
//   GET  /repos/:o/:r/actions/runs/:id                  workflow_id
//   GET  /repos/:o/:r/actions/workflows/:id|file/runs   ?branch=&status=success, newest first
//   GET  /repos/:o/:r/actions/runs/:id/artifacts        ?name=
//   GET  /repos/:o/:r/actions/artifacts/:id/zip         302 to /_blobs/... (410 when expired)
//   GET  /_blobs/:name                                  application/zip
//   GET  /repos/:o/:r/issues/:n/events                  per_page/page with a Link header
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, deflateRawSync } from 'node:zlib';
import { Histogram } from '../../src/metrics/histogram.js';
import { blankRunResult, type RunResult, type Stage } from '../../src/model.js';

export interface DataStubRequest {
  method: string;
  url: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  status: number;
}

export interface StubWorkflowRun {
  id: number;
  workflowId: number;
  headBranch: string;
  headSha: string;
  event?: string;
  conclusion?: 'success' | 'failure';
  runAttempt?: number;
  createdAt?: string;
}

export interface StubArtifact {
  id: number;
  runId: number;
  name: string;
  zip: Buffer;
  expired?: boolean;
}

export interface StubIssueEvent {
  event: 'labeled' | 'unlabeled' | 'assigned' | 'closed' | 'reopened';
  actor: string;
  label?: string;
  createdAt?: string;
}

export interface DataStubState {
  defaultBranch: string;
  /** Branch name -> head commit sha. */
  branches: Map<string, string>;
  /** `${branch}\0${path}` -> file. */
  files: Map<string, { content: Buffer; sha: string }>;
  /** `${base}...${head}` -> merge base sha. */
  mergeBases: Map<string, string>;
  workflows: Array<{ id: number; path: string }>;
  runs: StubWorkflowRun[];
  artifacts: StubArtifact[];
  /** Issue number -> events, oldest first. */
  issueEvents: Map<number, StubIssueEvent[]>;
  /**
   * Hold contents GETs until this many are waiting, then answer them together: the way to make two writers read
   * the same version before either writes, so the second PUT is a real 409.
   */
  holdContentReads: number;
  intercept?: (req: DataStubRequest) => { status: number; body?: unknown } | undefined;
}

export interface DataStub {
  url: string;
  state: DataStubState;
  requests: DataStubRequest[];
  /** Writes a file on a branch as if someone had pushed it (creating the branch when needed). */
  putFile(branch: string, path: string, content: string | Buffer): string;
  readFile(branch: string, path: string): string | undefined;
  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';

export async function startDataStub(opts: { defaultBranch?: string; defaultHead?: string } = {}): Promise<DataStub> {
  const defaultBranch = opts.defaultBranch ?? 'main';
  const state: DataStubState = {
    defaultBranch,
    branches: new Map([[defaultBranch, opts.defaultHead ?? sha1('initial commit')]]),
    files: new Map(),
    mergeBases: new Map(),
    workflows: [{ id: 4242, path: '.github/workflows/perf.yml' }],
    runs: [],
    artifacts: [],
    issueEvents: new Map(),
    holdContentReads: 0,
  };
  const requests: DataStubRequest[] = [];
  let baseUrl = '';
  let commitCounter = 0;
  const held: Array<() => void> = [];

  const newCommit = (branch: string): string => {
    const sha = sha1(`commit ${++commitCounter} on ${branch}`);
    state.branches.set(branch, sha);
    return sha;
  };

  const putFile: DataStub['putFile'] = (branch, path, content) => {
    const buf = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
    const sha = blobSha(buf);
    if (!state.branches.has(branch)) state.branches.set(branch, state.branches.get(defaultBranch)!);
    state.files.set(`${branch}\0${path}`, { content: buf, sha });
    newCommit(branch);
    return sha;
  };

  const route = (
    req: DataStubRequest,
    raw: string,
  ): { status: number; body?: unknown; headers?: Record<string, string>; binary?: Buffer } => {
    const path = req.path.replace(/^\/api\/v3(?=\/)/, '');
    let json: Record<string, unknown> = {};
    if (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH') {
      try {
        json = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
        req.body = json;
      } catch {
        return error(400, 'Problems parsing JSON');
      }
    }

    const blob = /^\/_blobs\/artifact-(\d+)\.zip$/.exec(path);
    if (blob && req.method === 'GET') {
      const a = state.artifacts.find((x) => x.id === Number(blob[1]));
      if (!a) return error(404, 'BlobNotFound');
      return { status: 200, binary: a.zip, headers: { 'content-type': 'application/zip' } };
    }

    const repoMatch = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    if (!repoMatch) return error(404, 'Not Found');
    const rest = repoMatch[3] ?? '';

    if (rest === '' && req.method === 'GET')
      return {
        status: 200,
        body: { name: repoMatch[2], full_name: `${repoMatch[1]}/${repoMatch[2]}`, default_branch: state.defaultBranch },
      };

    const contents = /^\/contents\/(.+)$/.exec(rest);
    if (contents) {
      const filePath = decodeURIComponent(contents[1]!);
      if (req.method === 'GET') {
        const ref = req.query['ref'] ?? state.defaultBranch;
        if (!state.branches.has(ref)) return error(404, `No commit found for the ref ${ref}`);
        const f = state.files.get(`${ref}\0${filePath}`);
        if (!f) return error(404, 'Not Found');
        const big = f.content.length > 1024 * 1024;
        return {
          status: 200,
          body: {
            type: 'file',
            encoding: big ? 'none' : 'base64',
            size: f.content.length,
            name: filePath.split('/').pop(),
            path: filePath,
            content: big ? '' : wrap(f.content.toString('base64')),
            sha: f.sha,
            url: `${baseUrl}/repos/${repoMatch[1]}/${repoMatch[2]}/contents/${filePath}?ref=${ref}`,
          },
        };
      }
      if (req.method === 'PUT') {
        const branch = typeof json['branch'] === 'string' ? json['branch'] : state.defaultBranch;
        if (!state.branches.has(branch)) return error(404, `Branch ${branch} not found`);
        if (typeof json['message'] !== 'string' || typeof json['content'] !== 'string') {
          return {
            status: 422,
            body: {
              message: 'Invalid request.\n\n"message", "content" weren\'t supplied.',
              documentation_url: DOCS,
              status: '422',
            },
          };
        }
        const key = `${branch}\0${filePath}`;
        const existing = state.files.get(key);
        const sent = json['sha'];
        if (existing && sent === undefined) {
          return {
            status: 422,
            body: { message: 'Invalid request.\n\n"sha" wasn\'t supplied.', documentation_url: DOCS, status: '422' },
          };
        }
        if (existing && sent !== existing.sha) return error(409, `${filePath} does not match ${String(sent)}`);
        if (!existing && sent !== undefined) return error(409, `${filePath} does not match ${String(sent)}`);
        const content = Buffer.from(json['content'] as string, 'base64');
        const sha = blobSha(content);
        state.files.set(key, { content, sha });
        const commit = newCommit(branch);
        return {
          status: existing ? 200 : 201,
          body: {
            content: { name: filePath.split('/').pop(), path: filePath, sha, size: content.length },
            commit: { sha: commit, message: json['message'] },
          },
        };
      }
    }

    const blobApi = /^\/git\/blobs\/([0-9a-f]{40})$/.exec(rest);
    if (blobApi && req.method === 'GET') {
      for (const f of state.files.values()) {
        if (f.sha === blobApi[1])
          return {
            status: 200,
            body: {
              sha: f.sha,
              size: f.content.length,
              encoding: 'base64',
              content: wrap(f.content.toString('base64')),
            },
          };
      }
      return error(404, 'Not Found');
    }

    const ref = /^\/git\/ref\/heads\/(.+)$/.exec(rest);
    if (ref && req.method === 'GET') {
      const name = decodeURIComponent(ref[1]!);
      const sha = state.branches.get(name);
      if (!sha) return error(404, 'Not Found');
      return { status: 200, body: { ref: `refs/heads/${name}`, object: { sha, type: 'commit' } } };
    }
    if (rest === '/git/refs' && req.method === 'POST') {
      const name = String(json['ref'] ?? '').replace(/^refs\/heads\//, '');
      if (!name || typeof json['sha'] !== 'string')
        return { status: 422, body: { message: 'Invalid request.', documentation_url: DOCS, status: '422' } };
      if (state.branches.has(name))
        return { status: 422, body: { message: 'Reference already exists', documentation_url: DOCS, status: '422' } };
      state.branches.set(name, json['sha']);
      // Like git: the new branch has the files of the commit it points at (the default branch's here).
      for (const [k, f] of [...state.files.entries()]) {
        const [b, p] = k.split('\0');
        if (b === state.defaultBranch) state.files.set(`${name}\0${p}`, f);
      }
      return { status: 201, body: { ref: `refs/heads/${name}`, object: { sha: json['sha'], type: 'commit' } } };
    }

    const compare = /^\/compare\/(.+)\.\.\.([^/]+)$/.exec(rest);
    if (compare && req.method === 'GET') {
      const key = `${decodeURIComponent(compare[1]!)}...${decodeURIComponent(compare[2]!)}`;
      const mb = state.mergeBases.get(key);
      if (!mb) return error(404, 'Not Found');
      return {
        status: 200,
        body: {
          status: 'ahead',
          ahead_by: 1,
          behind_by: 0,
          merge_base_commit: { sha: mb },
          base_commit: { sha: mb },
          commits: [],
          files: [],
        },
      };
    }

    const runOne = /^\/actions\/runs\/(\d+)$/.exec(rest);
    if (runOne && req.method === 'GET') {
      const run = state.runs.find((r) => r.id === Number(runOne[1]));
      if (!run) return error(404, 'Not Found');
      return { status: 200, body: runJson(run) };
    }
    const wfRuns = /^\/actions\/workflows\/([^/]+)\/runs$/.exec(rest);
    if (wfRuns && req.method === 'GET') {
      const idOrFile = decodeURIComponent(wfRuns[1]!);
      const wf = state.workflows.find((w) => String(w.id) === idOrFile || w.path.endsWith(`/${idOrFile}`));
      if (!wf) return error(404, 'Not Found');
      const runs = state.runs
        .filter((r) => r.workflowId === wf.id)
        .filter((r) => !req.query['branch'] || r.headBranch === req.query['branch'])
        .filter((r) => req.query['status'] !== 'success' || (r.conclusion ?? 'success') === 'success')
        .sort((a, b) => b.id - a.id);
      const perPage = Number(req.query['per_page'] ?? 30);
      return { status: 200, body: { total_count: runs.length, workflow_runs: runs.slice(0, perPage).map(runJson) } };
    }
    const runArtifacts = /^\/actions\/runs\/(\d+)\/artifacts$/.exec(rest);
    if (runArtifacts && req.method === 'GET') {
      const list = state.artifacts.filter(
        (a) => a.runId === Number(runArtifacts[1]) && (!req.query['name'] || a.name === req.query['name']),
      );
      return {
        status: 200,
        body: {
          total_count: list.length,
          artifacts: list.map((a) => ({
            id: a.id,
            name: a.name,
            size_in_bytes: a.zip.length,
            expired: !!a.expired,
            archive_download_url: `${baseUrl}${path.replace(/\/runs\/\d+\/artifacts$/, '')}/artifacts/${a.id}/zip`,
            workflow_run: { id: a.runId },
          })),
        },
      };
    }
    const zip = /^\/actions\/artifacts\/(\d+)\/zip$/.exec(rest);
    if (zip && req.method === 'GET') {
      const a = state.artifacts.find((x) => x.id === Number(zip[1]));
      if (!a) return error(404, 'Not Found');
      if (a.expired) return error(410, 'Artifact has expired');
      return { status: 302, headers: { location: `${baseUrl}/_blobs/artifact-${a.id}.zip?sig=stand-in` } };
    }

    const events = /^\/issues\/(\d+)\/events$/.exec(rest);
    if (events && req.method === 'GET') {
      const all = state.issueEvents.get(Number(events[1])) ?? [];
      const perPage = Math.min(100, Number(req.query['per_page'] ?? 30));
      const page = Number(req.query['page'] ?? 1);
      const lastPage = Math.max(1, Math.ceil(all.length / perPage));
      const items = all.slice((page - 1) * perPage, page * perPage).map((e, i) => ({
        id: 9000 + (page - 1) * perPage + i,
        event: e.event,
        actor: { login: e.actor, type: 'User' },
        created_at: e.createdAt ?? '2025-03-14T10:00:00Z',
        ...(e.label ? { label: { name: e.label, color: 'ededed' } } : {}),
      }));
      const link =
        page < lastPage
          ? {
              link: `<${baseUrl}${req.path}?per_page=${perPage}&page=${page + 1}>; rel="next", <${baseUrl}${req.path}?per_page=${perPage}&page=${lastPage}>; rel="last"`,
            }
          : undefined;
      return { status: 200, body: items, ...(link ? { headers: link } : {}) };
    }
    return error(404, 'Not Found');
  };

  const runJson = (r: StubWorkflowRun): Record<string, unknown> => ({
    id: r.id,
    workflow_id: r.workflowId,
    head_branch: r.headBranch,
    head_sha: r.headSha,
    event: r.event ?? 'push',
    status: 'completed',
    conclusion: r.conclusion ?? 'success',
    run_attempt: r.runAttempt ?? 1,
    created_at: r.createdAt ?? '2025-03-14T09:00:00Z',
    html_url: `https://github.com/acme/shop/actions/runs/${r.id}`,
  });

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const url = request.url ?? '/';
      const parsed = new URL(url, 'http://stub.invalid');
      const record: DataStubRequest = {
        method: request.method ?? 'GET',
        url,
        path: parsed.pathname,
        query: Object.fromEntries(parsed.searchParams),
        status: 0,
      };
      const answer = (): void => {
        let out: ReturnType<typeof route>;
        try {
          out =
            (state.intercept?.(record) as ReturnType<typeof route> | undefined) ??
            route(record, Buffer.concat(chunks).toString('utf8'));
        } catch (e) {
          out = error(500, `stub error: ${(e as Error).message}`);
        }
        record.status = out.status;
        requests.push(record);
        if (out.binary) {
          response.writeHead(out.status, { 'content-length': String(out.binary.length), ...out.headers });
          response.end(out.binary);
          return;
        }
        const payload = out.body === undefined ? '' : JSON.stringify(out.body);
        response.writeHead(out.status, {
          ...(payload === '' ? {} : { 'content-type': 'application/json; charset=utf-8' }),
          'x-github-media-type': 'github.v3; format=json',
          ...out.headers,
        });
        response.end(payload);
      };
      const isContentRead = record.method === 'GET' && /\/contents\//.test(record.path);
      if (isContentRead && state.holdContentReads > 0) {
        held.push(answer);
        if (held.length >= state.holdContentReads) {
          state.holdContentReads = 0;
          for (const h of held.splice(0)) h();
        }
        return;
      }
      answer();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: baseUrl,
    state,
    requests,
    putFile,
    readFile: (branch, path) => state.files.get(`${branch}\0${path}`)?.content.toString('utf8'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A minimal ZIP writer (deflated entries, data descriptors like actions/upload-artifact's archiver). */
export function makeZip(
  files: Record<string, string | Buffer>,
  opts: { store?: boolean; dataDescriptor?: boolean } = {},
): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
    const method = opts.store ? 0 : 8;
    const body = method === 8 ? deflateRawSync(data) : data;
    const crc = crc32(data);
    const nameBuf = Buffer.from(name, 'utf8');
    const dd = opts.dataDescriptor ?? true;
    const flags = 0x800 | (dd ? 0x8 : 0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(0, 10);
    // With a data descriptor the local header leaves crc and sizes 0: readers must use the central directory.
    local.writeUInt32LE(dd ? 0 : crc, 14);
    local.writeUInt32LE(dd ? 0 : body.length, 18);
    local.writeUInt32LE(dd ? 0 : data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    local.writeUInt16LE(0, 28);
    const descriptor = Buffer.alloc(dd ? 16 : 0);
    if (dd) {
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(crc, 4);
      descriptor.writeUInt32LE(body.length, 8);
      descriptor.writeUInt32LE(data.length, 12);
    }
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, body, descriptor);
    centrals.push(central, nameBuf);
    offset += local.length + nameBuf.length + body.length + descriptor.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

function error(status: number, message: string): { status: number; body: unknown } {
  return { status, body: { message, documentation_url: DOCS, status: String(status) } };
}

function sha1(s: string): string {
  return createHash('sha1').update(s).digest('hex');
}

/** Git's blob id, as the contents API reports it. */
function blobSha(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

function wrap(b64: string): string {
  return b64.replace(/(.{60})/g, '$1\n');
}

// ---- synthetic runs for baseline and regression tests ------------------------------------------------------

export interface SyntheticRunOptions {
  seed?: number;
  requests?: number;
  medianMs?: number;
  /** Lognormal sigma of the per-request latency. */
  sigma?: number;
  /** Multiplies every latency (a uniform slowdown). */
  scale?: number;
  errors?: number;
  throughputRps?: number;
  phase?: string;
  engine?: RunResult['engine'];
  stages?: Stage[];
  startedAt?: string;
}

/** A RunResult whose latency histogram holds seeded lognormal samples, like a real run of `requests` requests. */
export function syntheticRun(o: SyntheticRunOptions = {}): RunResult {
  let s = (o.seed ?? 1) >>> 0 || 1;
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = o.requests ?? 2000;
  const h = new Histogram();
  for (let i = 0; i < n; i++) {
    const g = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    h.recordMs((o.medianMs ?? 80) * (o.scale ?? 1) * Math.exp((o.sigma ?? 0.45) * g));
  }
  const errors = o.errors ?? 0;
  const startedAt = o.startedAt ?? '2025-03-14T09:00:00.000Z';
  const durationMs = 20_000;
  return blankRunResult({
    engine: o.engine ?? 'builtin',
    phase: o.phase ?? 'warmup',
    startedAt,
    endedAt: new Date(Date.parse(startedAt) + durationMs).toISOString(),
    durationMs,
    requests: n,
    errors,
    errorsByKind: errors ? { http_5xx: errors } : {},
    statusCodes: { '200': n - errors, ...(errors ? { '503': errors } : {}) },
    errorRate: (errors / n) * 100,
    throughputRps: o.throughputRps ?? n / (durationMs / 1000),
    latency: h.stats(),
    histogram: h.toJSON(),
    shape: { stages: o.stages ?? [{ durationMs, startRate: 100, endRate: 100 }] },
  });
}
