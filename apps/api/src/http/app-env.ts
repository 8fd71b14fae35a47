import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from '@lumen/runtime';

/** The signed-in user, put on the context by the auth middleware: `c.get('user')`. */
export interface AuthUser {
  id: number;
  username: string;
  isAdmin: boolean;
}

/** What every request carries on its hono context. */
export interface AppEnv {
  Variables: {
    /** From `X-Request-Id` when the client sent a sane one, else generated; echoed on the response. */
    requestId: string;
    /** The app logger with `reqId` bound. */
    logger: Logger;
    /** Only on protected routes (everything but the public paths). */
    user: AuthUser;
  };
}

export type App = OpenAPIHono<AppEnv>;
