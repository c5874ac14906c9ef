/** Structured detail of a log line: never tokens, passwords or values. */
export type LogFields = Record<string, string | number | boolean | bigint | undefined>;

/**
 * Where the client reports what it does on its own: reconnects, failovers,
 * retries, token refreshes, lost leases. Every method is optional; a missing
 * one drops that level. `console` works as a logger.
 */
export interface Logger {
  /** Routine detail, such as a call retried on the next endpoint. */
  debug?(message: string, fields?: LogFields): void;
  /** Recoveries and setup: an endpoint ready again, a watch stream resumed, a token being fetched. */
  info?(message: string, fields?: LogFields): void;
  /** Trouble the client works around or reports: an endpoint failing, a stream broken, a lease lost. */
  warn?(message: string, fields?: LogFields): void;
  /** Failures the client cannot work around (none yet: it logs at `warn` and below; `error` lets `console` fit). */
  error?(message: string, fields?: LogFields): void;
}

/** The client's internal log: every level callable, silent by default. @internal */
export interface Log {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const silent = () => {};

/** Wraps a user's logger (or none: silent). A throwing logger never breaks the client. @internal */
export function createLog(logger: Logger | undefined): Log {
  const level = (fn: ((m: string, f?: LogFields) => void) | undefined) =>
    fn === undefined
      ? silent
      : (message: string, fields?: LogFields) => {
          try {
            fn.call(logger, `etcd-connect: ${message}`, fields);
          } catch {
            // the logger's problem, not the caller's
          }
        };
  return { debug: level(logger?.debug), info: level(logger?.info), warn: level(logger?.warn), error: level(logger?.error) };
}
