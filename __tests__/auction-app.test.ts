// The auction test app itself (helpers/auction-app.ts): login, auth, storage in PostgreSQL and each fault.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuctionApp, type AuctionApp } from './helpers/auction-app.js';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';

let pgServer: PostgresServer;
let app: AuctionApp;

beforeAll(async () => {
  pgServer = await startPostgres();
  app = await startAuctionApp({ postgres: pgServer, users: 5 });
});
afterAll(async () => {
  await app?.stop();
  await pgServer?.stop();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(app.url + path, {
    method,
    headers: { 'content-type': 'application/json', connection: 'close', ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

async function login(i = 0): Promise<string> {
  const r = await call('POST', '/api/auth/login', app.users[i]);
  expect(r.status).toBe(200);
  return r.json.token as string;
}

describe('auction app', () => {
  it('logs in with a JWT, refuses a wrong password, and stores bids in PostgreSQL', async () => {
    await app.reset();
    expect((await call('POST', '/api/auth/login', { email: app.users[0]!.email, password: 'wrong' })).status).toBe(401);
    const token = await login(0);
    expect(token.split('.')).toHaveLength(3);
    expect((await call('POST', '/api/bids', { auctionId: 1, amount: 5 })).status).toBe(401);
    expect(
      (await call('POST', '/api/bids', { auctionId: 1, amount: 5 }, { authorization: `Bearer ${token}x` })).status,
    ).toBe(401);
    expect(
      (await call('POST', '/api/bids', { auctionId: '1', amount: 5 }, { authorization: `Bearer ${token}` })).status,
    ).toBe(400);
    const bid = await call('POST', '/api/bids', { auctionId: 1, amount: 5 }, { authorization: `Bearer ${token}` });
    expect(bid.status).toBe(201);
    expect(typeof bid.json.id).toBe('number');
    expect(await app.storedBids()).toBe(1);
    expect((await call('GET', '/api/health')).json).toEqual({ status: 'ok' });
    expect(app.counts()).toMatchObject({
      logins: 1,
      failedLogins: 1,
      distinctUsers: 1,
      bidsAcknowledged: 1,
      bidsUnauthorized: 2,
    });
  });

  it('keeps a session cookie', async () => {
    const r = await call('POST', '/api/auth/login', app.users[1]);
    const cookie = r.headers.get('set-cookie')!.split(';')[0]!;
    expect((await call('GET', '/api/session', undefined, { cookie })).status).toBe(200);
    expect((await call('GET', '/api/session')).status).toBe(401);
  });

  it('switches each fault on', async () => {
    await app.reset();
    const token = await login(2);
    const auth = { authorization: `Bearer ${token}` };
    app.setFaults({ lostWrites: 1 });
    expect((await call('POST', '/api/bids', { auctionId: 2, amount: 1 }, auth)).status).toBe(201);
    expect(await app.storedBids()).toBe(0);
    app.setFaults({ lostWrites: 0, errorBody: true });
    const closed = await call('POST', '/api/bids', { auctionId: 2, amount: 1 }, auth);
    expect(closed).toMatchObject({ status: 200, json: { error: 'auction closed' } });
    app.setFaults({ errorBody: false, failingPayments: 1 });
    expect((await call('POST', '/api/payments', { amount: 3 }, auth)).status).toBe(500);
    app.setFaults({ failingPayments: 0, slowBids: 150 });
    const t = performance.now();
    expect((await call('POST', '/api/bids', { auctionId: 2, amount: 1 }, auth)).status).toBe(201);
    expect(performance.now() - t).toBeGreaterThanOrEqual(140);
    app.setFaults({ slowBids: 0 });
    expect((await call('POST', '/api/payments', { amount: 3 }, auth)).status).toBe(201);
    expect(await app.storedBids()).toBe(1);
  });
});
