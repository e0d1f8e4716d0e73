// Starts the real server in-process (real SQLite file in a temp folder, real HTTP on an ephemeral port).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { type RunningServer, startServer } from '../../src/server.js';
import type { Store } from '../../src/store/store.js';

export interface TestServer {
  base: string;
  dnsPort: number;
  store: Store;
  dataDir: string;
  /** A token of a (new or existing) account with the given permissions. */
  token(permissions?: string[], account?: string): string;
  request(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{
    status: number;
    body: any;
    headers: Headers;
  }>;
  close(): Promise<void>;
}

export async function startTestServer(extraArgs: string[] = []): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vpsdns-api-'));
  const config = loadConfig(
    // DNS in-process unless a test asks for workers (--workers N in extraArgs wins). Rate limits off unless
    // a test turns them on: the suites send bursts from one token and one address.
    [
      ...['--data', dataDir, '--listen', '127.0.0.1', '--api-port', '0', '--dns-port', '0', '--workers', '0'],
      ...['--api-rate-limit', '0', '--auth-fail-limit', '0'],
      ...extraArgs,
    ],
    {},
  );
  const origWrite = process.stdout.write;
  // The first-start banner is for humans; keep test output clean.
  process.stdout.write = (() => true) as typeof process.stdout.write;
  let server: RunningServer;
  try {
    server = await startServer(config, pino({ level: 'silent' }));
  } finally {
    process.stdout.write = origWrite;
  }
  const base = `http://127.0.0.1:${server.apiPort}`;
  const store = server.store;
  return {
    base,
    dnsPort: server.dnsPort,
    store,
    dataDir,
    token(permissions = ['dns:*'], account = 'alice') {
      const acc = store.auth.getAccount(account) ?? store.auth.createAccount(account);
      return store.auth.createToken(acc.id, permissions).token;
    },
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${base}${path}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? null : JSON.parse(text);
      } catch {}
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
