// Atomic file replacement: a reader sees the old file or the new one, whole, even after a crash.
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

let tmpCounter = 0;

/** Replace `path` with `text` so that a reader sees the old or the new file, whole, even after a crash. */
export async function writeFileAtomic(path: string, text: string, dir: string): Promise<void> {
  const base = path.slice(dir.length + 1);
  const tmp = join(dir, `.${base}.${process.pid}.${threadId}.${++tmpCounter}.tmp`);
  try {
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fsyncDir(dir);
}

export async function readOrNull(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
