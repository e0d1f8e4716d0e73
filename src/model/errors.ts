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
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}
