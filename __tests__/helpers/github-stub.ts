// A real HTTP server on 127.0.0.1 that speaks the part of GitHub's REST API perf-gate uses for its PR comment,
// in GitHub's wire format (status codes, JSON bodies, `Link` pagination). Octokit talks to it unmodified, either
// with `getOctokit(token, { baseUrl: stub.url })` or a child process started with `GITHUB_API_URL=stub.url`, so
// tests exercise the real client, its pagination and its error handling rather than a mocked module.
//
// Routes: GET /user; GET, POST /repos/:owner/:repo/issues/:number/comments;
// GET, PATCH, DELETE /repos/:owner/:repo/issues/comments/:id. A `/api/v3` prefix (GitHub Enterprise) is accepted.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubUser {
  login: string;
  type: 'User' | 'Bot';
  id?: number;
}

export interface StubComment {
  id: number;
  owner: string;
  repo: string;
  issueNumber: number;
  body: string;
  user: StubUser;
  /** The address GitHub would give the comment, as in the API's `html_url`. */
  html_url: string;
  createdAt: string;
  updatedAt: string;
}

export interface StubRequest {
  method: string;
  /** Path and query as received, e.g. `/repos/o/r/issues/1/comments?per_page=100&page=2`. */
  url: string;
  path: string;
  query: Record<string, string>;
  /** The Authorization header as sent (the tests check it carries the token; it is never logged). */
  authorization?: string;
  /** Parsed JSON body of a write. */
  body?: unknown;
  /** Status the stub answered with. */
  status: number;
}

export interface StubResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as it is instead of `body` (an HTML error page, broken JSON); the content type comes from `headers`. */
  raw?: string;
  /** Accept the request and never answer it. */
  hang?: boolean;
}

/**
 * The ways GitHub's API (or a proxy in front of it) fails, as seen on the wire: a 500 with GitHub's JSON, a 502
 * HTML page from the load balancer, a secondary rate limit (429 with retry-after), a 401, a 200 whose JSON is cut
 * off, and a connection that is accepted and never answered.
 */
export const STUB_FAULTS = ['500', '502-html', '429', 'hang', 'malformed', '401'] as const;
export type StubFault = (typeof STUB_FAULTS)[number];

export function faultResponse(fault: StubFault): StubResponse {
  switch (fault) {
    case '500':
      return { status: 500, body: { message: 'Server Error' } };
    case '502-html':
      return {
        status: 502,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        raw:
          '<!DOCTYPE html>\n<html><head><title>Unicorn! &middot; GitHub</title></head><body>' +
          'x'.repeat(5000) +
          '</body></html>',
      };
    case '429':
      return {
        status: 429,
        headers: { 'retry-after': '2' },
        body: {
          message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
          documentation_url: 'https://docs.github.com/rest',
        },
      };
    case 'hang':
      return { status: 0, hang: true };
    case 'malformed':
      return {
        status: 200,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        raw: '{"login": "perf-gate-user", "id": 58',
      };
    case '401':
      return { status: 401, body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' } };
  }
}

export interface GitHubStubOptions {
  /** The account the token belongs to; it authors new comments. Default `perf-gate-user` (a User). */
  user?: StubUser;
  /**
   * Behave like a GitHub App installation token (GITHUB_TOKEN included): `GET /user` answers 403 and new comments
   * are authored by `github-actions[bot]` unless `user` says otherwise.
   */
  appToken?: boolean;
  /** When set, a request without `token <it>` or `Bearer <it>` gets 401 Bad credentials. */
  token?: string;
  /** Comments present from the start; owner, repo and issue default to acme/shop#1. */
  comments?: Array<{ body: string; user?: StubUser; owner?: string; repo?: string; issueNumber?: number }>;
  /** Answer writes (POST, PATCH, DELETE) with 403 "Resource not accessible by integration", as for a fork PR. */
  forbidWrites?: boolean;
  /** Page size when the client sends no `per_page` (GitHub's is 30). */
  defaultPerPage?: number;
}

export interface GitHubStubState {
  comments: StubComment[];
  /** Flip at any time to switch the fork-PR behaviour on or off. */
  forbidWrites: boolean;
  user: StubUser;
  appToken: boolean;
  /**
   * Called before routing; return a response to answer with it instead (e.g. a 500 or a 422), or undefined to
   * carry on. Handy for failures the switches above do not cover.
   */
  intercept?: (request: StubRequest) => StubResponse | undefined;
  /** Answer with this fault: every request, or the first `times` requests after it was set. */
  fault?: { mode: StubFault; times?: number };
}

export interface GitHubStub {
  /** Base URL to give Octokit (`baseUrl`) or the action (`GITHUB_API_URL`), without a trailing slash. */
  url: string;
  state: GitHubStubState;
  requests: StubRequest[];
  /** Adds a comment as if someone had posted it, returning it. */
  addComment(comment: {
    body: string;
    user?: StubUser;
    owner?: string;
    repo?: string;
    issueNumber?: number;
  }): StubComment;
  /** Same as setting `state.forbidWrites`: answer writes with 403 as for a fork PR's read-only token. */
  setWritesForbidden(forbidden: boolean): void;
  /** Comments on one issue, oldest first. */
  commentsOn(owner: string, repo: string, issueNumber: number): StubComment[];
  close(): Promise<void>;
}

const DEFAULT_USER: StubUser = { login: 'perf-gate-user', type: 'User', id: 583231 };
const ACTIONS_BOT: StubUser = { login: 'github-actions[bot]', type: 'Bot', id: 41898282 };
const DOCS = 'https://docs.github.com/rest';
const MAX_BODY = 65_536;

export async function startGitHubStub(opts: GitHubStubOptions = {}): Promise<GitHubStub> {
  const appToken = opts.appToken ?? false;
  const state: GitHubStubState = {
    comments: [],
    forbidWrites: opts.forbidWrites ?? false,
    user: opts.user ?? (appToken ? ACTIONS_BOT : DEFAULT_USER),
    appToken,
  };
  const requests: StubRequest[] = [];
  const defaultPerPage = opts.defaultPerPage ?? 30;
  let nextId = 1_000_001;
  let clock = Date.parse('2025-03-14T09:00:00Z');
  let baseUrl = '';

  const timestamp = (): string => {
    clock += 1000;
    return new Date(clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
  };

  const addComment: GitHubStub['addComment'] = (c) => {
    const now = timestamp();
    const id = nextId++;
    const owner = c.owner ?? 'acme';
    const repo = c.repo ?? 'shop';
    const issueNumber = c.issueNumber ?? 1;
    const comment: StubComment = {
      id,
      owner,
      repo,
      issueNumber,
      body: c.body,
      user: c.user ?? { login: 'someone-else', type: 'User', id: 1 },
      html_url: `https://github.com/${owner}/${repo}/pull/${issueNumber}#issuecomment-${id}`,
      createdAt: now,
      updatedAt: now,
    };
    state.comments.push(comment);
    return comment;
  };
  for (const c of opts.comments ?? []) addComment(c);

  const commentsOn: GitHubStub['commentsOn'] = (owner, repo, issueNumber) =>
    state.comments.filter((c) => same(c.owner, owner) && same(c.repo, repo) && c.issueNumber === issueNumber);

  const toJson = (c: StubComment): Record<string, unknown> => ({
    id: c.id,
    node_id: `IC_kwDO${c.id.toString(36).toUpperCase()}`,
    url: `${baseUrl}/repos/${c.owner}/${c.repo}/issues/comments/${c.id}`,
    html_url: c.html_url,
    issue_url: `${baseUrl}/repos/${c.owner}/${c.repo}/issues/${c.issueNumber}`,
    body: c.body,
    user: { login: c.user.login, id: c.user.id ?? 1, type: c.user.type, site_admin: false },
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    author_association: c.user.type === 'Bot' ? 'NONE' : 'MEMBER',
  });

  const route = (req: StubRequest, rawBody: string): StubResponse => {
    if (
      opts.token !== undefined &&
      req.authorization !== `token ${opts.token}` &&
      req.authorization !== `Bearer ${opts.token}`
    ) {
      return error(401, 'Bad credentials');
    }
    const path = req.path.replace(/^\/api\/v3(?=\/)/, '').replace(/\/+$/, '');
    const isWrite = req.method === 'POST' || req.method === 'PATCH' || req.method === 'DELETE';
    let json: Record<string, unknown> = {};
    if (isWrite && req.method !== 'DELETE') {
      try {
        const parsed: unknown = rawBody === '' ? {} : JSON.parse(rawBody);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          return error(400, 'Problems parsing JSON');
        json = parsed as Record<string, unknown>;
        req.body = parsed;
      } catch {
        return error(400, 'Problems parsing JSON');
      }
    }

    if (path === '/user' && req.method === 'GET') {
      if (state.appToken)
        return error(403, 'Resource not accessible by integration', `${DOCS}/users/users#get-the-authenticated-user`);
      return {
        status: 200,
        body: { login: state.user.login, id: state.user.id ?? 1, type: state.user.type, site_admin: false },
      };
    }

    const list = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(path);
    if (list) {
      const [, owner = '', repo = '', n = '0'] = list;
      const issueNumber = Number(n);
      if (req.method === 'GET') return listPage(req, commentsOn(owner, repo, issueNumber));
      if (req.method === 'POST') {
        if (state.forbidWrites) return forbidden('create-an-issue-comment');
        const invalid = invalidBody(json);
        if (invalid) return invalid;
        const created = addComment({ body: json['body'] as string, user: state.user, owner, repo, issueNumber });
        return {
          status: 201,
          body: toJson(created),
          headers: { location: `${baseUrl}/repos/${owner}/${repo}/issues/comments/${created.id}` },
        };
      }
      return error(404, 'Not Found');
    }

    const one = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(path);
    if (one) {
      const [, owner = '', repo = '', id = '0'] = one;
      const index = state.comments.findIndex((c) => c.id === Number(id) && same(c.owner, owner) && same(c.repo, repo));
      const comment = state.comments[index];
      if (req.method === 'GET') return comment ? { status: 200, body: toJson(comment) } : error(404, 'Not Found');
      if (req.method === 'PATCH') {
        if (state.forbidWrites) return forbidden('update-an-issue-comment');
        if (!comment) return error(404, 'Not Found');
        const invalid = invalidBody(json);
        if (invalid) return invalid;
        comment.body = json['body'] as string;
        comment.updatedAt = timestamp();
        return { status: 200, body: toJson(comment) };
      }
      if (req.method === 'DELETE') {
        if (state.forbidWrites) return forbidden('delete-an-issue-comment');
        if (!comment) return error(404, 'Not Found');
        state.comments.splice(index, 1);
        return { status: 204 };
      }
    }
    return error(404, 'Not Found');
  };

  const listPage = (req: StubRequest, all: StubComment[]): StubResponse => {
    const perPage = clamp(Number(req.query['per_page'] ?? defaultPerPage), 1, 100, defaultPerPage);
    const page = clamp(Number(req.query['page'] ?? 1), 1, Number.MAX_SAFE_INTEGER, 1);
    const lastPage = Math.max(1, Math.ceil(all.length / perPage));
    const items = all.slice((page - 1) * perPage, page * perPage).map(toJson);
    // Like GitHub: absolute URLs that keep the other query parameters, and only the relations that exist.
    const pageUrl = (p: number): string => {
      const u = new URL(req.url, baseUrl);
      u.searchParams.set('per_page', String(perPage));
      u.searchParams.set('page', String(p));
      return `${baseUrl}${req.path}${u.search}`;
    };
    const links: string[] = [];
    if (page > 1) links.push(`<${pageUrl(Math.min(page - 1, lastPage))}>; rel="prev"`);
    if (page < lastPage) links.push(`<${pageUrl(page + 1)}>; rel="next"`, `<${pageUrl(lastPage)}>; rel="last"`);
    if (page > 1) links.push(`<${pageUrl(1)}>; rel="first"`);
    return { status: 200, body: items, headers: links.length > 0 ? { link: links.join(', ') } : {} };
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = request.url ?? '/';
      const parsed = new URL(url, 'http://stub.invalid');
      const auth = request.headers.authorization;
      const record: StubRequest = {
        method: request.method ?? 'GET',
        url,
        path: parsed.pathname,
        query: Object.fromEntries(parsed.searchParams),
        ...(auth === undefined ? {} : { authorization: auth }),
        status: 0,
      };
      let answer: StubResponse;
      try {
        const raw = Buffer.concat(chunks).toString('utf8');
        const fault = state.fault;
        if (fault && (fault.times === undefined || fault.times > 0)) {
          if (fault.times !== undefined) fault.times--;
          answer = faultResponse(fault.mode);
        } else {
          answer = state.intercept?.(record) ?? route(record, raw);
        }
      } catch (e) {
        answer = error(500, `stub error: ${e instanceof Error ? e.message : String(e)}`);
      }
      record.status = answer.status;
      requests.push(record);
      if (answer.hang) return;
      const payload = answer.raw ?? (answer.body === undefined ? '' : JSON.stringify(answer.body));
      response.writeHead(answer.status, {
        ...(payload === '' || answer.raw !== undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
        'x-github-media-type': 'github.v3; format=json',
        'x-github-request-id': `STUB:${requests.length}`,
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '4999',
        ...answer.headers,
      });
      response.end(payload);
    });
    request.on('error', () => response.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    url: baseUrl,
    state,
    requests,
    addComment,
    commentsOn,
    setWritesForbidden: (forbidden) => {
      state.forbidWrites = forbidden;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Octokit's fetch keeps connections alive; without this close() would wait for them to time out.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function error(status: number, message: string, documentationUrl = DOCS): StubResponse {
  return { status, body: { message, documentation_url: documentationUrl, status: String(status) } };
}

function forbidden(doc: string): StubResponse {
  return error(403, 'Resource not accessible by integration', `${DOCS}/issues/comments#${doc}`);
}

function invalidBody(json: Record<string, unknown>): StubResponse | undefined {
  const body = json['body'];
  if (typeof body !== 'string' || body === '') {
    return {
      status: 422,
      body: {
        message: 'Validation Failed',
        errors: [{ resource: 'IssueComment', code: 'missing_field', field: 'body' }],
        documentation_url: DOCS,
        status: '422',
      },
    };
  }
  if (body.length > MAX_BODY) {
    return {
      status: 422,
      body: {
        message: 'Validation Failed',
        errors: [
          {
            resource: 'IssueComment',
            code: 'custom',
            field: 'body',
            message: `body is too long (maximum is ${MAX_BODY} characters)`,
          },
        ],
        documentation_url: DOCS,
        status: '422',
      },
    };
  }
  return undefined;
}

function clamp(value: number, min: number, max: number, fallback: number): number {
  if (!Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, Math.trunc(value)));
}

/** GitHub treats owner and repository names case-insensitively. */
function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
