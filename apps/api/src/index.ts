export { type AppDeps, createApp, MissingSecretKeyError } from './app.ts';
export type { App, AppEnv, AuthUser } from './http/app-env.ts';
export { PUBLIC_PATHS } from './http/auth.middleware.ts';
export {
  type FieldError,
  PROBLEM_BASE_URI,
  PROBLEM_CONTENT_TYPE,
  type ProblemBody,
  ProblemError,
  type ProblemKind,
  problemCatalog,
  problemResponse,
  problemType,
} from './http/problem.ts';
export { AuthService, TOKEN_TTL_SECONDS, TokenError } from './services/auth.service.ts';
export { type HealthReport, HealthService } from './services/health.service.ts';
export { LoginLockout } from './services/login-lockout.service.ts';
export { type LoginGate, LoginRateLimiter } from './services/login-rate-limiter.ts';
export {
  checkPassword,
  checkUsername,
  ensureAdminUser,
  hashPassword,
  MIN_PASSWORD_LENGTH,
  type UserAccount,
  UserError,
  UsersService,
  verifyPassword,
} from './services/users.service.ts';
export { type ApiDeps, type ApiHandle, STOP_GRACE_MS, start } from './start.ts';
