// Runs the real `vpsdns` command (bin/vpsdns.js on the built dist/) as child processes.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'vpsdns.js');
const execFileP = promisify(execFile);

/** Run a CLI command to completion; never throws on a non-zero exit. */
export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Flags for a `vpsdns serve` on loopback with ephemeral API and DNS ports, on `dataDir`. */
export function loopbackServe(dataDir: string): string[] {
  return ['--data', dataDir, '--listen', '127.0.0.1', '--api-port', '0', '--dns-port', '0'];
}

export interface ServeProcess {
  child: ChildProcess;
  apiPort: number;
  dnsPort: number;
  /** Everything the process printed on stdout so far. */
  output(): string;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawn `vpsdns serve` with the given flags and wait until its startup log line says it is ready. */
export async function spawnServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const nodeFlags = process.env.VPSDNS_NODE_FLAGS ? process.env.VPSDNS_NODE_FLAGS.split(' ') : [];
  const child = spawn(process.execPath, [...nodeFlags, BIN, 'serve', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const started = await new Promise<{ apiPort: number; dnsPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in time:\n${out}\n${err}`)), 30_000);
    const check = () => {
      for (const line of out.split('\n')) {
        if (!line.includes('"vpsdns started"')) continue;
        const log = JSON.parse(line);
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve({ apiPort: log.apiPort, dnsPort: log.dnsPort ?? 0 });
        return;
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${out}\n${err}`));
    });
  });
  return {
    child,
    ...started,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = await once(child, 'exit');
      return code as number | null;
    },
  };
}
