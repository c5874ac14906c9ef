/** Structured detail of a log line: never tokens, passwords or values. */
export type LogFields = Record<string, string | number | boolean | bigint | undefined>;

/**
 * Where the client reports what it does on its own: reconnects, failovers,
 * retries, token refreshes, lost leases. Every method is optional; a missing
 * one drops that level. `console` works as a logger.
 */
export interface Logger {
  debug?(message: string, fields?: LogFields): void;
  info?(message: string, fields?: LogFields): void;
  warn?(message: string, fields?: LogFields): void;
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
