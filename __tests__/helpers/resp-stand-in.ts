// A RESP stand-in for Redis (the wire protocol, not a Redis): answers INFO as told (normal INFO text, 600 MB as fast
// as the client reads, nil or an integer), OK to anything else, and counts the INFO commands it was sent. For the
// fault tests of the Redis source; real Redis is helpers/redis.ts.
import { createServer, type Server, type Socket } from 'node:net';

export const HUGE = 600 * 1024 * 1024;
const CHUNK = Buffer.alloc(1024 * 1024, 'a');

/** Write `head`, then up to `total` bytes of `fill` as fast as the peer reads them, until it goes away. */
export function flood(
  sock: NodeJS.WritableStream & { destroyed?: boolean; once(e: string, f: () => void): unknown },
  head: string,
  total: number,
  fill: Buffer = CHUNK,
): void {
  sock.write(head);
  let sent = 0;
  const more = (): void => {
    while (sent < total && !sock.destroyed) {
      sent += fill.length;
      if (!sock.write(fill)) {
        sock.once('drain', more);
        return;
      }
    }
  };
  more();
}

export type InfoMode = 'normal' | 'huge' | 'nil' | 'integer';
const INFO_TEXT = [
  '# Clients',
  'connected_clients:3',
  'blocked_clients:0',
  'maxclients:10000',
  '# Memory',
  'used_memory:1000000',
  'maxmemory:0',
  '# Stats',
  'total_commands_processed:100',
  'evicted_keys:0',
  'rejected_connections:0',
  'keyspace_hits:5',
  'keyspace_misses:1',
  '',
].join('\r\n');

export async function respStandIn(
  modes: () => InfoMode,
): Promise<{ port: number; infos: () => number; close: () => Promise<void> }> {
  let infos = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = '';
    sock.on('data', (b: Buffer) => {
      buf += b.toString('latin1');
      // Commands as RESP arrays: *N\r\n then N bulk strings.
      for (;;) {
        const m = /^\*(\d+)\r\n/.exec(buf);
        if (!m) return;
        let at = m[0].length;
        const args: string[] = [];
        for (let i = 0; i < Number(m[1]); i++) {
          const l = /^\$(\d+)\r\n/.exec(buf.slice(at));
          if (!l) return;
          at += l[0].length;
          if (buf.length < at + Number(l[1]) + 2) return;
          args.push(buf.slice(at, at + Number(l[1])));
          at += Number(l[1]) + 2;
        }
        buf = buf.slice(at);
        const cmd = args[0]!.toUpperCase();
        if (cmd === 'INFO') {
          infos++;
          const mode = modes();
          if (mode === 'huge') flood(sock, `$${HUGE}\r\n`, HUGE);
          else if (mode === 'nil') sock.write('$-1\r\n');
          else if (mode === 'integer') sock.write(':42\r\n');
          else sock.write(`$${Buffer.byteLength(INFO_TEXT)}\r\n${INFO_TEXT}\r\n`);
        } else if (cmd === 'QUIT') {
          sock.end('+OK\r\n');
        } else sock.write('+OK\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    infos: () => infos,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
