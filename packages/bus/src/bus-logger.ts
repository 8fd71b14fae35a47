/**
 * The slice of a pino logger the bus uses. A pino `Logger` fits as is.
 */
export interface BusLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Default when no logger is given: warnings and errors to stderr, the rest dropped. */
export const consoleBusLogger: BusLogger = {
  debug() {},
  info() {},
  warn(obj, msg) {
    console.warn(`[bus] ${msg ?? ''}`, obj);
  },
  error(obj, msg) {
    console.error(`[bus] ${msg ?? ''}`, obj);
  },
};
