// A small real auction API for journey tests: node:http on 127.0.0.1, JWT login (HS256 through node:crypto), a
// users table and bids stored in PostgreSQL (the tests' own cluster, helpers/postgres.ts), and switchable faults
// that a team would call failures even when averages look fine:
//   lostWrites      share of bids answered 201 {id} but never stored
//   errorBody       bids answered 200 {"error":"auction closed"}
//   failingPayments share of payments answered 500
//   slowBids        ms added to every bid
//
//   POST /api/auth/login  {email, password} -> 200 {token} + Set-Cookie: session=...; 401 on a wrong password
//   POST /api/bids        Bearer token; {auctionId, amount} -> 201 {id}
//   POST /api/payments    Bearer token; {amount} -> 201 {id}
//   GET  /api/session     200 {email} when the session cookie from login comes back (and a Bearer token sent along
//                         is the same user's), else 401
//   GET  /api/health      200 {"status":"ok"}
//
// Each app gets its own database on the cluster, so several apps (and a postgres source querying `bids`) can share it.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';
import type { PostgresServer } from './postgres.js';

export interface AuctionFaults {
  /** Share (0..1) of bids acknowledged with 201 but not stored. */
  lostWrites: number;
  /** Bids answered 200 {"error":"auction closed"} (nothing stored). */
  errorBody: boolean;
  /** Share (0..1) of payments answered 500. */
  failingPayments: number;
  /** Milliseconds added to every bid before it is answered. */
  slowBids: number;
}

export interface AuctionUser {
  email: string;
  password: string;
}

export interface AuctionCounts {
  logins: number;
  failedLogins: number;
  /** Distinct users who logged in successfully. */
  distinctUsers: number;
  /** Bids answered 201. */
  bidsAcknowledged: number;
  /** Bid requests refused for a missing or bad token. */
  bidsUnauthorized: number;
  payments: number;
  paymentsFailed: number;
  health: number;
  /** Every request by `METHOD /path`. */
  byRoute: Record<string, number>;
}

export interface AuctionApp {
  url: string;
  port: number;
  /** URL of this app's own database (with the cluster's password: keep it out of anything printed). */
  databaseUrl: string;
  /** The least-privilege reader's URL for this database (pg_read_all_stats, SELECT): what `queries:` connect as. */
  readerUrl: string;
  users: AuctionUser[];
  setFaults(faults: Partial<AuctionFaults>): void;
  readonly faults: AuctionFaults;
  counts(): AuctionCounts;
  /** E-mails of the users who logged in successfully, in first-login order. */
  loggedInUsers(): string[];
  /** Bids stored in PostgreSQL right now. */
  storedBids(): Promise<number>;
  /** Clear the counters and the stored bids and payments (users stay). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export const NO_FAULTS: AuctionFaults = { lostWrites: 0, errorBody: false, failingPayments: 0, slowBids: 0 };

/** `user<i>@auction.test` / `pw-<i>-Secret`: the seeded users, also what a users CSV holds. */
export function auctionUsers(n: number): AuctionUser[] {
  return Array.from({ length: n }, (_, i) => ({ email: `user${i + 1}@auction.test`, password: `pw-${i + 1}-Secret` }));
}

/** Write a users data file (`email,password` header row) for a flow's `data:`. */
export function writeUsersCsv(
  path: string,
  users: AuctionUser[],
  extraColumns: Record<string, (i: number) => string> = {},
): void {
  const extra = Object.keys(extraColumns);
  const lines = [['email', 'password', ...extra].join(',')];
  users.forEach((u, i) => {
    lines.push([u.email, u.password, ...extra.map((k) => extraColumns[k]!(i))].join(','));
  });
  writeFileSync(path, `${lines.join('\n')}\n`);
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function hashPassword(salt: string, password: string): string {
  return createHash('sha256').update(`${salt}:${password}`).digest('hex');
}

export async function startAuctionApp(opts: {
  postgres: PostgresServer;
  users?: number;
  faults?: Partial<AuctionFaults>;
}): Promise<AuctionApp> {
  const secret = randomBytes(32);
  const users = auctionUsers(opts.users ?? 200);
  const dbName = `auction_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: opts.postgres.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const databaseUrl = opts.postgres.url.replace(/\/postgres$/, `/${dbName}`);
  const db = new pg.Pool({ connectionString: databaseUrl, max: 8 });
  await db.query(`
    CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL, salt text NOT NULL, password_hash text NOT NULL);
    CREATE TABLE bids (id bigserial PRIMARY KEY, user_id int NOT NULL REFERENCES users(id), auction_id int NOT NULL, amount numeric NOT NULL, created_at timestamptz DEFAULT now());
    CREATE TABLE payments (id bigserial PRIMARY KEY, user_id int NOT NULL REFERENCES users(id), amount numeric NOT NULL);
  `);
  const emails: string[] = [];
  const salts: string[] = [];
  const hashes: string[] = [];
  for (const u of users) {
    const salt = randomBytes(8).toString('hex');
    emails.push(u.email);
    salts.push(salt);
    hashes.push(hashPassword(salt, u.password));
  }
  await db.query(
    'INSERT INTO users (email, salt, password_hash) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])',
    [emails, salts, hashes],
  );
  const readerUrl = await opts.postgres.readerFor(dbName);

  const faults: AuctionFaults = { ...NO_FAULTS, ...opts.faults };
  const loggedIn = new Set<string>();
  let counts = fresh();
  function fresh(): AuctionCounts {
    return {
      logins: 0,
      failedLogins: 0,
      distinctUsers: 0,
      bidsAcknowledged: 0,
      bidsUnauthorized: 0,
      payments: 0,
      paymentsFailed: 0,
      health: 0,
      byRoute: {},
    };
  }

  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  function sign(payload: object): string {
    const body = `${header}.${b64url(JSON.stringify(payload))}`;
    return `${body}.${b64url(createHmac('sha256', secret).update(body).digest())}`;
  }
  function verify(token: string): { sub: number; email: string } | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const expected = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
    const got = Buffer.from(parts[2]!, 'base64url');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) return undefined;
    try {
      const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as {
        sub: number;
        email: string;
        exp: number;
      };
      if (payload.exp < Date.now() / 1000) return undefined;
      return payload;
    } catch {
      return undefined;
    }
  }
  function bearer(req: IncomingMessage): { sub: number; email: string } | undefined {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return m ? verify(m[1]!) : undefined;
  }
  function sessionCookie(req: IncomingMessage): { sub: number; email: string } | undefined {
    const m = /(?:^|;\s*)session=([^;]+)/.exec(req.headers.cookie ?? '');
    return m ? verify(m[1]!) : undefined;
  }

  function send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string | string[]> = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }
  async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 1 << 20) return undefined;
      chunks.push(c as Buffer);
    }
    try {
      const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = `${req.method} ${path}`;
    counts.byRoute[route] = (counts.byRoute[route] ?? 0) + 1;
    if (route === 'GET /api/health') {
      counts.health++;
      for await (const _ of req);
      return send(res, 200, { status: 'ok' });
    }
    if (route === 'POST /api/auth/login') {
      const body = await readJson(req);
      const email = typeof body?.email === 'string' ? body.email : '';
      const password = typeof body?.password === 'string' ? body.password : '';
      const { rows } = await db.query<{ id: number; salt: string; password_hash: string }>(
        'SELECT id, salt, password_hash FROM users WHERE email = $1',
        [email],
      );
      const user = rows[0];
      if (!user || hashPassword(user.salt, password) !== user.password_hash) {
        counts.failedLogins++;
        return send(res, 401, { error: 'invalid credentials' });
      }
      counts.logins++;
      loggedIn.add(email);
      counts.distinctUsers = loggedIn.size;
      const token = sign({ sub: user.id, email, exp: Math.floor(Date.now() / 1000) + 3600 });
      return send(res, 200, { token }, { 'set-cookie': `session=${token}; Path=/; HttpOnly` });
    }
    if (route === 'GET /api/session') {
      for await (const _ of req);
      const who = sessionCookie(req);
      // A bearer token sent along must belong to the same user as the session.
      const other = req.headers.authorization !== undefined ? bearer(req) : who;
      return who && other?.sub === who.sub
        ? send(res, 200, { email: who.email })
        : send(res, 401, { error: 'no session' });
    }
    if (route === 'POST /api/bids') {
      const body = await readJson(req);
      const who = bearer(req);
      if (!who) {
        counts.bidsUnauthorized++;
        return send(res, 401, { error: 'unauthorized' });
      }
      // Strict like a typed API: "7" is not a number here, so a template that should send a number must.
      const auctionId = body?.auctionId;
      const amount = body?.amount;
      if (
        typeof auctionId !== 'number' ||
        !Number.isInteger(auctionId) ||
        typeof amount !== 'number' ||
        !Number.isFinite(amount)
      ) {
        return send(res, 400, { error: 'auctionId and amount must be JSON numbers' });
      }
      if (faults.slowBids > 0) await new Promise((r) => setTimeout(r, faults.slowBids));
      if (faults.errorBody) return send(res, 200, { error: 'auction closed' });
      let id: number;
      if (Math.random() < faults.lostWrites) {
        id = 1_000_000_000 + Math.floor(Math.random() * 1e9);
      } else {
        const { rows } = await db.query<{ id: string }>(
          'INSERT INTO bids (user_id, auction_id, amount) VALUES ($1, $2, $3) RETURNING id',
          [who.sub, auctionId, amount],
        );
        id = Number(rows[0]!.id);
      }
      counts.bidsAcknowledged++;
      return send(res, 201, { id });
    }
    if (route === 'POST /api/payments') {
      const body = await readJson(req);
      const who = bearer(req);
      if (!who) return send(res, 401, { error: 'unauthorized' });
      if (Math.random() < faults.failingPayments) {
        counts.paymentsFailed++;
        return send(res, 500, { error: 'payment provider unavailable' });
      }
      const amount = Number(body?.amount ?? 0);
      const { rows } = await db.query<{ id: string }>(
        'INSERT INTO payments (user_id, amount) VALUES ($1, $2) RETURNING id',
        [who.sub, Number.isFinite(amount) ? amount : 0],
      );
      counts.payments++;
      return send(res, 201, { id: Number(rows[0]!.id) });
    }
    for await (const _ of req);
    send(res, 404, { error: 'not found' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, { error: (e as Error).message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    databaseUrl,
    readerUrl,
    users,
    faults,
    setFaults(f) {
      Object.assign(faults, f);
    },
    counts: () => ({ ...counts, byRoute: { ...counts.byRoute } }),
    loggedInUsers: () => [...loggedIn],
    async storedBids() {
      const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM bids');
      return Number(rows[0]!.n);
    },
    async reset() {
      await db.query('TRUNCATE bids, payments');
      loggedIn.clear();
      counts = fresh();
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.end();
    },
  };
}
