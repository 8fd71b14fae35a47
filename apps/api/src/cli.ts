/**
 * User administration from the command line:
 *
 *   pnpm --filter @lumen/api cli user add <name> [--admin] [--password-stdin]
 *   pnpm --filter @lumen/api cli user passwd <name> [--password-stdin]
 *   pnpm --filter @lumen/api cli user list
 *   pnpm --filter @lumen/api cli lockout lift [--user <name>] [--address <ip>]
 *
 * The database comes from the config (DATABASE_URL, else DATA_DIR/lumen.db). The password
 * comes from stdin (--password-stdin), else LUMEN_PASSWORD, else a hidden prompt on a terminal.
 * Exit codes: 0 done, 1 refused or failed (the message names the bad value), 2 usage error.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { type Config, ConfigError, loadConfig } from '@lumen/core';
import { LoginLockoutLiftsRepository, openDatabase, UsersRepository } from '@lumen/db';
import { PromptCancelledError, promptHidden, readPasswordFromStdin } from './cli/password-input.ts';
import { LoginLockout } from './services/login-lockout.service.ts';
import { checkUsername, USERNAME_PATTERN, UserError, UsersService } from './services/users.service.ts';

const USAGE = `Usage:
  cli user add <name> [--admin] [--password-stdin]   create a user
  cli user passwd <name> [--password-stdin]          set a user's password (revokes
                                                     the user's earlier tokens)
  cli user list                                      list users
  cli lockout lift [--user <name>] [--address <ip>]  lift a login lockout: a name on
                                                     every address, every name at an
                                                     address, or a name at an address

The password is read from stdin with --password-stdin, else from LUMEN_PASSWORD,
else asked for on the terminal. A lift reaches running api processes through the
database (the same as POST /login-lockouts/lift).`;

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

interface Args {
  command: 'add' | 'passwd' | 'list' | 'lockout-lift';
  username?: string;
  address?: string;
  admin: boolean;
  passwordStdin: boolean;
}

const OPTIONS = {
  admin: { type: 'boolean' },
  'password-stdin': { type: 'boolean' },
  user: { type: 'string' },
  address: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseFlags(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function parse(argv: string[]): Args | 'help' {
  const { values, positionals } = parseFlags(argv);
  if (values.help) return 'help';
  const [group, command, username, ...rest] = positionals;
  if (group === 'lockout') return parseLockout(command, positionals.slice(2), values);
  if (group !== 'user') throw new UsageError(group ? `unknown command "${group}"` : 'no command given');
  if (values.user !== undefined || values.address !== undefined) {
    throw new UsageError('--user and --address only apply to "lockout lift"');
  }
  const flags = { admin: values.admin ?? false, passwordStdin: values['password-stdin'] ?? false };
  if (command === 'list') {
    if (username !== undefined) throw new UsageError(`"user list" takes no argument, got "${username}"`);
    if (flags.admin || flags.passwordStdin) throw new UsageError('"user list" takes no option');
    return { command, ...flags };
  }
  if (command === 'add' || command === 'passwd') {
    if (!username) throw new UsageError(`"user ${command}" needs a user name`);
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (command === 'passwd' && flags.admin) throw new UsageError('--admin only applies to "user add"');
    return { command, username, ...flags };
  }
  throw new UsageError(
    command ? `unknown user command "${command}"` : 'missing user command (add, passwd, list)',
  );
}

function parseLockout(
  command: string | undefined,
  rest: string[],
  values: { admin?: boolean; 'password-stdin'?: boolean; user?: string; address?: string },
): Args {
  if (command !== 'lift') {
    throw new UsageError(command ? `unknown lockout command "${command}"` : 'missing lockout command (lift)');
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  if (values.admin || values['password-stdin'])
    throw new UsageError('"lockout lift" takes --user and --address only');
  const { user, address } = values;
  if (user === undefined && address === undefined) {
    throw new UsageError('"lockout lift" needs --user <name>, --address <ip> or both');
  }
  if (user !== undefined && !USERNAME_PATTERN.test(user)) {
    throw new UsageError(`--user "${user}" is not a valid user name`);
  }
  if (address !== undefined && isIP(address) === 0) {
    throw new UsageError(`--address "${address}" is not an IPv4 or IPv6 address`);
  }
  return { command: 'lockout-lift', username: user, address, admin: false, passwordStdin: false };
}

async function getPassword(args: Args, forWhom: string): Promise<string> {
  if (args.passwordStdin) return readPasswordFromStdin();
  const fromEnv = process.env.LUMEN_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!process.stdin.isTTY) {
    throw new UsageError('no password given: use --password-stdin, set LUMEN_PASSWORD, or run in a terminal');
  }
  const first = await promptHidden(`Password for ${forWhom}: `);
  const second = await promptHidden('Repeat password: ');
  if (first !== second) throw new UserError('invalid-password', 'the two passwords differ');
  return first;
}

async function run(args: Args, config: Config): Promise<void> {
  const database = await openDatabase(config.database);
  try {
    if (args.command === 'lockout-lift') {
      const lockout = new LoginLockout(new LoginLockoutLiftsRepository(database.db), {
        maxFailures: config.env.LOGIN_MAX_FAILURES_PER_MINUTE,
      });
      const { lift } = await lockout.lift({ username: args.username, address: args.address }, 'cli');
      const what = [
        lift.username === null ? 'every user' : `user "${lift.username}"`,
        lift.address === null ? 'on every address' : `at ${lift.address}`,
      ].join(' ');
      process.stdout.write(`lifted the login lockout of ${what}\n`);
      return;
    }
    const users = new UsersService(new UsersRepository(database.db));
    if (args.command === 'list') {
      const all = await users.list();
      if (all.length === 0) {
        process.stdout.write('no users\n');
        return;
      }
      const width = Math.max(8, ...all.map((u) => u.username.length));
      process.stdout.write(`${'ID'.padEnd(6)}${'USERNAME'.padEnd(width + 2)}${'ADMIN'.padEnd(7)}CREATED\n`);
      for (const u of all) {
        process.stdout.write(
          `${String(u.id).padEnd(6)}${u.username.padEnd(width + 2)}${(u.isAdmin ? 'yes' : 'no').padEnd(7)}${u.createdAt}\n`,
        );
      }
      return;
    }
    const username = args.username!;
    const existing = await users.find(username);
    if (args.command === 'add') {
      // Refuse before asking for a password that would be thrown away.
      checkUsername(username);
      if (existing) throw new UserError('duplicate-user', `user "${username}" already exists`);
      const password = await getPassword(args, `new user "${username}"`);
      const user = await users.create({ username, password, isAdmin: args.admin });
      process.stdout.write(
        `created ${user.isAdmin ? 'admin ' : ''}user "${user.username}" (id ${user.id})\n`,
      );
      return;
    }
    if (!existing) throw new UserError('unknown-user', `unknown user "${username}"`);
    const password = await getPassword(args, `"${username}"`);
    await users.changePassword(username, password);
    process.stdout.write(`changed the password of "${username}"; the user's earlier tokens are revoked\n`);
  } finally {
    await database.close();
  }
}

async function main(argv: string[]): Promise<number> {
  let args: Args | 'help';
  try {
    args = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_OK;
  }

  let config: Config;
  try {
    // Relative DATA_DIR / DATABASE_URL are taken from where the command was typed, not apps/api.
    config = loadConfig(process.env, process.env.INIT_CWD ?? process.cwd());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return EXIT_FAILED;
  }

  try {
    await run(args, config);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof UserError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT_FAILED;
    }
    if (err instanceof PromptCancelledError) {
      process.stderr.write('cancelled\n');
      return EXIT_FAILED;
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILED;
  }
}

process.exitCode = await main(process.argv.slice(2));
