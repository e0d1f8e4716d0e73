// Errors as data: every rejection the API or CLI reports carries {detail, error_code, field}.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    readonly detail: string,
    readonly field: string | null = null,
  ) {
    super(detail);
    this.name = 'ApiError';
  }

  toBody(): { detail: string; error_code: string; field: string | null } {
    return { detail: this.detail, error_code: this.errorCode, field: this.field };
  }
}

export class ValidationError extends ApiError {
  constructor(detail: string, field: string | null = null) {
    super(400, 'validation_error', detail, field);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends ApiError {
  constructor(detail: string) {
    super(404, 'not_found', detail, null);
    this.name = 'NotFoundError';
  }
}

/** An address or port that cannot be bound; the message says which and what to do. */
export class ListenError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'ListenError';
  }
}

/** One line an operator can act on for a failed bind, e.g. ("DNS over UDP", "::1", 53, "--dns-port"). */
export function listenError(
  err: NodeJS.ErrnoException,
  what: string,
  address: string,
  port: number,
  flag: string,
): ListenError {
  const where = `${address.includes(':') ? `[${address}]` : address}:${port}`;
  const why =
    err.code === 'EADDRINUSE'
      ? 'the port is already in use'
      : err.code === 'EACCES'
        ? 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)'
        : err.code === 'EADDRNOTAVAIL'
          ? 'the address is not on this machine (change --listen)'
          : err.message;
  return new ListenError(`cannot listen for ${what} on ${where}: ${why}; choose another port with ${flag}`, err);
}
