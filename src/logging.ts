// The processes' log output: pino JSON lines on stdout, written asynchronously and buffered.
// Never synchronously: sonic-boom's flushSync retries a failed write forever (EPIPE included), and a
// synchronous write to a full pipe waits for the reader. Either would let whatever reads stdout (or its
// absence) freeze the API or the DNS answers, and keep SIGTERM from stopping the process. An
// asynchronous write that meets EPIPE makes pino drop further lines instead.
import pino from 'pino';

const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

export interface StdoutLog {
  logger: pino.Logger;
  /** Write out what is buffered; resolves when written or when the write failed. */
  flush(): Promise<void>;
  /** Flush (waiting at most `waitMs`), then exit with `code`, dropping lines that could not be written. */
  exit(code: number, waitMs?: number): Promise<never>;
}

/** `bufferBytes` > 0: lines are written in chunks of that size, and at least once a second. */
export function stdoutLog(options: pino.LoggerOptions, bufferBytes: number): StdoutLog {
  // A reader that stops reading makes lines queue in memory: past MAX_QUEUED_BYTES they are dropped.
  const destination = pino.destination({
    dest: 1,
    sync: false,
    minLength: bufferBytes,
    maxLength: MAX_QUEUED_BYTES,
  });
  const logger = pino(options, destination);
  let flushing: Promise<void> | null = null;
  const flush = (): Promise<void> =>
    (flushing ??= new Promise<void>((resolve) => {
      try {
        destination.flush(() => resolve());
      } catch {
        resolve(); // nothing buffered, or the stream is gone
      }
    }).finally(() => {
      flushing = null;
    }));
  if (bufferBytes > 0) setInterval(() => void flush(), 1000).unref();
  const exit = async (code: number, waitMs = 2000): Promise<never> => {
    if (waitMs > 0) await Promise.race([flush(), new Promise((r) => setTimeout(r, waitMs).unref())]);
    // pino flushes synchronously on exit, which would hang on a write that could not finish: drop the rest.
    (destination as { flushSync: () => void }).flushSync = () => {};
    process.exit(code);
  };
  return { logger, flush, exit };
}
